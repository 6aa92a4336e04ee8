//! `ingest-fn`'s settings, read once per execution environment (at init) from its environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SHOPFLOW_INGEST_SECRET` | HMAC secret for `POST /orders` signatures | — |
//! | `SHOPFLOW_INGEST_SECRET_ID` | or: a Secrets Manager secret (name or ARN) holding it, read through the AWS Parameters and Secrets Lambda Extension | — |
//! | `SHOPFLOW_INGEST_AUTH` | `insecure-off` turns signature checks off — local development only, warned about at every cold start, refused together with a secret | `on` |
//! | `SHOPFLOW_INGEST_QUEUE_ARN` | the one queue whose SQS events are accepted (see [`crate::event`]); unset: no SQS events | — |
//! | `SHOPFLOW_INGEST_DLQ_URL` | queue that never-valid SQS messages are moved to (see [`crate::sqs`]) | — |
//! | `SHOPFLOW_INGEST_START_TIMEOUT_MS` | longest wait for Temporal per order before answering 503 / failing the record | `5000` |
//! | `SHOPFLOW_INGEST_RETRY_AFTER_SECS` | `Retry-After` of a 503 | `5` |
//! | `TEMPORAL_TASK_QUEUE` | task queue of `OrderWorkflow` | `shopflow-orders` |
//!
//! Temporal's own connection settings come from `temporal.toml` and `TEMPORAL_*` variables (see
//! `shared::connection`).
//!
//! Authentication fails closed: with neither a secret nor `SHOPFLOW_INGEST_AUTH=insecure-off`,
//! init fails, so a deployment that forgot its secret refuses to start instead of accepting
//! unsigned orders. The off switch is spelled so nobody types it by accident (`off` is refused
//! with a hint), it never wins over a configured secret (both → init fails: one of them is a
//! mistake), `template.yaml` never sets it (a test checks), and `main` logs a warning at every
//! cold start while it is on. A secret shorter than [`shared::signing::MIN_SECRET_BYTES`] fails init.
//! In AWS the secret comes from Secrets Manager through the extension (a local HTTP endpoint
//! that caches the value, so init does not call Secrets Manager on every cold start); it is read
//! at init, so a rotated secret reaches new execution environments only — rotate by signing with
//! both secrets for a while (see [`shared::signing`]).

use std::time::Duration;

use shared::signing::Secret;
use temporal_aws_config::extension::SecretsExtension;

/// Largest accepted `POST /orders` body. An order has at most 50 lines of short strings: 64 KiB
/// is several times the largest valid order, and small enough that parsing a hostile body is cheap.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `SHOPFLOW_INGEST_START_TIMEOUT_MS`'s default.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `POST /orders` must be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Required(Secret),
    /// `SHOPFLOW_INGEST_AUTH=insecure-off`: local development only.
    Off,
}

/// The value of `SHOPFLOW_INGEST_AUTH` that turns signature checks off.
pub const AUTH_OFF: &str = "insecure-off";

/// What `main` logs at every cold start while signature checks are off.
pub const AUTH_OFF_WARNING: &str = "SIGNATURE CHECKS ARE OFF (SHOPFLOW_INGEST_AUTH=insecure-off): anyone who can reach POST /orders can start orders. Local development only.";

/// Everything the handlers need to know.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub auth: Auth,
    pub task_queue: String,
    pub start_timeout: Duration,
    pub retry_after_secs: u64,
    pub dead_letter_queue_url: Option<String>,
    /// ARN of the queue whose SQS events this function accepts; `None`: it accepts none.
    pub queue_arn: Option<String>,
}

impl IngestConfig {
    /// Settings for tests and tools: signatures required with `secret`, default timings.
    pub fn with_secret(secret: Secret) -> Self {
        Self {
            auth: Auth::Required(secret),
            task_queue: shared::TASK_QUEUE.to_owned(),
            start_timeout: DEFAULT_START_TIMEOUT,
            retry_after_secs: 5,
            dead_letter_queue_url: None,
            queue_arn: None,
        }
    }

