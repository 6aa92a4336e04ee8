//! The rules Lambda applies to a function's environment variables, and the logging settings that
//! reach the function as variables.
//!
//! - **Reserved keys** (AWS "Using Lambda environment variables", "Defined runtime environment
//!   variables"): Lambda sets them itself and refuses a function configuration that sets one
//!   (`InvalidParameterValueException: Lambda was unable to configure your environment variables
//!   because the environment variables you have provided contains reserved keys`). A template is
//!   refused the same way here; `--env` and hand-built configurations cannot override them either,
//!   because the emulator sets Lambda's values last.
//! - **Size**: all variables together at most 4 KB ("Lambda quotas": "Environment variables: 4
//!   KB, for all environment variables associated with the function, in aggregate").
//! - **`LoggingConfig`** ("Configuring advanced logging controls for Lambda functions"): `LogFormat:
//!   JSON` sets `AWS_LAMBDA_LOG_FORMAT=JSON` and the application log level (default `INFO`) as
//!   `AWS_LAMBDA_LOG_LEVEL`, which runtimes such as `lambda_runtime` read; log levels need the JSON
//!   format.

use std::collections::BTreeMap;

/// Keys Lambda reserves for itself.
pub const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's aggregate limit on a function's variables.
pub const MAX_TOTAL_BYTES: usize = 4 * 1024;

/// Refuses what Lambda refuses: a reserved key, or more than [`MAX_TOTAL_BYTES`] in all.
pub fn validate(variables: &BTreeMap<String, String>) -> Result<(), String> {
    let reserved: Vec<&str> = variables
        .keys()
        .map(String::as_str)
        .filter(|key| RESERVED.contains(key))
        .collect();
    if !reserved.is_empty() {
        return Err(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        ));
    }
    let total: usize = variables
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    if total > MAX_TOTAL_BYTES {
        return Err(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {total} bytes"
        ));
    }
    Ok(())
}

/// How the function's logs are formatted (`LoggingConfig.LogFormat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Json => "JSON",
        }
    }
}

/// A function's `LoggingConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggingConfig {
    pub format: LogFormat,
    /// `ApplicationLogLevel` (TRACE…FATAL); only with the JSON format.
    pub application_level: Option<String>,
    /// `SystemLogLevel` (DEBUG, INFO, WARN); only with the JSON format.
    pub system_level: Option<String>,
}

const APPLICATION_LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const SYSTEM_LEVELS: &[&str] = &["DEBUG", "INFO", "WARN"];

impl LoggingConfig {
    /// Parses the template's values as Lambda's `CreateFunction` validates them.
    pub fn parse(
        format: Option<&str>,
        application_level: Option<&str>,
        system_level: Option<&str>,
    ) -> Result<Self, String> {
        let format = match format {
            None | Some("Text") => LogFormat::Text,
            Some("JSON") => LogFormat::Json,
            Some(other) => return Err(format!("LogFormat {other:?} is not one of Text, JSON")),
        };
        let level =
            |value: Option<&str>, allowed: &[&str], name: &str| -> Result<Option<String>, String> {
                match value {
                    None => Ok(None),
                    Some(_) if format == LogFormat::Text => {
                        Err(format!("{name} requires LogFormat JSON"))
                    }
                    Some(level) if allowed.contains(&level) => Ok(Some(level.to_owned())),
                    Some(level) => Err(format!(
                        "{name} {level:?} is not one of {}",
                        allowed.join(", ")
                    )),
                }
            };
        Ok(Self {
            application_level: level(application_level, APPLICATION_LEVELS, "ApplicationLogLevel")?,
            system_level: level(system_level, SYSTEM_LEVELS, "SystemLogLevel")?,
            format,
        })
    }

    /// The variables Lambda sets from this configuration.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        let mut variables = vec![("AWS_LAMBDA_LOG_FORMAT", self.format.as_str().to_owned())];
        if self.format == LogFormat::Json {
            variables.push((
                "AWS_LAMBDA_LOG_LEVEL",
                self.application_level
                    .clone()
                    .unwrap_or_else(|| "INFO".into()),
            ));
        }
        variables
    }

    /// `LoggingConfig` in GetFunction's shape.
    pub fn to_json(&self, function_name: &str) -> serde_json::Value {
        let mut document = serde_json::json!({ "LogFormat": self.format.as_str(), "LogGroup": format!("/aws/lambda/{function_name}") });
        if self.format == LogFormat::Json {
            document["ApplicationLogLevel"] = self
                .application_level
                .clone()
                .unwrap_or_else(|| "INFO".into())
                .into();
            document["SystemLogLevel"] = self
                .system_level
                .clone()
                .unwrap_or_else(|| "INFO".into())
                .into();
        }
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reserved_keys_are_refused_and_named() {
        let error = validate(&vars(&[
            ("AWS_REGION", "eu-west-1"),
            ("OK", "1"),
            ("AWS_LAMBDA_RUNTIME_API", "x"),
        ]))
        .unwrap_err();
        assert!(
            error.contains("reserved keys") && error.contains("AWS_LAMBDA_RUNTIME_API, AWS_REGION"),
            "{error}"
        );
        assert!(
            validate(&vars(&[
                ("AWS_ENDPOINT_URL_SQS", "http://localhost:4566"),
                ("TEMPORAL_ADDRESS", "x")
            ]))
            .is_ok()
        );
    }

    #[test]
    fn more_than_four_kilobytes_in_all_is_refused() {
        let value = "v".repeat(2040);
        assert!(
            validate(&vars(&[("A", &value), ("B", &value)])).is_ok(),
            "4,082 bytes"
        );
        let error = validate(&vars(&[
            ("A", &value),
            ("B", &value),
            ("C", &"v".repeat(20)),
        ]))
        .unwrap_err();
        assert!(error.contains("4KB"), "{error}");
    }

    #[test]
    fn logging_config_becomes_lambdas_variables() {
        assert_eq!(
            LoggingConfig::default().variables(),
            [("AWS_LAMBDA_LOG_FORMAT", "Text".to_owned())]
        );
        let json = LoggingConfig::parse(Some("JSON"), None, None).unwrap();
        assert_eq!(
            json.variables(),
            [
                ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
                ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned())
            ]
        );
        let debug = LoggingConfig::parse(Some("JSON"), Some("DEBUG"), Some("WARN")).unwrap();
        assert_eq!(
            debug.variables()[1],
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_owned())
        );
        assert_eq!(debug.to_json("f")["SystemLogLevel"], "WARN");
        assert!(
            LoggingConfig::parse(Some("Text"), Some("DEBUG"), None)
                .unwrap_err()
                .contains("requires LogFormat JSON")
        );
        assert!(LoggingConfig::parse(Some("XML"), None, None).is_err());
        assert!(LoggingConfig::parse(Some("JSON"), Some("LOUD"), None).is_err());
    }
}
