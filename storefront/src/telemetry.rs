//! Logging: `tracing` to stderr (stdout is reserved for the one "listening on" line that
//! orchestrators parse), human-readable by default, JSON when `SHOPFLOW_LOG_FORMAT=json`.
//! Verbosity follows `RUST_LOG` (default `info`).

use std::io::IsTerminal;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, from `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SHOPFLOW_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    // Colour codes only help a human at a terminal; in files and CI logs they are noise.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Middleware: one log line per request with method, route, status and duration. The route
/// template (`/shipments/{shipment_id}/cancel`) is logged rather than the raw path so log lines
/// group well and hostile paths stay out of the logs.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |path| path.as_str().to_owned());
    let keyed = request
        .headers()
        .contains_key(crate::idempotency::IDEMPOTENCY_KEY_HEADER);
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .contains_key(crate::idempotency::REPLAYED_HEADER);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %route, status, replayed, keyed, elapsed_ms, "request");
    } else {
        tracing::info!(%method, %route, status, replayed, keyed, elapsed_ms, "request");
    }
    response
}
