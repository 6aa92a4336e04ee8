//! Temporal client settings the way an AWS Lambda function loads them — and the same way every
//! other ShopFlow binary does, so a profile that works locally works in a zip.
//!
//! - [`config_file`]: where `temporal.toml` is (`TEMPORAL_CONFIG_FILE`, else
//!   `$LAMBDA_TASK_ROOT/temporal.toml`, else `./temporal.toml`).
//! - [`secrets`]: credentials named by `*_SECRET_ARN` variables, read from Secrets Manager
//!   through the AWS Parameters and Secrets Lambda Extension ([`extension`]) and handed to the
//!   SDK's envconfig as if they were the plain variables.
//! - [`load_client_config`]: both, then the SDK's envconfig, unchanged.
//!
//! Why its own crate: the Lambda worker (`temporal-lambda-worker`) and the long-lived binaries
//! (local worker, storefront, tools) need exactly this, and the long-lived ones must not link a
//! Lambda runtime to get it. It depends on the Temporal client and an HTTP client only.

pub mod config_file;
pub mod extension;
pub mod secrets;

use std::path::PathBuf;

use temporalio_client::{ClientOptions, ConnectionOptions};
use temporalio_common::envconfig::{DataSource, LoadClientConfigProfileOptions};

pub use config_file::config_file;

/// Why no client settings could be loaded.
#[derive(Debug, thiserror::Error)]
#[error("loading Temporal client settings{}: {message}", file.as_ref().map(|f| format!(" from {}", f.display())).unwrap_or_default())]
pub struct ConfigError {
    /// The `temporal.toml` that was read, if one was.
    pub file: Option<PathBuf>,
    pub message: String,
}

/// Connection and client options from `temporal.toml` (if found) and the `TEMPORAL_*` variables
/// of the process, through the SDK's envconfig; credentials named by `*_SECRET_ARN` variables are
/// read from Secrets Manager first (see [`secrets`]).
pub async fn load_client_config() -> Result<(ConnectionOptions, ClientOptions), ConfigError> {
    let file = config_file();
    let options = LoadClientConfigProfileOptions::builder()
        .maybe_config_source(
            file.as_ref()
                .map(|p| DataSource::Path(p.to_string_lossy().into_owned())),
        )
        .build();
    // Variables that are not UTF-8 cannot be Temporal settings; skipping them beats panicking.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    secrets::load_from_config(options, env)
        .await
        .map_err(|message| ConfigError { file, message })
}
