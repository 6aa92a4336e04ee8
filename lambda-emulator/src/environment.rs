//! One execution environment: a child process of the function's binary with its own Runtime API,
//! through Lambda's lifecycle — init (spawn until the first `GET /next`), invoke (one invocation
//! at a time, deadline enforced), shutdown (the `SHUTDOWN` event to subscribed extensions and
//! SIGTERM, then SIGKILL after a grace period).
//!
//! The child runs in its own process group so that shutting down an environment also ends
//! anything the function started, as tearing down a Lambda sandbox does.

use axum::serve::ListenerExt as _;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::extensions_api::{Extensions, ShutdownReason};
use crate::invoke::{InvokeInput, InvokeOutcome, platform_error, timeout_error};
use crate::logs::LogSink;
use crate::registry::FunctionConfig;
use crate::runtime_api::{self, Invocation, RuntimeChannel, RuntimeReply};

pub(crate) struct Environment {
    pid: u32,
    function: Arc<FunctionConfig>,
    channel: Arc<RuntimeChannel>,
    exited: watch::Receiver<Option<String>>,
    runtime_api: JoinHandle<()>,
    init_timeout: Duration,
    /// Set once an invocation went wrong in a way that leaves the sandbox unusable.
    broken: AtomicBool,
    /// When the process was spawned, until the runtime picks its first invocation (then `None`):
    /// the init phase Lambda reports as "Init Duration".
    spawned_at: std::sync::Mutex<Option<Instant>>,
}

/// An invocation's outcome plus whether the environment may serve another one.
pub(crate) struct RunResult {
    pub outcome: InvokeOutcome,
    pub reusable: bool,
    /// The init phase, for the first invocation of a new environment that reached its runtime.
    pub init: Option<Duration>,
    /// Lambda's "Duration": from the runtime taking the invocation (`GET /next`) to its end —
    /// the init phase is not part of it. When the runtime never took it (init failed or timed
    /// out, the process died first), the time the attempt took.
    pub duration: Duration,
}

