//! Temporal credentials from AWS Secrets Manager, so they never sit in plain text in a function's
//! configuration or zip.
//!
//! The SDK's envconfig reads the API key from `TEMPORAL_API_KEY` and mTLS material from
//! `TEMPORAL_TLS_CLIENT_CERT_DATA` / `TEMPORAL_TLS_CLIENT_KEY_DATA`. A Lambda's environment is
//! visible to anyone who may read the function's configuration, so in AWS those variables name a
//! secret instead: `TEMPORAL_API_KEY_SECRET_ARN`, `TEMPORAL_TLS_CLIENT_CERT_SECRET_ARN`,
//! `TEMPORAL_TLS_CLIENT_KEY_SECRET_ARN`. At init each named secret is read once through the AWS
//! Parameters and Secrets Lambda Extension (a layer serving
//! `GET http://localhost:2773/secretsmanager/get?secretId=…`, authenticated with the function's
//! session token, cached inside the environment), and its `SecretString` is handed to envconfig
//! as if it were the plain variable — through envconfig's own environment map, never by mutating
//! the process environment. Everything else about envconfig (profiles, `temporal.toml`, TLS
//! switched on by an API key) stays exactly the SDK's.
//!
//! A plain variable that is set wins over its `_SECRET_ARN` twin, so a local run never needs the
//! extension. The call is blocking (it happens once, at init, against loopback) so that
//! [`crate::load_client_config`] stays a plain function callable from sync and async code alike.

use std::collections::HashMap;
use std::time::Duration;

use temporalio_client::{ClientOptions, ConnectionOptions};
use temporalio_common::envconfig::{LoadClientConfigProfileOptions, load_client_config_profile};

/// `(variable naming a secret, envconfig variable that receives its value)`.
pub const SECRET_VARIABLES: [(&str, &str); 3] = [
    ("TEMPORAL_API_KEY_SECRET_ARN", "TEMPORAL_API_KEY"),
    (
        "TEMPORAL_TLS_CLIENT_CERT_SECRET_ARN",
        "TEMPORAL_TLS_CLIENT_CERT_DATA",
    ),
    (
        "TEMPORAL_TLS_CLIENT_KEY_SECRET_ARN",
        "TEMPORAL_TLS_CLIENT_KEY_DATA",
    ),
];

/// The extension's port variable and its default, as AWS documents them.
pub const ENV_EXTENSION_PORT: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;

/// Namespace used when neither the profile nor `TEMPORAL_NAMESPACE` names one (envconfig's).
const DEFAULT_NAMESPACE: &str = "default";

/// The extension answers from its cache in milliseconds; a first read goes to Secrets Manager.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest secret accepted (Secrets Manager's own limit is 64 KiB).
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "reading secret {secret_id:?} (named by {variable}) through the Parameters and Secrets extension at {endpoint}: {reason}"
)]
pub struct SecretError {
    pub variable: &'static str,
    pub secret_id: String,
    pub endpoint: String,
    pub reason: String,
}

/// Connection and client options through envconfig, with every `*_SECRET_ARN` variable of
/// `env` resolved first (see the module docs). `env` is the process environment in production.
pub fn load_from_config(
    options: LoadClientConfigProfileOptions,
    env: HashMap<String, String>,
) -> Result<(ConnectionOptions, ClientOptions), String> {
    let env = resolve_secrets(env).map_err(|e| e.to_string())?;
    let profile = load_client_config_profile(options, Some(&env)).map_err(|e| e.to_string())?;
    let namespace = profile
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    let connection = ConnectionOptions::try_from(profile).map_err(|e| e.to_string())?;
    Ok((connection, ClientOptions::new(namespace).build()))
}

