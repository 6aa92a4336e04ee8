//! HTTP client for the shop's services (the `storefront` binary).
//!
//! It knows the wire contract and one rule that the whole saga depends on: which failures are
//! permanent. A 4xx answer (except 408 and 429) is the shop saying "no" — out of stock, card
//! declined, undeliverable — and asking again will not change it. Everything else (5xx, 408, 429,
//! timeouts, refused connections, garbage bodies) is transient and worth a retry.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use url::Url;

/// Default base URL of the shop's services when `SHOPFLOW_SHOP_URL` is not set.
pub const DEFAULT_SHOP_URL: &str = "http://127.0.0.1:8080";

/// One request may take this long; a slow answer is retried by the activity's retry policy
/// (with the same idempotency key) well within its 2-minute StartToClose.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the shop failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopError {
    /// The shop refused for a business reason; retrying cannot help.
    #[error("{code}: {detail}")]
    Business {
        status: u16,
        code: String,
        detail: String,
    },
    /// Anything that might work on another try.
    #[error("transient: {0}")]
    Transient(String),
}

/// The shop's `application/problem+json` error body (RFC 9457), as far as we read it.
#[derive(Debug, Deserialize)]
struct Problem {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Clone)]
pub struct ShopClient {
    http: reqwest::Client,
    base: Url,
    /// Sent as `Authorization: Bearer …` when the shop requires it (`SHOPFLOW_SHOP_TOKEN`).
    token: Option<String>,
}

/// The variable naming the shop's shared token (the storefront reads the same one).
pub const ENV_SHOP_TOKEN: &str = "SHOPFLOW_SHOP_TOKEN";

impl std::fmt::Debug for ShopClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| ".."))
            .finish()
    }
}

impl ShopClient {
    pub fn new(base_url: &str) -> Result<Self, String> {
        let mut base =
            Url::parse(base_url).map_err(|e| format!("bad shop URL {base_url:?}: {e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Self {
            http,
            base,
            token: None,
        })
    }

    /// Sends `token` as a bearer token on every call (blank: none).
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        self
    }

    /// From `SHOPFLOW_SHOP_URL` (else [`DEFAULT_SHOP_URL`]) and [`ENV_SHOP_TOKEN`].
    pub fn from_env() -> Result<Self, String> {
        let url =
            std::env::var("SHOPFLOW_SHOP_URL").unwrap_or_else(|_| DEFAULT_SHOP_URL.to_owned());
        Ok(Self::new(&url)?.with_token(std::env::var(ENV_SHOP_TOKEN).ok()))
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// POST `body` to `path` with an `Idempotency-Key`, decoding a 2xx answer as `R`.
    pub async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        body: &B,
    ) -> Result<R, ShopError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ShopError::Transient(format!("bad path {path}: {e}")))?;
        let mut request = self
            .http
            .post(url)
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ShopError::Transient(format!("POST {path}: {}", error_chain(&e))))?;
        decode(path, response).await
    }
}

async fn decode<R: DeserializeOwned>(
    path: &str,
    response: reqwest::Response,
) -> Result<R, ShopError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ShopError::Transient(format!("POST {path}: reading body: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| {
            ShopError::Transient(format!("POST {path}: unexpected {status} body: {e}"))
        });
    }
    let problem: Option<Problem> = serde_json::from_slice(&bytes).ok();
    let detail = problem
        .as_ref()
        .and_then(|p| p.detail.clone().or_else(|| p.title.clone()))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
    if is_permanent(status) {
        let code = problem
            .and_then(|p| p.kind)
            .and_then(|t| t.rsplit('/').next().map(str::to_owned))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| format!("http-{}", status.as_u16()));
        Err(ShopError::Business {
            status: status.as_u16(),
            code,
            detail,
        })
    } else {
        Err(ShopError::Transient(format!(
            "POST {path}: {status}: {detail}"
        )))
    }
}

fn is_permanent(status: StatusCode) -> bool {
    status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanence_of_statuses() {
        assert!(is_permanent(StatusCode::PAYMENT_REQUIRED));
        assert!(is_permanent(StatusCode::CONFLICT));
        assert!(is_permanent(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!is_permanent(StatusCode::REQUEST_TIMEOUT));
        assert!(!is_permanent(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_permanent(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_permanent(StatusCode::INTERNAL_SERVER_ERROR));
    }

    #[tokio::test]
    async fn refused_connection_is_transient() {
        // Port 1 on loopback: nothing listens there.
        let client = ShopClient::new("http://127.0.0.1:1").unwrap();
        let err = client
            .post::<_, serde_json::Value>("payments/charges", "k", &())
            .await
            .unwrap_err();
        assert!(matches!(err, ShopError::Transient(_)), "{err:?}");
    }

    #[test]
    fn base_url_gets_a_trailing_slash_so_join_keeps_prefixes() {
        let c = ShopClient::new("http://127.0.0.1:9/shop").unwrap();
        assert_eq!(
            c.base_url().join("ledger").unwrap().as_str(),
            "http://127.0.0.1:9/shop/ledger"
        );
    }
}
