//! Temporal credentials from AWS Secrets Manager, so they never sit in plain text in a function's
//! configuration or zip.
//!
//! The SDK's envconfig reads the API key from `TEMPORAL_API_KEY` and mTLS material from
//! `TEMPORAL_TLS_CLIENT_CERT_DATA` / `TEMPORAL_TLS_CLIENT_KEY_DATA`. A Lambda's environment is
//! visible to anyone who may read the function's configuration, so in AWS those variables name a
//! secret instead: `TEMPORAL_API_KEY_SECRET_ARN`, `TEMPORAL_TLS_CLIENT_CERT_SECRET_ARN`,
//! `TEMPORAL_TLS_CLIENT_KEY_SECRET_ARN`. Each named secret is read through the Parameters and
//! Secrets extension ([`crate::extension`]: async, bounded, cached for the environment), and its
//! `SecretString` is handed to envconfig as if it were the plain variable — through envconfig's
//! own environment map, never by mutating the process environment. Everything else about
//! envconfig (profiles, `temporal.toml`, TLS switched on by an API key) stays exactly the SDK's.
//!
//! A plain variable that is set wins over its `_SECRET_ARN` twin, so a local run never needs the
//! extension. Certificate data from a secret cannot be combined with certificate *paths* in the
//! profile (envconfig refuses data and path for the same item); the project's `temporal.toml`
//! therefore names no paths, and the error says what to remove if someone adds them back.

use std::collections::HashMap;

use temporalio_client::{ClientOptions, ConnectionOptions};
use temporalio_common::envconfig::{LoadClientConfigProfileOptions, load_client_config_profile};

use crate::extension::SecretsExtension;

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

/// Namespace used when neither the profile nor `TEMPORAL_NAMESPACE` names one (envconfig's).
const DEFAULT_NAMESPACE: &str = "default";

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "reading secret {secret_id:?} (named by {variable}) through the Parameters and Secrets extension at {endpoint}: {reason}"
)]
pub struct SecretError {
    /// The variable that named the secret.
    pub variable: &'static str,
    /// The secret's ARN or name.
    pub secret_id: String,
    /// Where the extension was asked.
    pub endpoint: String,
    /// What went wrong.
    pub reason: String,
}

/// Connection and client options through envconfig, with every `*_SECRET_ARN` variable of
/// `env` resolved first (see the module docs). `env` is the process environment in production.
pub async fn load_from_config(
    options: LoadClientConfigProfileOptions,
    env: HashMap<String, String>,
) -> Result<(ConnectionOptions, ClientOptions), String> {
    let env = resolve_secrets(env).await.map_err(|e| e.to_string())?;
    let profile = load_client_config_profile(options, Some(&env)).map_err(|e| {
        let message = e.to_string();
        if message.contains("path is already specified") {
            format!(
                "{message}: the certificate and key come from the environment (in AWS, from \
                 Secrets Manager), so remove client_cert_path / client_key_path from the \
                 profile's tls section in temporal.toml"
            )
        } else {
            message
        }
    })?;
    let namespace = profile
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    let connection = ConnectionOptions::try_from(profile).map_err(|e| e.to_string())?;
    Ok((connection, ClientOptions::new(namespace).build()))
}

