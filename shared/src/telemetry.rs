//! Logging setup shared by ShopFlow's binaries.
//!
//! Human-readable lines on a terminal, JSON lines when `SHOPFLOW_LOG_FORMAT=json` (what Lambda
//! and log pipelines want). Filtering follows `RUST_LOG`, defaulting to `info` for our crates and
//! `warn` for the SDK's chatty internals.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Install the global subscriber; call once at the top of `main`. Logs go to stderr so that
/// stdout stays free for machine-readable lines (such as a bound address).
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("SHOPFLOW_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = result;
}

/// The default filter for worker binaries.
pub const WORKER_FILTER: &str =
    "info,temporalio_sdk_core=warn,temporalio_sdk=warn,temporalio_client=warn";
