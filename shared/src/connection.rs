//! Connecting to Temporal from `temporal.toml`, through the SDK's own envconfig.
//!
//! The SDK looks for its file at `TEMPORAL_CONFIG_FILE`, else in the user's config dir. Our
//! binaries ship next to a project `temporal.toml` (the repo root locally, `$LAMBDA_TASK_ROOT` in
//! a Lambda zip), so the lookup here adds those before the SDK default. Profile selection
//! (`TEMPORAL_PROFILE`) and env overrides (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`) are the SDK's, unchanged.

use std::path::{Path, PathBuf};

use temporalio_client::{
    Client, ClientOptions, Connection,
    envconfig::{DataSource, LoadClientConfigProfileOptions},
};

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("loading Temporal connection config{}: {message}", source_desc(.file))]
    Config { file: Option<PathBuf>, message: String },
    #[error("connecting to Temporal: {0}")]
    Connect(String),
}

fn source_desc(file: &Option<PathBuf>) -> String {
    file.as_ref().map(|f| format!(" from {}", f.display())).unwrap_or_default()
}

/// The `temporal.toml` to use: `TEMPORAL_CONFIG_FILE`, else `$LAMBDA_TASK_ROOT/temporal.toml`,
/// else `./temporal.toml`; `None` lets the SDK use its default location (and env vars alone).
pub fn config_file() -> Option<PathBuf> {
    config_file_from(
        std::env::var_os("TEMPORAL_CONFIG_FILE").map(PathBuf::from),
        std::env::var_os("LAMBDA_TASK_ROOT").map(PathBuf::from),
        std::env::current_dir().ok(),
    )
}

fn config_file_from(
    explicit: Option<PathBuf>,
    task_root: Option<PathBuf>,
    cwd: Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(p) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        return Some(p);
    }
    [task_root, cwd]
        .into_iter()
        .flatten()
        .map(|dir| dir.join("temporal.toml"))
        .find(|p| p.is_file())
}

/// Connection and client options for the profile in effect.
pub fn load_options() -> Result<(temporalio_client::ConnectionOptions, ClientOptions), ConnectError> {
    let file = config_file();
    let options = LoadClientConfigProfileOptions::builder()
        .maybe_config_source(
            file.as_deref().map(|p: &Path| DataSource::Path(p.to_string_lossy().into_owned())),
        )
        .build();
    ClientOptions::load_from_config(options)
        .map_err(|e| ConnectError::Config { file, message: e.to_string() })
}

/// Connect to Temporal with the profile in effect.
pub async fn connect() -> Result<Client, ConnectError> {
    let (connection_options, client_options) = load_options()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_file_wins_then_task_root_then_cwd() {
        let dir = std::env::temp_dir().join(format!("shopflow-conn-{}", std::process::id()));
        let root = dir.join("task");
        let cwd = dir.join("cwd");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::write(cwd.join("temporal.toml"), "").unwrap();

        let explicit = PathBuf::from("/etc/custom.toml");
        assert_eq!(
            config_file_from(Some(explicit.clone()), Some(root.clone()), Some(cwd.clone())),
            Some(explicit)
        );
        // task root has no file yet: falls through to cwd
        assert_eq!(
            config_file_from(None, Some(root.clone()), Some(cwd.clone())),
            Some(cwd.join("temporal.toml"))
        );
        std::fs::write(root.join("temporal.toml"), "").unwrap();
        assert_eq!(
            config_file_from(None, Some(root.clone()), Some(cwd.clone())),
            Some(root.join("temporal.toml"))
        );
        assert_eq!(config_file_from(None, None, None), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
