//! The Lambda-tuned defaults, and the small pure rules around them.
//!
//! The numbers follow Go's `contrib/aws/lambdaworker` so that a Rust and a Go function sized the
//! same behave the same: a Lambda environment is small (often 128–512 MB, a fraction of a vCPU)
//! and short-lived, so it polls little, runs few activities at once, and caches few workflows.

use std::path::PathBuf;
use std::time::Duration;

pub const MAX_CONCURRENT_ACTIVITIES: usize = 2;
pub const MAX_CONCURRENT_WORKFLOW_TASKS: usize = 10;
pub const MAX_CONCURRENT_LOCAL_ACTIVITIES: usize = 2;
pub const MAX_CONCURRENT_NEXUS_TASKS: usize = 5;
pub const ACTIVITY_POLLERS: usize = 1;
pub const WORKFLOW_POLLERS: usize = 2;
pub const STICKY_CACHE_SIZE: usize = 100;
/// How long a stopping worker lets running activities finish before cancelling them.
pub const WORKER_STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Time after the worker stops for shutdown hooks (telemetry flush) before the deadline.
pub const SHUTDOWN_HOOK_BUFFER: Duration = Duration::from_secs(2);
/// How long connecting to Temporal may take at a cold start. A Temporal that accepts TCP but
/// never answers would otherwise hold the invocation for the SDK's 30 s connect timeout (or the
/// function's whole timeout), all of it billed; a few seconds is ample for Temporal Cloud's TLS
/// handshake from any AWS region.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An invocation with this little time to work is refused.
pub const MIN_WORK_TIME: Duration = Duration::from_secs(1);
/// Below this much work time an invocation is accepted with a warning.
pub const WARN_WORK_TIME: Duration = Duration::from_secs(5);

pub const ENV_TASK_QUEUE: &str = "TEMPORAL_TASK_QUEUE";
pub const ENV_CONFIG_FILE: &str = "TEMPORAL_CONFIG_FILE";
pub const ENV_LAMBDA_TASK_ROOT: &str = "LAMBDA_TASK_ROOT";
pub const CONFIG_FILE_NAME: &str = "temporal.toml";

/// Stop timeout plus the hook buffer: how long before the deadline the worker is told to stop.
pub fn default_shutdown_buffer() -> Duration {
    WORKER_STOP_TIMEOUT + SHUTDOWN_HOOK_BUFFER
}

/// A worker's identity inside Lambda: `<requestId>@<functionArn>`, so every task in a history
/// points at the invocation that ran it.
pub fn lambda_identity(request_id: &str, function_arn: &str) -> String {
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "unknown".to_owned()
        } else {
            s.to_owned()
        }
    };
    format!("{}@{}", or_unknown(request_id), or_unknown(function_arn))
}

/// Where `temporal.toml` is: `TEMPORAL_CONFIG_FILE`, else `$LAMBDA_TASK_ROOT/temporal.toml`,
/// else `./temporal.toml` — the file shipped in the function's zip, found without configuration.
pub fn config_file_path(getenv: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(file) = getenv(ENV_CONFIG_FILE).filter(|f| !f.is_empty()) {
        return PathBuf::from(file);
    }
    let root = getenv(ENV_LAMBDA_TASK_ROOT)
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| ".".to_owned());
    PathBuf::from(root).join(CONFIG_FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn identity_names_request_and_function() {
        assert_eq!(
            lambda_identity("req-1", "arn:aws:lambda:us-east-1:1:function:f"),
            "req-1@arn:aws:lambda:us-east-1:1:function:f"
        );
        assert_eq!(lambda_identity("", ""), "unknown@unknown");
    }

    #[test]
    fn config_file_lookup_order() {
        assert_eq!(
            config_file_path(env(&[
                ("TEMPORAL_CONFIG_FILE", "/x.toml"),
                ("LAMBDA_TASK_ROOT", "/var/task")
            ])),
            PathBuf::from("/x.toml")
        );
        assert_eq!(
            config_file_path(env(&[("LAMBDA_TASK_ROOT", "/var/task")])),
            PathBuf::from("/var/task/temporal.toml")
        );
        assert_eq!(config_file_path(env(&[])), PathBuf::from("./temporal.toml"));
        assert_eq!(
            config_file_path(env(&[("TEMPORAL_CONFIG_FILE", "")])),
            PathBuf::from("./temporal.toml")
        );
    }

    #[test]
    fn shutdown_buffer_is_stop_timeout_plus_hook_buffer() {
        assert_eq!(default_shutdown_buffer(), Duration::from_secs(7));
    }
}