    /// Reads the process environment (and the secret through the extension, if configured).
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::load(|name| std::env::var(name).ok()).await
    }

    /// Reads settings through `var` (tests pass a map).
    pub async fn load(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let auth = match var("SHOPFLOW_INGEST_AUTH").as_deref() {
            Some(AUTH_OFF) => {
                if var("SHOPFLOW_INGEST_SECRET").is_some()
                    || var("SHOPFLOW_INGEST_SECRET_ID").is_some()
                {
                    return Err(ConfigError::Invalid(
                        "SHOPFLOW_INGEST_AUTH",
                        format!("{AUTH_OFF} together with a signing secret: remove one of them"),
                    ));
                }
                Auth::Off
            }
            None | Some("on") => Auth::Required(load_secret(&var).await?),
            Some(other) => {
                return Err(ConfigError::Invalid(
                    "SHOPFLOW_INGEST_AUTH",
                    format!(
                        "{other:?} is neither on nor {AUTH_OFF} (the only spelling that turns signature checks off, for local development)"
                    ),
                ));
            }
        };
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            var(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| ConfigError::Invalid(name, format!("{v:?} is not a number")))
            })
        };
        Ok(Self {
            auth,
            task_queue: var("TEMPORAL_TASK_QUEUE").unwrap_or_else(|| shared::TASK_QUEUE.to_owned()),
            start_timeout: Duration::from_millis(
                number(
                    "SHOPFLOW_INGEST_START_TIMEOUT_MS",
                    DEFAULT_START_TIMEOUT.as_millis() as u64,
                )?
                .max(1),
            ),
            retry_after_secs: number("SHOPFLOW_INGEST_RETRY_AFTER_SECS", 5)?,
            dead_letter_queue_url: var("SHOPFLOW_INGEST_DLQ_URL"),
            queue_arn: var("SHOPFLOW_INGEST_QUEUE_ARN"),
        })
    }
}

async fn load_secret(var: &impl Fn(&str) -> Option<String>) -> Result<Secret, ConfigError> {
    if let Some(value) = var("SHOPFLOW_INGEST_SECRET") {
        return Secret::new(value)
            .map_err(|e| ConfigError::WeakSecret("SHOPFLOW_INGEST_SECRET", e));
    }
    let Some(secret_id) = var("SHOPFLOW_INGEST_SECRET_ID") else {
        return Err(ConfigError::MissingSecret);
    };
    // The same extension client as the Temporal credentials': async, bounded, cached.
    let value = SecretsExtension::from_env(var)
        .get(&secret_id)
        .await
        .map_err(|reason| ConfigError::Secret(secret_id.clone(), reason))?;
    Secret::new(value).map_err(|e| ConfigError::WeakSecret("SHOPFLOW_INGEST_SECRET_ID", e))
}

