//! Per-function variables from a file, in the shape `sam local invoke/start-api --env-vars
//! env.json` reads, so a SAM user's file works unchanged:
//!
//! ```json
//! { "Parameters": { "LOG_LEVEL": "debug" },
//!   "IngestFunction": { "SHOPFLOW_INGEST_SECRET": "local-secret" } }
//! ```
//!
//! A key names a function by logical ID or by name; `Parameters` applies to every function. As in
//! SAM, only variables the template declares for a function are overridden (others are ignored,
//! with a warning: a typo should not silently add a variable that AWS would never have), values
//! may be strings, numbers or booleans, and the result is held to Lambda's rules for variables
//! ([`crate::variables::validate`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::registry::FunctionConfig;

/// The file's contents: variables for all functions, and per function.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EnvVarsFile {
    all: BTreeMap<String, String>,
    functions: BTreeMap<String, BTreeMap<String, String>>,
}

impl EnvVarsFile {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(sections) = document else {
            return Err(
                "expected an object of functions (and Parameters), each an object of variables"
                    .into(),
            );
        };
        let mut file = Self::default();
        for (section, variables) in sections {
            let variables = variables_of(&section, variables)?;
            if section == "Parameters" {
                file.all = variables;
            } else {
                file.functions.insert(section, variables);
            }
        }
        Ok(file)
    }

    /// Overrides the declared variables of `functions`; an error when a function's variables then
    /// break Lambda's rules.
    pub fn apply(&self, functions: &mut [FunctionConfig]) -> Result<(), String> {
        for function in functions.iter_mut() {
            let own = [function.logical_id.as_deref(), Some(function.name.as_str())]
                .into_iter()
                .flatten()
                .filter_map(|key| self.functions.get(key));
            for (key, value) in self.all.iter().chain(own.flatten()) {
                match function.environment.get_mut(key) {
                    Some(slot) => slot.clone_from(value),
                    None => {
                        tracing::warn!(function = %function.name, variable = %key, "not declared in the template for this function; ignored (as sam local does)")
                    }
                }
            }
            crate::variables::validate(&function.environment)
                .map_err(|e| format!("{}: {e}", function.name))?;
        }
        Ok(())
    }
}

fn variables_of(section: &str, value: Value) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(variables) = value else {
        return Err(format!("{section}: expected an object of variables"));
    };
    variables
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                other => {
                    return Err(format!(
                        "{section}.{key}: a variable is a string, number or boolean, not {other}"
                    ));
                }
            };
            Ok((key, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str, logical_id: &str, variables: &[(&str, &str)]) -> FunctionConfig {
        let mut function = FunctionConfig::new(name, "/bin/true");
        function.logical_id = Some(logical_id.into());
        function.environment = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        function
    }

    #[test]
    fn sam_shaped_files_override_declared_variables_by_logical_id_or_name() {
        let file = EnvVarsFile::parse(
            r#"{"Parameters": {"LEVEL": "debug", "UNDECLARED": "x"},
                "IngestFunction": {"SECRET": "s3cret", "RETRIES": 3},
                "shop-worker": {"ON": true}}"#,
        )
        .unwrap();
        let mut functions = [
            function(
                "shop-ingest",
                "IngestFunction",
                &[("LEVEL", "info"), ("SECRET", "")],
            ),
            function(
                "shop-worker",
                "WorkerFunction",
                &[("LEVEL", "info"), ("ON", "false")],
            ),
        ];
        file.apply(&mut functions).unwrap();
        assert_eq!(functions[0].environment["LEVEL"], "debug");
        assert_eq!(functions[0].environment["SECRET"], "s3cret");
        assert!(
            !functions[0].environment.contains_key("RETRIES"),
            "only declared variables are overridden"
        );
        assert!(!functions[0].environment.contains_key("UNDECLARED"));
        assert_eq!(functions[1].environment["ON"], "true");
    }

    #[test]
    fn malformed_files_and_rule_breaking_values_are_refused() {
        for (text, expected) in [
            ("[1]", "expected an object"),
            ("{\"F\": 1}", "F: expected an object"),
            ("{\"F\": {\"A\": [1]}}", "F.A: a variable is a string"),
            ("not json", "not JSON"),
        ] {
            assert!(
                EnvVarsFile::parse(text).unwrap_err().contains(expected),
                "{text}"
            );
        }
        let big = format!("{{\"F\": {{\"A\": \"{}\"}}}}", "v".repeat(5000));
        let mut functions = [function("f", "F", &[("A", "")])];
        assert!(
            EnvVarsFile::parse(&big)
                .unwrap()
                .apply(&mut functions)
                .unwrap_err()
                .contains("4KB")
        );
    }
}