impl Environment {
    /// Starts the function's binary with Lambda's environment variables and a fresh Runtime API.
    pub(crate) async fn spawn(
        function: Arc<FunctionConfig>,
        config: &EmulatorConfig,
        logs: Arc<LogSink>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let runtime_addr = listener.local_addr()?;
        let channel = Arc::new(RuntimeChannel::new(Extensions::new(function.name.clone(), logs.clone())));
        let app = runtime_api::router(channel.clone());
        let runtime_api = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener.tap_io(crate::emulator::no_delay), app).await {
                tracing::warn!(%error, "runtime API server stopped");
            }
        });

        let spawned_at = Instant::now();
        let mut command = Command::new(&function.binary);
        command
            .env_clear()
            .envs(config.pass_env.iter().filter_map(|name| Some((name, std::env::var_os(name)?))))
            .envs(lambda_variables(&function, config, &runtime_addr.to_string()))
            .envs(&function.environment)
            .envs(&config.extra_env)
            .current_dir(task_root(&function.binary))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                runtime_api.abort();
                return Err(error);
            }
        };
        let pid = child.id().unwrap_or_default();
        for stream in [child.stdout.take().map(boxed), child.stderr.take().map(boxed)].into_iter().flatten() {
            tokio::spawn(forward_output(stream, function.name.clone(), channel.clone(), logs.clone()));
        }
        let (exit_tx, exited) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exit_tx.send(Some(describe_exit(status)));
        });
        tracing::debug!(function = %function.name, pid, "environment started");
        Ok(Self {
            pid,
            function,
            channel,
            exited,
            runtime_api,
            init_timeout: config.init_timeout,
            broken: AtomicBool::new(false),
            spawned_at: std::sync::Mutex::new(Some(spawned_at)),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn is_usable(&self) -> bool {
        self.exited.borrow().is_none() && !self.broken.load(Ordering::Relaxed)
    }

    /// Runs one invocation to its end: a response, a function error, the deadline, or the
    /// process exiting.
    pub(crate) async fn invoke(&self, input: InvokeInput) -> RunResult {
        let submitted = Instant::now();
        let mut picked_at = None;
        let mut result = self.run(input, &mut picked_at).await;
        result.duration = picked_at.unwrap_or(submitted).elapsed();
        result
    }

    /// [`Environment::invoke`], setting `picked_at` once the runtime has taken the invocation.
    async fn run(&self, input: InvokeInput, picked_at: &mut Option<Instant>) -> RunResult {
        let request_id = input.request_id.clone();
        let (picked_tx, picked) = oneshot::channel();
        let (reply_tx, reply) = oneshot::channel();
        let invocation = Invocation { input, timeout: self.function.timeout, picked: picked_tx, reply: reply_tx };
        if self.channel.submit(invocation).await.is_err() {
            return self.fail("Runtime.Unknown", &request_id, "the environment's runtime API is gone");
        }
        let mut exited = self.exited.clone();
        let mut init_error = self.channel.init_error();
        let deadline = tokio::select! {
            deadline = picked => match deadline {
                Ok(deadline) => deadline,
                Err(_) => return self.fail("Runtime.Unknown", &request_id, "the runtime dropped the invocation"),
            },
            status = exited.wait_for(Option::is_some) => {
                let status = status.map(|s| s.clone().unwrap_or_default()).unwrap_or_default();
                return self.fail("Runtime.ExitError", &request_id, &format!("Runtime exited with error: {status}"));
            }
            document = init_error.wait_for(Option::is_some) => {
                let document = document.ok().and_then(|d| d.clone()).unwrap_or_default();
                return self.discard(InvokeOutcome::FunctionError(document));
            }
            () = tokio::time::sleep(self.init_timeout) => {
                let detail = format!("Init phase timed out after {:.2} seconds", self.init_timeout.as_secs_f64());
                return self.fail("Sandbox.Timedout", &request_id, &detail);
            }
        };
        *picked_at = Some(Instant::now());
        let init = self.spawned_at.lock().expect("spawn time").take().map(|t| t.elapsed());
        let mut result = tokio::select! {
            reply = reply => match reply {
                Ok(RuntimeReply::Response(body)) => RunResult::reusable(InvokeOutcome::Success(body)),
                Ok(RuntimeReply::Error(body)) => RunResult::reusable(InvokeOutcome::FunctionError(body)),
                Err(_) => self.fail("Runtime.Unknown", &request_id, "the runtime dropped the invocation"),
            },
            status = exited.wait_for(Option::is_some) => {
                let status = status.map(|s| s.clone().unwrap_or_default()).unwrap_or_default();
                self.fail("Runtime.ExitError", &request_id, &format!("Runtime exited with error: {status}"))
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                // Lambda ends the sandbox on a timeout; the next invocation starts cold.
                self.channel.extensions().shutdown(ShutdownReason::Timeout, Duration::ZERO);
                self.kill();
                self.discard(InvokeOutcome::FunctionError(timeout_error(&request_id, self.function.timeout)))
            }
        };
        result.init = init;
        result
    }

    fn fail(&self, error_type: &str, request_id: &str, detail: &str) -> RunResult {
        self.discard(InvokeOutcome::FunctionError(platform_error(error_type, request_id, detail)))
    }

    fn discard(&self, outcome: InvokeOutcome) -> RunResult {
        self.broken.store(true, Ordering::Relaxed);
        RunResult { outcome, reusable: false, init: None, duration: Duration::ZERO }
    }

    /// Lambda's shutdown phase: the `SHUTDOWN` event to subscribed extensions and SIGTERM to the
    /// runtime, up to `grace` to exit, then SIGKILL.
    pub(crate) async fn shutdown(&self, grace: Duration, reason: ShutdownReason) {
        self.broken.store(true, Ordering::Relaxed);
        self.channel.extensions().shutdown(reason, grace);
        self.signal(Signal::SIGTERM);
        let mut exited = self.exited.clone();
        if tokio::time::timeout(grace, exited.wait_for(Option::is_some)).await.is_err() {
            self.signal(Signal::SIGKILL);
        }
        self.runtime_api.abort();
        tracing::debug!(function = %self.function.name, pid = self.pid, ?reason, extensions = ?self.channel.extensions().names(), "environment shut down");
    }

    /// Ends the environment at once (timeouts, emulator shutdown).
    pub(crate) fn kill(&self) {
        self.broken.store(true, Ordering::Relaxed);
        self.signal(Signal::SIGKILL);
        self.runtime_api.abort();
    }

    fn signal(&self, signal: Signal) {
        // The process group may already be gone (the process exited); that is fine.
        if self.exited.borrow().is_none() && self.pid > 0 {
            let _ = killpg(Pid::from_raw(self.pid as i32), signal);
        }
    }
}

impl RunResult {
    fn reusable(outcome: InvokeOutcome) -> Self {
        Self { outcome, reusable: true, init: None, duration: Duration::ZERO }
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.runtime_api.abort();
    }
}

/// The variables Lambda sets for a `provided.al2023` function.
fn lambda_variables(function: &FunctionConfig, config: &EmulatorConfig, runtime_api: &str) -> BTreeMap<String, String> {
    let task_root = task_root(&function.binary).display().to_string();
    let stream = format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid::Uuid::new_v4().simple()
    );
    [
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", function.memory_mb.to_string()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", function.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Lambda's `/var/task`: locally, the folder holding the binary (absolute, as the emulator
/// registers functions with absolute binary paths).
fn task_root(binary: &Path) -> &Path {
    binary.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn boxed(stream: impl AsyncRead + Send + Unpin + 'static) -> Box<dyn AsyncRead + Send + Unpin> {
    Box::new(stream)
}

async fn forward_output(
    stream: Box<dyn AsyncRead + Send + Unpin>,
    function: String,
    channel: Arc<RuntimeChannel>,
    logs: Arc<LogSink>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        logs.line(&function, channel.last_request().as_deref(), &line);
    }
}

/// Lambda's (Go) wording for how a runtime process ended.
fn describe_exit(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("signal: {}", Signal::try_from(signal).map_or("unknown", Signal::as_str)),
            (None, None) => "exited".into(),
        },
        Err(error) => format!("wait failed: {error}"),
    }
}
