//! Secrets Manager values through the AWS Parameters and Secrets Lambda Extension: one client for
//! every secret a function reads (the Temporal credentials, and any of the application's own).
//!
//! The extension is a layer that serves `GET http://localhost:2773/secretsmanager/get?secretId=…`
//! inside the execution environment, authenticated with the function's session token
//! (`X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`), and caches values itself (AWS: "Use
//! AWS Secrets Manager secrets in AWS Lambda functions"; port from
//! `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, TTL `SECRETS_MANAGER_TTL`, 300 s by default).
//!
//! This client is async (it never blocks a runtime thread), bounded by [`FETCH_TIMEOUT`] per read
//! (headers and body), refuses answers over 64 KiB (Secrets Manager's own limit), and keeps
//! values it read in a per-process cache for [`CACHE_TTL`] — the extension's default TTL, so a
//! rotated secret reaches a warm environment no later than through the extension. The cache is
//! why a caller may ask on every connect attempt: a retry loop against a Temporal outage does not
//! turn into one HTTP round trip per attempt. Failures are never cached.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The extension's port variable, as AWS documents it.
pub const ENV_EXTENSION_PORT: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
/// The extension's default port, as AWS documents it.
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;

/// The extension answers from its cache in milliseconds; a first read goes to Secrets Manager.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a value read here is reused (the extension's default `SECRETS_MANAGER_TTL`).
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// Largest secret accepted (Secrets Manager's own limit is 64 KiB).
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Values read in this process: `(endpoint, session token, secret id) → (read at, value)`. The
/// token is part of the key: a value is only ever handed to a caller holding the credential it
/// was read with.
type CacheKey = (String, String, String);
static CACHE: LazyLock<Mutex<HashMap<CacheKey, (Instant, String)>>> = LazyLock::new(Mutex::default);

/// One HTTP client per process: building one loads the TLS roots, which a value served from the
/// cache (every connect attempt after the first) must not pay for.
static HTTP: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);

/// The extension of this execution environment.
#[derive(Debug, Clone)]
pub struct SecretsExtension {
    endpoint: String,
    session_token: String,
    ttl: Duration,
}

impl SecretsExtension {
    /// The extension at `endpoint` (`http://localhost:<port>`), authenticated with `session_token`.
    pub fn new(endpoint: impl Into<String>, session_token: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            session_token: session_token.into(),
            ttl: CACHE_TTL,
        }
    }

    /// The extension as a function's environment describes it: the port from
    /// `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` (default 2773), the token from `AWS_SESSION_TOKEN`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let port = set(ENV_EXTENSION_PORT).unwrap_or_else(|| DEFAULT_EXTENSION_PORT.to_string());
        Self::new(
            format!("http://localhost:{port}"),
            set("AWS_SESSION_TOKEN").unwrap_or_default(),
        )
    }

    /// Reuse values for `ttl` instead of [`CACHE_TTL`] (tests; a shorter TTL for fast rotation).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The extension's base URL (for error messages).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A secret's `SecretString` (trimmed), from this process's cache while it is fresh, else
    /// from the extension.
    pub async fn get(&self, secret_id: &str) -> Result<String, String> {
        let key = (
            self.endpoint.clone(),
            self.session_token.clone(),
            secret_id.to_owned(),
        );
        if let Some((read_at, value)) = CACHE.lock().expect("cache lock").get(&key)
            && read_at.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let value = tokio::time::timeout(FETCH_TIMEOUT, self.fetch(secret_id))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {FETCH_TIMEOUT:?}")))?;
        CACHE
            .lock()
            .expect("cache lock")
            .insert(key, (Instant::now(), value.clone()));
        Ok(value)
    }

    /// One read from the extension, uncached.
    async fn fetch(&self, secret_id: &str) -> Result<String, String> {
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "SecretString")]
            secret_string: Option<String>,
        }
        let url = reqwest::Url::parse_with_params(
            &format!("{}/secretsmanager/get", self.endpoint),
            [("secretId", secret_id)],
        )
        .map_err(|e| e.to_string())?;
        let mut response = HTTP
            .get(url)
            .header("X-Aws-Parameters-Secrets-Token", &self.session_token)
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_SECRET_BYTES {
                return Err(format!(
                    "the answer exceeds the limit of {MAX_SECRET_BYTES} bytes"
                ));
            }
        }
        let body = String::from_utf8_lossy(&body);
        if !status.is_success() {
            // The extension's error body names the problem (unknown secret, access denied),
            // never the secret's value.
            return Err(format!("HTTP {status}: {}", body.trim()));
        }
        let answer: Answer =
            serde_json::from_str(&body).map_err(|e| format!("unexpected answer: {e}"))?;
        match answer.secret_string {
            Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
            _ => {
                Err("the secret has no SecretString (binary secrets are not supported)".to_owned())
            }
        }
    }
}