/// `env` with each secret-naming variable replaced by the secret's value under envconfig's name.
pub fn resolve_secrets(
    mut env: HashMap<String, String>,
) -> Result<HashMap<String, String>, SecretError> {
    let set = |env: &HashMap<String, String>, name: &str| {
        env.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    for (variable, target) in SECRET_VARIABLES {
        let Some(secret_id) = set(&env, variable) else {
            continue;
        };
        if set(&env, target).is_some() {
            continue;
        }
        let port =
            set(&env, ENV_EXTENSION_PORT).unwrap_or_else(|| DEFAULT_EXTENSION_PORT.to_string());
        let endpoint = format!("http://localhost:{port}");
        let token = set(&env, "AWS_SESSION_TOKEN").unwrap_or_default();
        let value = fetch_secret(&endpoint, &secret_id, &token).map_err(|reason| SecretError {
            variable,
            secret_id: secret_id.clone(),
            endpoint: endpoint.clone(),
            reason,
        })?;
        env.insert(target.to_owned(), value);
    }
    Ok(env)
}

/// A secret's `SecretString`, read from the extension at `endpoint`.
pub fn fetch_secret(
    endpoint: &str,
    secret_id: &str,
    session_token: &str,
) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(format!("{endpoint}/secretsmanager/get"))
        .query("secretId", secret_id)
        .header("X-Aws-Parameters-Secrets-Token", session_token)
        .call()
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_SECRET_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        // The extension's error body names the problem (unknown secret, access denied), never
        // the secret's value.
        return Err(format!("HTTP {status}: {}", body.trim()));
    }
    let answer: Answer =
        serde_json::from_str(&body).map_err(|e| format!("unexpected answer: {e}"))?;
    match answer.secret_string {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err("the secret has no SecretString (binary secrets are not supported)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::extract::Query;
    use axum::http::{HeaderMap, StatusCode};

    const TOKEN: &str = "session-token";

    /// A stand-in for the extension on a free loopback port: two secrets, token checked.
    fn fake_extension() -> u16 {
        async fn get(
            headers: HeaderMap,
            Query(q): Query<HashMap<String, String>>,
        ) -> (StatusCode, String) {
            if headers
                .get("x-aws-parameters-secrets-token")
                .is_none_or(|t| t != TOKEN)
            {
                return (StatusCode::FORBIDDEN, "missing or wrong token".into());
            }
            match q.get("secretId").map(String::as_str) {
                Some("arn:aws:secretsmanager:us-east-1:1:secret:temporal/api-key") => (
                    StatusCode::OK,
                    r#"{"Name":"temporal/api-key","SecretString":"key-from-sm\n"}"#.into(),
                ),
                Some("binary") => (
                    StatusCode::OK,
                    r#"{"Name":"binary","SecretBinary":"AAEC"}"#.into(),
                ),
                Some("garbage") => (StatusCode::OK, "<html>not json</html>".into()),
                Some("huge") => (StatusCode::OK, "x".repeat(MAX_SECRET_BYTES as usize + 1)),
                _ => (StatusCode::BAD_REQUEST, "secret not found".into()),
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap().port()).unwrap();
                let app = axum::Router::new().route("/secretsmanager/get", axum::routing::get(get));
                axum::serve(listener, app).await.unwrap();
            });
        });
        rx.recv().unwrap()
    }

    fn env(port: u16, pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert(ENV_EXTENSION_PORT.into(), port.to_string());
        env.entry("AWS_SESSION_TOKEN".into())
            .or_insert_with(|| TOKEN.into());
        env
    }

    fn options() -> LoadClientConfigProfileOptions {
        // No file: only the environment map counts, whatever is on this machine.
        LoadClientConfigProfileOptions::builder()
            .disable_file(true)
            .build()
    }

    #[test]
    fn an_api_key_from_secrets_manager_reaches_the_connection_with_tls_on() {
        let port = fake_extension();
        let (connection, _) = load_from_config(
            options(),
            env(
                port,
                &[
                    ("TEMPORAL_ADDRESS", "ns.acct.tmprl.cloud:7233"),
                    ("TEMPORAL_NAMESPACE", "ns.acct"),
                    (
                        "TEMPORAL_API_KEY_SECRET_ARN",
                        "arn:aws:secretsmanager:us-east-1:1:secret:temporal/api-key",
                    ),
                ],
            ),
        )
        .unwrap();
        assert_eq!(connection.api_key.as_deref(), Some("key-from-sm"));
        // envconfig turns TLS on for an API key; that only happens if the key went in through it.
        assert_eq!(connection.target.scheme(), "https");
        assert!(connection.tls_options.is_some());
    }

    #[test]
    fn a_plain_variable_wins_and_nothing_is_fetched() {
        // Port 9 (discard) on loopback: any fetch would fail.
        let resolved = resolve_secrets(env(
            9,
            &[
                ("TEMPORAL_API_KEY_SECRET_ARN", "whatever"),
                ("TEMPORAL_API_KEY", "local"),
            ],
        ))
        .unwrap();
        assert_eq!(resolved["TEMPORAL_API_KEY"], "local");
        let untouched = resolve_secrets(env(9, &[("TEMPORAL_API_KEY_SECRET_ARN", "  ")])).unwrap();
        assert!(!untouched.contains_key("TEMPORAL_API_KEY"));
    }

    #[test]
    fn failures_name_the_secret_and_never_start_without_credentials() {
        let port = fake_extension();
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:temporal/api-key";
        let cases: [(&[(&str, &str)], &str); 6] = [
            (
                &[("TEMPORAL_API_KEY_SECRET_ARN", "arn:missing")],
                "secret not found",
            ),
            (
                &[
                    ("TEMPORAL_API_KEY_SECRET_ARN", arn),
                    ("AWS_SESSION_TOKEN", "stolen"),
                ],
                "403",
            ),
            (
                &[("TEMPORAL_TLS_CLIENT_KEY_SECRET_ARN", "binary")],
                "no SecretString",
            ),
            (
                &[("TEMPORAL_API_KEY_SECRET_ARN", "garbage")],
                "unexpected answer",
            ),
            (&[("TEMPORAL_API_KEY_SECRET_ARN", "huge")], "limit"),
            (
                &[
                    ("TEMPORAL_API_KEY_SECRET_ARN", arn),
                    (ENV_EXTENSION_PORT, "9"),
                ],
                "localhost:9",
            ),
        ];
        for (pairs, expected) in cases {
            let mut vars = env(port, &[]);
            vars.extend(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            let err = load_from_config(options(), vars).unwrap_err();
            assert!(err.contains(expected), "{pairs:?}: {err}");
            assert!(err.contains("named by TEMPORAL_"), "{err}");
            assert!(
                !err.contains("key-from-sm"),
                "an error must not carry a secret: {err}"
            );
        }
    }
}
