//! The Lambda-tuned defaults, and the small pure rules around them.
//!
//! The numbers follow Go's `contrib/aws/lambdaworker` so that a Rust and a Go function sized the
//! same behave the same: a Lambda environment is small (often 128–512 MB, a fraction of a vCPU)
//! and short-lived, so it polls little, runs few activities at once, and caches few workflows.

use std::time::Duration;

/// Go's 2, plus one for an eager activity: the SDK's activity poller holds a slot for its open
/// poll and a second one while it waits to poll again, so with 2 slots none is ever free when a
/// workflow task asks to run its new activity eagerly (see
/// [`EAGER_ACTIVITIES_PER_WORKFLOW_TASK`]).
pub const MAX_CONCURRENT_ACTIVITIES: usize = 3;
/// Workflow task slots (Go's 10).
pub const MAX_CONCURRENT_WORKFLOW_TASKS: usize = 10;
/// Local activity slots (Go's 2).
pub const MAX_CONCURRENT_LOCAL_ACTIVITIES: usize = 2;
/// Nexus task slots (Go's 5).
pub const MAX_CONCURRENT_NEXUS_TASKS: usize = 5;
/// Activity task pollers (Go's 1).
pub const ACTIVITY_POLLERS: usize = 1;
/// Workflow task pollers (Go's 2).
pub const WORKFLOW_POLLERS: usize = 2;
/// Workflows kept in the sticky cache (Go's 100; the other SDKs' Lambda workers use 30).
pub const STICKY_CACHE_SIZE: usize = 100;
/// Activity slots a workflow task may reserve to have its new activities handed back with its
/// completion instead of through the task queue: the SDK's default, where Go's package turns them
/// off. Each activity that goes through the task queue costs a pass through the history shard's
/// transfer queue, which the server reads at most 20 times a second per shard
/// (`history.transferProcessorMaxPollRPS`): on the bench, an order (4 activities) took 445 ms
/// with them off and 246 ms with them on, on the same worker and server. An eager activity is no
/// riskier here than a polled one: this worker would poll it up to its stop anyway, and either
/// way one cut off by the deadline is retried on the next worker. Needs a free activity slot
/// ([`MAX_CONCURRENT_ACTIVITIES`]).
pub const EAGER_ACTIVITIES_PER_WORKFLOW_TASK: usize = 3;
/// How long a stopping worker lets running activities finish before cancelling them.
pub const WORKER_STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Time after the worker stops for shutdown hooks (telemetry flush) before the deadline.
pub const SHUTDOWN_HOOK_BUFFER: Duration = Duration::from_secs(2);
/// How long the SIGTERM handler waits for a running invocation before the process exits.
/// Lambda's Shutdown phase lasts 500 ms for a function whose extensions are internal, as this
/// crate's no-op one is (AWS "Lambda execution environment lifecycle", Shutdown phase: 0 / 500 /
/// 2,000 ms), and then SIGKILLs: waiting longer (this was the 7 s stop buffer) only meant being
/// killed mid-wait. A little under the 500 ms, so the exit is ours.
pub const SIGTERM_GRACE: Duration = Duration::from_millis(450);
/// How long connecting to Temporal may take at a cold start. A Temporal that accepts TCP but
/// never answers would otherwise hold the invocation for the SDK's 30 s connect timeout (or the
/// function's whole timeout), all of it billed; a few seconds is ample for Temporal Cloud's TLS
/// handshake from any AWS region.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest idle exit that cannot strand a lone task. The Worker Controller learns of a task
/// that found no poller through a per-partition hook that signals at most once per this interval
/// (the server's `workercontroller.hook.min_signal_interval_no_sync_match`, 500 ms by default)
/// and keeps a task arriving in between for the *next* signal — with no timer, so a lone task
/// waits for another task on its partition or the controller's backlog check, minutes later. A
/// worker's last signal is at or before its last task; an invocation that idles at least this
/// long after that task ends outside every window. Measured (the benchmark of the repository
/// this crate comes from, part `lone`, a server with those defaults, three runs): with an idle
/// exit of 300 ms two lone workflows waited > 30 s, with 2 s none of 53.
pub const MIN_SAFE_IDLE_EXIT: Duration = Duration::from_millis(500);
/// An invocation with this little time to work is refused.
pub const MIN_WORK_TIME: Duration = Duration::from_secs(1);
/// Below this much work time an invocation is accepted with a warning.
pub const WARN_WORK_TIME: Duration = Duration::from_secs(5);

/// The variable that names the task queue when `configure` does not.
pub const ENV_TASK_QUEUE: &str = "TEMPORAL_TASK_QUEUE";
pub use temporal_aws_config::config_file::{
    CONFIG_FILE_NAME, ENV_CONFIG_FILE, ENV_LAMBDA_TASK_ROOT, config_file_path,
};

/// Stop timeout plus the hook buffer: how long before the deadline the worker is told to stop.
pub fn default_shutdown_buffer() -> Duration {
    WORKER_STOP_TIMEOUT + SHUTDOWN_HOOK_BUFFER
}

/// The identity a worker polls with: the one the user set in `configure`, if any (as Go's
/// lambdaworker keeps a user's `Identity`), else [`lambda_identity`].
pub fn worker_identity(user_set: Option<&str>, request_id: &str, function_arn: &str) -> String {
    match user_set.map(str::trim).filter(|s| !s.is_empty()) {
        Some(identity) => identity.to_owned(),
        None => lambda_identity(request_id, function_arn),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names_request_and_function() {
        assert_eq!(
            lambda_identity("req-1", "arn:aws:lambda:us-east-1:1:function:f"),
            "req-1@arn:aws:lambda:us-east-1:1:function:f"
        );
        assert_eq!(lambda_identity("", ""), "unknown@unknown");
    }

    #[test]
    fn a_user_set_identity_wins_and_blank_means_unset() {
        let arn = "arn:aws:lambda:us-east-1:1:function:f";
        assert_eq!(worker_identity(Some("mine"), "req-1", arn), "mine");
        assert_eq!(
            worker_identity(Some("  "), "req-1", arn),
            format!("req-1@{arn}")
        );
        assert_eq!(worker_identity(None, "", ""), "unknown@unknown");
    }

    #[test]
    fn shutdown_buffer_is_stop_timeout_plus_hook_buffer() {
        assert_eq!(default_shutdown_buffer(), Duration::from_secs(7));
    }
}