/// An error with its sources (`reqwest` puts the useful part — connection refused — in them).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A stand-in for the extension on a free loopback port, for this crate's tests and its users'.
#[cfg(test)]
pub(crate) mod fake {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};

    pub const TOKEN: &str = "session-token";

    /// What the fake serves (id → value) and how many requests it answered.
    type FakeState = (Arc<HashMap<String, String>>, Arc<AtomicUsize>);

    /// Serves `secrets` (id → SecretString; the ids `binary`, `garbage`, `huge` and `slow` answer
    /// badly on purpose) and counts requests.
    pub struct FakeExtension {
        pub port: u16,
        pub requests: Arc<AtomicUsize>,
    }

    impl FakeExtension {
        pub fn start(secrets: &[(&str, &str)]) -> Self {
            let secrets: Arc<HashMap<String, String>> = Arc::new(
                secrets
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            );
            let requests = Arc::new(AtomicUsize::new(0));
            let counter = requests.clone();
            async fn get(
                State((secrets, counter)): State<FakeState>,
                headers: HeaderMap,
                Query(q): Query<HashMap<String, String>>,
            ) -> (StatusCode, String) {
                counter.fetch_add(1, Ordering::SeqCst);
                if headers
                    .get("x-aws-parameters-secrets-token")
                    .is_none_or(|t| t != TOKEN)
                {
                    return (StatusCode::FORBIDDEN, "missing or wrong token".into());
                }
                let id = q.get("secretId").map(String::as_str).unwrap_or_default();
                match id {
                    "binary" => (
                        StatusCode::OK,
                        r#"{"Name":"binary","SecretBinary":"AAEC"}"#.into(),
                    ),
                    "garbage" => (StatusCode::OK, "<html>not json</html>".into()),
                    "huge" => (StatusCode::OK, "x".repeat(super::MAX_SECRET_BYTES + 1)),
                    "slow" => {
                        tokio::time::sleep(super::FETCH_TIMEOUT * 2).await;
                        (StatusCode::OK, "{}".into())
                    }
                    _ => match secrets.get(id) {
                        Some(value) => (
                            StatusCode::OK,
                            serde_json::json!({ "Name": id, "SecretString": value }).to_string(),
                        ),
                        None => (StatusCode::BAD_REQUEST, "secret not found".into()),
                    },
                }
            }
            // Its own thread and runtime, so sync and async tests alike can use it.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    tx.send(listener.local_addr().unwrap().port()).unwrap();
                    let app = axum::Router::new()
                        .route("/secretsmanager/get", axum::routing::get(get))
                        .with_state((secrets, counter));
                    axum::serve(listener, app).await.unwrap();
                });
            });
            Self {
                port: rx.recv().unwrap(),
                requests,
            }
        }

        pub fn client(&self) -> super::SecretsExtension {
            super::SecretsExtension::new(format!("http://localhost:{}", self.port), TOKEN)
        }

        pub fn requests(&self) -> usize {
            self.requests.load(Ordering::SeqCst)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{FakeExtension, TOKEN};
    use super::*;

    #[tokio::test]
    async fn a_value_is_read_once_and_reused_until_its_ttl_passes() {
        let extension = FakeExtension::start(&[("api-key", "value\n")]);
        let client = extension.client().with_ttl(Duration::from_millis(300));
        assert_eq!(client.get("api-key").await.unwrap(), "value");
        assert_eq!(client.get("api-key").await.unwrap(), "value");
        assert_eq!(
            extension.requests(),
            1,
            "the second read came from the cache"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(client.get("api-key").await.unwrap(), "value");
        assert_eq!(extension.requests(), 2, "a stale value is read again");
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_say_what_went_wrong() {
        let extension = FakeExtension::start(&[]);
        let client = extension.client();
        for (id, expected) in [
            ("missing", "secret not found"),
            ("binary", "no SecretString"),
            ("garbage", "unexpected answer"),
            ("huge", "limit"),
        ] {
            let error = client.get(id).await.unwrap_err();
            assert!(error.contains(expected), "{id}: {error}");
        }
        let before = extension.requests();
        assert!(client.get("missing").await.is_err());
        assert_eq!(extension.requests(), before + 1, "a failure is asked again");
        let stolen = SecretsExtension::new(client.endpoint(), "stolen");
        assert!(stolen.get("anything").await.unwrap_err().contains("403"));
        assert!(TOKEN != "stolen");
    }

    /// A hanging extension costs [`FETCH_TIMEOUT`], not the caller's whole budget.
    #[tokio::test]
    async fn a_read_is_bounded() {
        let extension = FakeExtension::start(&[]);
        let started = std::time::Instant::now();
        let error = extension.client().get("slow").await.unwrap_err();
        assert!(error.contains("no answer within"), "{error}");
        assert!(started.elapsed() < FETCH_TIMEOUT * 2);
    }

    #[tokio::test]
    async fn nothing_listening_is_an_error_naming_the_cause() {
        let error = SecretsExtension::new("http://localhost:9", TOKEN)
            .get("x")
            .await
            .unwrap_err();
        assert!(error.to_lowercase().contains("connect"), "{error}");
    }

    #[test]
    fn the_environment_names_port_and_token() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let default = SecretsExtension::from_env(env(&[]));
        assert_eq!(default.endpoint(), "http://localhost:2773");
        let custom = SecretsExtension::from_env(env(&[
            (ENV_EXTENSION_PORT, "4000"),
            ("AWS_SESSION_TOKEN", "t"),
        ]));
        assert_eq!(custom.endpoint(), "http://localhost:4000");
        assert_eq!(custom.session_token, "t");
    }
}
