//! Temporal client settings the way an AWS Lambda function loads them — usable by any other
//! binary of the same project too, so a profile that works locally works in a zip.
//!
//! - [`config_file`]: where `temporal.toml` is (`TEMPORAL_CONFIG_FILE`, else
//!   `$LAMBDA_TASK_ROOT/temporal.toml`, else `./temporal.toml`).
//! - [`secrets`]: credentials named by `*_SECRET_ARN` variables, read from Secrets Manager
//!   through the AWS Parameters and Secrets Lambda Extension ([`extension`]) and handed to the
//!   SDK's envconfig as if they were the plain variables.
//! - [`load_client_config`]: both, then the SDK's envconfig, unchanged.
//!
//! Why its own crate: a Lambda worker (`temporal-lambda-worker`) and long-lived binaries (a local
//! worker, a web service, tools) need exactly this, and the long-lived ones should not link a
//! Lambda runtime to get it. It depends on the Temporal client and an HTTP client only.

#![deny(missing_docs)]

pub mod config_file;
pub mod extension;
pub mod secrets;

use std::collections::HashMap;
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
    /// What went wrong.
    pub message: String,
}

/// Connection and client options from `temporal.toml` (if found) and the `TEMPORAL_*` variables
/// of the process, through the SDK's envconfig; credentials named by `*_SECRET_ARN` variables are
/// read from Secrets Manager first (see [`secrets`]).
pub async fn load_client_config() -> Result<(ConnectionOptions, ClientOptions), ConfigError> {
    load_client_config_from(process_env()).await
}

/// The variables of this process. Ones that are not UTF-8 cannot be Temporal settings; skipping
/// them beats panicking.
pub fn process_env() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// [`load_client_config`] with the environment passed in instead of read from the process, so
/// a caller (or a test) decides exactly which variables the lookup sees: the `temporal.toml`
/// location ([`config_file::config_file_path`]), the `TEMPORAL_*` settings and the secrets.
pub async fn load_client_config_from(
    env: HashMap<String, String>,
) -> Result<(ConnectionOptions, ClientOptions), ConfigError> {
    let file = config_file::config_file_in(|k| env.get(k).cloned());
    // The SDK treats a missing file as no file; one named explicitly is a mistake worth saying,
    // not a silent fallback to a local server.
    if let Some(path) = file.as_ref().filter(|p| !p.is_file()) {
        return Err(ConfigError {
            message: format!(
                "{} names a file that does not exist",
                config_file::ENV_CONFIG_FILE
            ),
            file: Some(path.clone()),
        });
    }
    let options = LoadClientConfigProfileOptions::builder()
        .maybe_config_source(
            file.as_ref()
                .map(|p| DataSource::Path(p.to_string_lossy().into_owned())),
        )
        .build();
    secrets::load_from_config(options, env)
        .await
        .map_err(|message| ConfigError { file, message })
}