/// Why `ingest-fn` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no signing secret: set SHOPFLOW_INGEST_SECRET or SHOPFLOW_INGEST_SECRET_ID (or SHOPFLOW_INGEST_AUTH=insecure-off for local development only)"
    )]
    MissingSecret,
    #[error("{0}: {1}")]
    WeakSecret(&'static str, shared::signing::SecretError),
    #[error("reading secret {0:?} through the Parameters and Secrets extension: {1}")]
    Secret(String, String),
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET: &str = "a-secret-of-thirty-two-bytes-or-more";

    async fn load(vars: &[(&str, &str)]) -> Result<IngestConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        IngestConfig::load(|name| vars.get(name).cloned()).await
    }

    #[tokio::test]
    async fn authentication_fails_closed() {
        assert!(matches!(load(&[]).await, Err(ConfigError::MissingSecret)));
        assert!(matches!(
            load(&[("SHOPFLOW_INGEST_SECRET", "   ")]).await,
            Err(ConfigError::MissingSecret)
        ));
        for spelling in ["no", "off", "OFF", "false", "0", "Insecure-Off"] {
            let refused = load(&[("SHOPFLOW_INGEST_AUTH", spelling)]).await;
            assert!(
                matches!(&refused, Err(ConfigError::Invalid("SHOPFLOW_INGEST_AUTH", why)) if why.contains("insecure-off")),
                "{spelling}: {refused:?}"
            );
        }
        let on = load(&[("SHOPFLOW_INGEST_SECRET", SECRET)]).await.unwrap();
        assert_eq!(on.auth, Auth::Required(Secret::new(SECRET).unwrap()));
        let off = load(&[("SHOPFLOW_INGEST_AUTH", "insecure-off")])
            .await
            .unwrap();
        assert_eq!(off.auth, Auth::Off);
    }

    #[tokio::test]
    async fn the_off_switch_never_wins_over_a_secret() {
        for secret in ["SHOPFLOW_INGEST_SECRET", "SHOPFLOW_INGEST_SECRET_ID"] {
            let both = load(&[("SHOPFLOW_INGEST_AUTH", "insecure-off"), (secret, SECRET)]).await;
            assert!(
                matches!(&both, Err(ConfigError::Invalid("SHOPFLOW_INGEST_AUTH", why)) if why.contains("remove one")),
                "{both:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_short_secret_fails_init() {
        let short = load(&[("SHOPFLOW_INGEST_SECRET", "hunter2")]).await;
        assert!(
            matches!(
                &short,
                Err(ConfigError::WeakSecret(
                    "SHOPFLOW_INGEST_SECRET",
                    shared::signing::SecretError::TooShort(7)
                ))
            ),
            "{short:?}"
        );
        assert!(short.unwrap_err().to_string().contains("at least 32"));
    }

    #[tokio::test]
    async fn sqs_events_are_accepted_from_the_configured_queue_only() {
        let none = load(&[("SHOPFLOW_INGEST_SECRET", SECRET)]).await.unwrap();
        assert_eq!(none.queue_arn, None);
        let arn = "arn:aws:sqs:us-east-1:123456789012:shopflow-orders";
        let one = load(&[
            ("SHOPFLOW_INGEST_SECRET", SECRET),
            ("SHOPFLOW_INGEST_QUEUE_ARN", arn),
        ])
        .await
        .unwrap();
        assert_eq!(one.queue_arn.as_deref(), Some(arn));
    }

    #[tokio::test]
    async fn numbers_and_defaults() {
        let config = load(&[
            ("SHOPFLOW_INGEST_SECRET", SECRET),
            ("SHOPFLOW_INGEST_START_TIMEOUT_MS", "250"),
        ])
        .await
        .unwrap();
        assert_eq!(config.start_timeout, Duration::from_millis(250));
        assert_eq!(
            (config.retry_after_secs, config.task_queue.as_str()),
            (5, "shopflow-orders")
        );
        assert!(matches!(
            load(&[
                ("SHOPFLOW_INGEST_SECRET", SECRET),
                ("SHOPFLOW_INGEST_RETRY_AFTER_SECS", "soon")
            ])
            .await,
            Err(ConfigError::Invalid("SHOPFLOW_INGEST_RETRY_AFTER_SECS", _))
        ));
    }

    /// A stand-in for the extension's HTTP endpoint on a free loopback port.
    async fn fake_extension() -> String {
        use axum::extract::Query;
        use axum::http::{HeaderMap, StatusCode};
        async fn get(
            headers: HeaderMap,
            Query(q): Query<HashMap<String, String>>,
        ) -> Result<String, StatusCode> {
            if headers
                .get("x-aws-parameters-secrets-token")
                .is_none_or(|t| t != "session")
            {
                return Err(StatusCode::FORBIDDEN);
            }
            match q.get("secretId").map(String::as_str) {
                Some("shopflow/ingest") => {
                    Ok(r#"{"Name":"shopflow/ingest","SecretString":"from-secrets-manager-0123456789abcdef"}"#.into())
                }
                _ => Err(StatusCode::BAD_REQUEST),
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route("/secretsmanager/get", axum::routing::get(get));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port.to_string()
    }

    #[tokio::test]
    async fn the_secret_can_come_from_secrets_manager_through_the_extension() {
        let port = fake_extension().await;
        let vars = |id: &'static str, token: &'static str| {
            [
                ("SHOPFLOW_INGEST_SECRET_ID", id),
                ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.as_str()),
                ("AWS_SESSION_TOKEN", token),
            ]
            .map(|(k, v)| (k, v.to_owned()))
        };
        let load_owned = |vars: [(&'static str, String); 3]| async move {
            let map: HashMap<&str, String> = vars.into_iter().collect();
            IngestConfig::load(|name| map.get(name).cloned()).await
        };
        let config = load_owned(vars("shopflow/ingest", "session"))
            .await
            .unwrap();
        assert_eq!(
            config.auth,
            Auth::Required(Secret::new("from-secrets-manager-0123456789abcdef").unwrap())
        );
        assert!(matches!(
            load_owned(vars("shopflow/other", "session")).await,
            Err(ConfigError::Secret(..))
        ));
        assert!(matches!(
            load_owned(vars("shopflow/ingest", "wrong")).await,
            Err(ConfigError::Secret(..))
        ));
    }
}