/// `env` with each secret-naming variable replaced by the secret's value under envconfig's name.
pub async fn resolve_secrets(
    mut env: HashMap<String, String>,
) -> Result<HashMap<String, String>, SecretError> {
    let set = |env: &HashMap<String, String>, name: &str| {
        env.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let extension = SecretsExtension::from_env(|name| env.get(name).cloned());
    for (variable, target) in SECRET_VARIABLES {
        let Some(secret_id) = set(&env, variable) else {
            continue;
        };
        if set(&env, target).is_some() {
            continue;
        }
        let value = extension
            .get(&secret_id)
            .await
            .map_err(|reason| SecretError {
                variable,
                secret_id: secret_id.clone(),
                endpoint: extension.endpoint().to_owned(),
                reason,
            })?;
        env.insert(target.to_owned(), value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::ENV_EXTENSION_PORT;
    use crate::extension::fake::{FakeExtension, TOKEN};

    /// Not real key material: envconfig and the connection options carry the bytes as they are.
    const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----";
    const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----";
    const API_KEY_ARN: &str = "arn:aws:secretsmanager:us-east-1:1:secret:temporal/api-key";
    const CERT_ARN: &str = "arn:aws:secretsmanager:us-east-1:1:secret:temporal/cert";
    const KEY_ARN: &str = "arn:aws:secretsmanager:us-east-1:1:secret:temporal/key";

    fn fake_extension() -> u16 {
        let extension = FakeExtension::start(&[
            (API_KEY_ARN, "key-from-sm\n"),
            (CERT_ARN, CERT_PEM),
            (KEY_ARN, KEY_PEM),
        ]);
        let port = extension.port;
        std::mem::forget(extension);
        port
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

    #[tokio::test]
    async fn an_api_key_from_secrets_manager_reaches_the_connection_with_tls_on() {
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
        .await
        .unwrap();
        assert_eq!(connection.api_key.as_deref(), Some("key-from-sm"));
        // envconfig turns TLS on for an API key; that only happens if the key went in through it.
        assert_eq!(connection.target.scheme(), "https");
        assert!(connection.tls_options.is_some());
    }

    #[tokio::test]
    async fn a_plain_variable_wins_and_nothing_is_fetched() {
        // Port 9 (discard) on loopback: any fetch would fail.
        let resolved = resolve_secrets(env(
            9,
            &[
                ("TEMPORAL_API_KEY_SECRET_ARN", "whatever"),
                ("TEMPORAL_API_KEY", "local"),
            ],
        ))
        .await
        .unwrap();
        assert_eq!(resolved["TEMPORAL_API_KEY"], "local");
        let untouched = resolve_secrets(env(9, &[("TEMPORAL_API_KEY_SECRET_ARN", "  ")]))
            .await
            .unwrap();
        assert!(!untouched.contains_key("TEMPORAL_API_KEY"));
    }

    #[tokio::test]
    async fn failures_name_the_secret_and_never_start_without_credentials() {
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
            let err = load_from_config(options(), vars).await.unwrap_err();
            assert!(err.contains(expected), "{pairs:?}: {err}");
            assert!(err.contains("named by TEMPORAL_"), "{err}");
            assert!(
                !err.contains("key-from-sm"),
                "an error must not carry a secret: {err}"
            );
        }
    }

    /// The `temporal.toml` at the repository's root: the file every zip ships.
    fn repo_config() -> LoadClientConfigProfileOptions {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../temporal.toml");
        LoadClientConfigProfileOptions::builder()
            .config_source(temporalio_common::envconfig::DataSource::Path(
                path.to_owned(),
            ))
            .build()
    }

    /// The repo's `cloud` profile as the functions load it in AWS: its address and namespace, and
    /// the credential from the secret — with an API key (TLS on, no client certificate) and with
    /// mTLS (the certificate and key from their secrets; no file is read, none is in the zip).
    #[tokio::test]
    async fn the_shipped_cloud_profile_works_with_an_api_key_and_with_mtls() {
        let port = fake_extension();
        let cloud = |pairs: &[(&str, &str)]| {
            let mut vars = env(port, &[("TEMPORAL_PROFILE", "cloud")]);
            vars.extend(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            load_from_config(repo_config(), vars)
        };

        let (connection, client) = cloud(&[("TEMPORAL_API_KEY_SECRET_ARN", API_KEY_ARN)])
            .await
            .unwrap();
        assert_eq!(connection.api_key.as_deref(), Some("key-from-sm"));
        assert_eq!(connection.target.scheme(), "https");
        assert_eq!(
            connection.target.host_str(),
            Some("your-namespace.your-account.tmprl.cloud")
        );
        let tls = connection.tls_options.expect("TLS on for an API key");
        assert!(
            tls.client_tls_options.is_none(),
            "no client certificate with an API key"
        );
        assert_eq!(client.namespace, "your-namespace.your-account");

        let (connection, _) = cloud(&[
            ("TEMPORAL_TLS_CLIENT_CERT_SECRET_ARN", CERT_ARN),
            ("TEMPORAL_TLS_CLIENT_KEY_SECRET_ARN", KEY_ARN),
        ])
        .await
        .unwrap();
        assert_eq!(connection.api_key, None);
        assert_eq!(connection.target.scheme(), "https");
        let mtls = connection
            .tls_options
            .and_then(|t| t.client_tls_options)
            .expect("mTLS with the secrets' certificate");
        assert_eq!(mtls.client_cert, CERT_PEM.as_bytes());
        assert_eq!(mtls.client_private_key, KEY_PEM.as_bytes());
    }

    /// Without TEMPORAL_PROFILE the repo's file gives the local dev server, plain TCP.
    #[tokio::test]
    async fn the_shipped_default_profile_is_the_local_dev_server() {
        let (connection, client) = load_from_config(repo_config(), env(9, &[])).await.unwrap();
        assert_eq!(connection.target.as_str(), "http://127.0.0.1:7233/");
        assert!(connection.tls_options.is_none() && connection.api_key.is_none());
        assert_eq!(client.namespace, "default");
    }

    /// A profile that names certificate files cannot also take the certificate from a secret
    /// (envconfig's rule); the error says what to change.
    #[tokio::test]
    async fn certificate_paths_in_the_profile_and_a_certificate_secret_are_refused_clearly() {
        let port = fake_extension();
        let toml = "[profile.cloud]\naddress = \"ns.acct.tmprl.cloud:7233\"\n\
                    [profile.cloud.tls]\nclient_cert_path = \"certs/client.pem\"\n\
                    client_key_path = \"certs/client.key\"\n";
        let options = LoadClientConfigProfileOptions::builder()
            .config_source(temporalio_common::envconfig::DataSource::Data(
                toml.as_bytes().to_vec(),
            ))
            .build();
        let err = load_from_config(
            options,
            env(
                port,
                &[
                    ("TEMPORAL_PROFILE", "cloud"),
                    ("TEMPORAL_TLS_CLIENT_CERT_SECRET_ARN", CERT_ARN),
                    ("TEMPORAL_TLS_CLIENT_KEY_SECRET_ARN", KEY_ARN),
                ],
            ),
        )
        .await
        .unwrap_err();
        assert!(err.contains("TEMPORAL_TLS_CLIENT_CERT_DATA"), "{err}");
        assert!(err.contains("remove client_cert_path"), "{err}");
        assert!(
            !err.contains("Y2VydA"),
            "an error must not carry a secret: {err}"
        );
    }
}
