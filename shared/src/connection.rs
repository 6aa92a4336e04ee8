//! Connecting to Temporal from `temporal.toml`, through the SDK's own envconfig.
//!
//! The SDK looks for its file at `TEMPORAL_CONFIG_FILE`, else in the user's config dir. Our
//! binaries ship next to a project `temporal.toml` (the repo root locally, `$LAMBDA_TASK_ROOT` in
//! a Lambda zip), so the lookup (`temporal-aws-config`, shared with `temporal-lambda-worker`)
//! adds those before the SDK default. Profile selection
//! (`TEMPORAL_PROFILE`) and env overrides (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`) are the SDK's, unchanged.

use temporalio_client::{Client, ClientOptions, Connection};

pub use temporal_aws_config::config_file;

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Config(String),
    #[error("connecting to Temporal: {0}")]
    Connect(String),
}

/// Connection and client options for the profile in effect, from the `temporal.toml` found the
/// way a Lambda worker finds it (`TEMPORAL_CONFIG_FILE`, `$LAMBDA_TASK_ROOT/temporal.toml`,
/// `./temporal.toml`) — one rule for every ShopFlow binary, wherever it runs.
pub async fn load_options()
-> Result<(temporalio_client::ConnectionOptions, ClientOptions), ConnectError> {
    temporal_aws_config::load_client_config()
        .await
        .map_err(|e| ConnectError::Config(e.to_string()))
}

/// Connect to Temporal with the profile in effect.
pub async fn connect() -> Result<Client, ConnectError> {
    let (connection_options, client_options) = load_options().await?;
    let connection = Connection::connect(connection_options)
        .await
        .map_err(|e| ConnectError::Connect(e.to_string()))?;
    Client::new(connection, client_options).map_err(|e| ConnectError::Connect(e.to_string()))
}

/// Connect to a plain (no TLS) server at `host:port` — the local dev server of tests and tools.
pub async fn connect_to(address: &str, namespace: &str) -> Result<Client, ConnectError> {
    let url = temporalio_client::Url::parse(&format!("http://{address}"))
        .map_err(|e| ConnectError::Connect(format!("bad address {address:?}: {e}")))?;
    let connection = Connection::connect(temporalio_client::ConnectionOptions::new(url).build())
        .await
        .map_err(|e| ConnectError::Connect(e.to_string()))?;
    Client::new(connection, ClientOptions::new(namespace).build())
        .map_err(|e| ConnectError::Connect(e.to_string()))
}
