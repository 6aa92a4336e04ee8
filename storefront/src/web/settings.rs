//! Where the web endpoints find their dependencies: the ingest API, Temporal, the Temporal UI
//! and the Lambda emulator. All optional, so the shop's services run without any of them.

use reqwest::Url;

/// The ingest API orders are forwarded to.
#[derive(Clone)]
pub struct IngestTarget {
    /// The full `POST` URL, e.g. `http://127.0.0.1:3000/orders`.
    pub url: Url,
    /// The HMAC secret ingest-fn checks; `None` sends unsigned requests (an ingest running
    /// without auth, e.g. a local demo).
    pub secret: Option<shared::signing::Secret>,
}

impl std::fmt::Debug for IngestTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Secret`'s own Debug hides the value; say only whether there is one.
        f.debug_struct("IngestTarget")
            .field("url", &self.url.as_str())
            .field("signed", &self.secret.is_some())
            .finish()
    }
}

/// How to reach Temporal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemporalTarget {
    /// The `temporal.toml` profile in effect, with the SDK's env overrides (`TEMPORAL_ADDRESS`,
    /// `TEMPORAL_NAMESPACE`, TLS, API key): what every ShopFlow binary uses.
    Profile,
    /// A plain (no TLS) server at `host:port`: tests and tools with a dev server of their own.
    Address { address: String, namespace: String },
}

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub ingest: Option<IngestTarget>,
    pub temporal: TemporalTarget,
    /// Temporal UI base, e.g. `http://127.0.0.1:8233`: orders link to their workflow there.
    pub temporal_ui_url: Option<Url>,
    /// The Lambda emulator's API base, e.g. `http://127.0.0.1:9001` (serves `/_emulator/metrics`).
    pub emulator_url: Option<Url>,
    /// Only orders on this task queue appear on the dashboard (`None`: every `OrderWorkflow` of
    /// the namespace).
    pub task_queue: Option<String>,
    /// The namespace the Temporal UI links point into.
    pub namespace: String,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            ingest: None,
            temporal: TemporalTarget::Profile,
            temporal_ui_url: None,
            emulator_url: None,
            task_queue: None,
            namespace: "default".to_owned(),
        }
    }
}

/// Parses a base URL given on the command line; only http(s) makes sense here.
pub fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{raw:?} must be an http(s) URL with a host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_are_accepted() {
        assert!(parse_http_url("http://127.0.0.1:3000/orders").is_ok());
        assert!(parse_http_url(" https://shop.example ").is_ok());
        for bad in [
            "",
            "127.0.0.1:3000",
            "ftp://x/y",
            "file:///etc/passwd",
            "http://",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let target = IngestTarget {
            url: parse_http_url("http://127.0.0.1:1/orders").unwrap(),
            secret: shared::signing::Secret::new("hunter2-hunter2-hunter2-hunter2-hunter2").ok(),
        };
        let shown = format!("{target:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("signed: true"),
            "{shown}"
        );
    }
}
