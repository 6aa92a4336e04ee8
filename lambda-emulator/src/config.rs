//! Emulator-wide settings: the knobs that real Lambda fixes (or that AWS tunes for you) but that a
//! local emulator and its tests need to turn — idle reaping, retry delays, grace periods, limits.
//! Defaults follow Lambda's documented behaviour where it is documented.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The account id every ARN the emulator hands out carries (LocalStack uses the same one).
pub const ACCOUNT_ID: &str = "000000000000";

/// Lambda's synchronous invocation payload limit (request and response): 6 MB.
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Lambda's asynchronous (`Event`) invocation payload limit: 1 MB since October 2025 (it was
/// 256 KB; AWS "Lambda quotas", "Invocation payload (request and response)").
pub const EVENT_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// Settings shared by every function the emulator serves.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Region in ARNs, `AWS_REGION` of functions and SQS event sources.
    pub region: String,
    /// An environment idle this long is shut down (scale to zero).
    pub idle_timeout: Duration,
    /// How long a new environment may take to ask for its first invocation (Lambda: 10 s init).
    pub init_timeout: Duration,
    /// Concurrency limit of a function without reserved concurrency (Lambda's account default).
    pub account_concurrency: u32,
    /// Delays before each retry of a failed `Event` invocation; its length is the retry count
    /// (Lambda: 2 retries, about 1 and 2 minutes apart).
    pub async_retry_delays: Vec<Duration>,
    /// An `Event` invocation still not run (throttled, or waiting to retry) this long after it
    /// was accepted is dropped (Lambda's `MaximumEventAgeInSeconds`: 6 hours by default).
    pub max_event_age: Duration,
    /// First back-off when an `Event` invocation or an SQS batch finds the function throttled;
    /// it doubles up to [`EmulatorConfig::throttle_retry_max`].
    pub throttle_retry_delay: Duration,
    /// Upper bound of the throttle back-off.
    pub throttle_retry_max: Duration,
    /// When set, each function's output is also appended to `<log_dir>/<function>.log`.
    pub log_dir: Option<PathBuf>,
    /// Forward function output to stderr rather than stdout.
    pub function_output_to_stderr: bool,
    /// Variables added to every function's environment (after the template's, so they win).
    pub extra_env: BTreeMap<String, String>,
    /// Host variables passed through to functions. Lambda gives a function nothing of the host;
    /// `PATH` and the AWS credential variables (which Lambda fills from the execution role) are
    /// the local stand-ins.
    pub pass_env: Vec<String>,
    /// SQS endpoint (LocalStack) for SQS event sources; without it they are not started.
    pub sqs_endpoint: Option<String>,
    /// Long-poll wait of SQS event sources (Lambda uses 20 s).
    pub sqs_wait_time: Duration,
    /// How long the HTTP API waits for a function before it answers 503 (API Gateway's HTTP
    /// API: 30 s, not configurable). The invocation itself runs on, as in Lambda.
    pub http_integration_timeout: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            idle_timeout: Duration::from_secs(60),
            init_timeout: Duration::from_secs(10),
            account_concurrency: 1000,
            async_retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
            max_event_age: Duration::from_secs(6 * 60 * 60),
            throttle_retry_delay: Duration::from_millis(100),
            throttle_retry_max: Duration::from_secs(5),
            log_dir: None,
            function_output_to_stderr: false,
            extra_env: BTreeMap::new(),
            pass_env: [
                "PATH",
                "LANG",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "RUST_BACKTRACE",
            ]
            .map(String::from)
            .to_vec(),
            sqs_endpoint: None,
            sqs_wait_time: Duration::from_secs(20),
            http_integration_timeout: Duration::from_secs(30),
        }
    }
}
