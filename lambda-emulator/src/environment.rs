//! One execution environment: a child process of the function's binary with its own Runtime API,
//! through Lambda's lifecycle (AWS "Lambda execution environment lifecycle"):
//!
//! - **Init**: spawn, then wait until the runtime *and every registered extension* call `next`
//!   (see [`crate::readiness`]), within Lambda's 10 s; otherwise the environment is discarded and
//!   the pool retries Init once in a new one within the invocation, under the function's timeout
//!   ("suppressed init", [`Environment::suppressed_init`]).
//! - **Invoke**: one invocation at a time, deadline enforced; `START`, `END` and `REPORT` lines in
//!   the function's log as Lambda writes them. The environment is busy until the runtime and the
//!   extensions subscribed to `INVOKE` are back in `next` ([`Environment::settle`]), and is then
//!   frozen until its next event ([`crate::sandbox`]). Its memory is capped at `MemorySize`.
//! - **Shutdown**: a function with no registered extension gets SIGKILL only; one with (internal)
//!   extensions gets SIGTERM to its runtime and up to 500 ms before SIGKILL. A timed-out
//!   invocation resets the environment the same way.
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
use crate::sandbox::{Freezer, MemoryWatch};

pub(crate) struct Environment {
    pid: u32,
    function: Arc<FunctionConfig>,
    channel: Arc<RuntimeChannel>,
    exited: watch::Receiver<Option<String>>,
    runtime_api: JoinHandle<()>,
    init_timeout: Duration,
    /// This environment is Lambda's retry of a timed-out Init, bounded by the function timeout.
    suppressed: bool,
    /// Set once an invocation went wrong in a way that leaves the sandbox unusable.
    broken: AtomicBool,
    /// When the process was spawned, until the runtime picks its first invocation (then `None`):
    /// the init phase Lambda reports as "Init Duration".
    spawned_at: std::sync::Mutex<Option<Instant>>,
    /// Set when an invocation ran out of time: the reset that follows says so.
    timed_out: AtomicBool,
    /// Set once the shutdown phase began: an environment shuts down once, whatever ends it.
    shutting_down: AtomicBool,
    memory: Arc<MemoryWatch>,
    freezer: Freezer,
    logs: Arc<LogSink>,
    /// This environment's own temporary folder (`TMPDIR`), removed with it.
    tmp: std::path::PathBuf,
}

/// An invocation's outcome plus whether the environment may serve another one.
pub(crate) struct RunResult {
    pub outcome: InvokeOutcome,
    pub reusable: bool,
    /// The init phase, for the first invocation of a new environment that reached its runtime.
    pub init: Option<Duration>,
    /// The most memory the environment used so far, in MB (Lambda's "Max Memory Used").
    pub max_memory_mb: u64,
    /// Init did not end within its limit (the runtime never took the invocation).
    pub init_timed_out: bool,
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
        let channel = Arc::new(RuntimeChannel::new(Extensions::new(
            function.name.clone(),
            logs.clone(),
        )));
        let app = runtime_api::router(channel.clone());
        let runtime_api = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener.tap_io(crate::emulator::no_delay), app).await {
                tracing::warn!(%error, "runtime API server stopped");
            }
        });

        let tmp = environment_tmp_dir();
        if let Err(error) = std::fs::create_dir_all(&tmp) {
            runtime_api.abort();
            return Err(error);
        }
        let spawned_at = Instant::now();
        let mut command = Command::new(&function.binary);
        // Lambda's own variables go last: they win over the template's and `--env` (Lambda
        // refuses to deploy a function that sets one; see `crate::variables`).
        command
            .env_clear()
            .envs(
                config
                    .pass_env
                    .iter()
                    .filter_map(|name| Some((name, std::env::var_os(name)?))),
            )
            .envs(&function.environment)
            .envs(&config.extra_env)
            .envs(lambda_variables(
                &function,
                config,
                &runtime_addr.to_string(),
            ))
            .env("TMPDIR", &tmp)
            .current_dir(task_root(&function.binary))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        die_with_the_emulator(&mut command);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                runtime_api.abort();
                return Err(error);
            }
        };
        let pid = child.id().unwrap_or_default();
        for stream in [
            child.stdout.take().map(boxed),
            child.stderr.take().map(boxed),
        ]
        .into_iter()
        .flatten()
        {
            tokio::spawn(forward_output(
                stream,
                function.name.clone(),
                channel.clone(),
                logs.clone(),
            ));
        }
        let (exit_tx, exited) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exit_tx.send(Some(describe_exit(status)));
        });
        let memory = MemoryWatch::start(
            pid,
            u64::from(function.memory_mb) * 1024 * 1024,
            exited.clone(),
        );
        tracing::debug!(function = %function.name, pid, "environment started");
        Ok(Self {
            pid,
            function,
            channel,
            exited,
            runtime_api,
            init_timeout: config.init_timeout,
            suppressed: false,
            broken: AtomicBool::new(false),
            spawned_at: std::sync::Mutex::new(Some(spawned_at)),
            timed_out: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            memory,
            freezer: Freezer::new(pid),
            logs,
            tmp,
        })
    }

    /// Makes this environment Lambda's retry of an Init that timed out: its Init may take the
    /// function's whole timeout, and running out of it is the invocation's timeout (AWS "Lambda
    /// execution environment lifecycle": "If the Init phase times out, Lambda retries it at the
    /// time of the first function invocation with the configured function timeout").
    pub(crate) fn suppressed_init(mut self) -> Self {
        self.suppressed = true;
        self.init_timeout = self.function.timeout;
        self
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
        self.freezer.thaw();
        let request_id = input.request_id.clone();
        let submitted = Instant::now();
        let mut picked_at = None;
        let mut result = self.run(input, &mut picked_at).await;
        result.duration = picked_at.unwrap_or(submitted).elapsed();
        result.max_memory_mb = self.memory.peak_mb();
        if picked_at.is_some() {
            self.log(&request_id, &format!("END RequestId: {request_id}"));
            self.log(
                &request_id,
                &report_line(&request_id, &result, self.function.memory_mb),
            );
        }
        result
    }

    /// Waits until the invoke phase is over (runtime and extensions back in `next`), for at most
    /// `limit`; an environment that does not get there is not reused. Then freezes it.
    pub(crate) async fn settle(&self, limit: Duration) {
        let mut exited = self.exited.clone();
        tokio::select! {
            () = self.channel.until_settled() => {}
            _ = exited.wait_for(Option::is_some) => {}
            () = tokio::time::sleep(limit) => {
                tracing::debug!(function = %self.function.name, pid = self.pid, "the invoke phase did not end in time");
                self.broken.store(true, Ordering::Relaxed);
            }
        }
        if self.is_usable() {
            self.freezer.freeze();
        }
    }

    fn log(&self, request_id: &str, line: &str) {
        self.logs.line(&self.function.name, Some(request_id), line);
    }

    /// [`Environment::invoke`], setting `picked_at` once the runtime has taken the invocation.
    async fn run(&self, input: InvokeInput, picked_at: &mut Option<Instant>) -> RunResult {
        let request_id = input.request_id.clone();
        let (picked_tx, picked) = oneshot::channel();
        let (reply_tx, reply) = oneshot::channel();
        let invocation = Invocation {
            input,
            timeout: self.function.timeout,
            picked: picked_tx,
            reply: reply_tx,
        };
        if self.channel.submit(invocation).await.is_err() {
            return self.fail(
                "Runtime.Unknown",
                &request_id,
                "the environment's runtime API is gone",
            );
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
                return self.exit_failure(&request_id, &status);
            }
            document = init_error.wait_for(Option::is_some) => {
                let document = document.ok().and_then(|d| d.clone()).unwrap_or_default();
                return self.discard(InvokeOutcome::FunctionError(document));
            }
            () = tokio::time::sleep(self.init_timeout) => {
                if self.suppressed {
                    return self.discard(InvokeOutcome::FunctionError(timeout_error(&request_id, self.function.timeout)));
                }
                let detail = format!("Init phase timed out after {:.2} seconds", self.init_timeout.as_secs_f64());
                let mut result = self.fail("Sandbox.Timedout", &request_id, &detail);
                result.init_timed_out = true;
                return result;
            }
        };
        *picked_at = Some(Instant::now());
        let init = self
            .spawned_at
            .lock()
            .expect("spawn time")
            .take()
            .map(|t| t.elapsed());
        self.log(
            &request_id,
            &format!("START RequestId: {request_id} Version: $LATEST"),
        );
        let mut result = tokio::select! {
            reply = reply => match reply {
                Ok(RuntimeReply::Response(body)) => RunResult::reusable(InvokeOutcome::Success(body)),
                Ok(RuntimeReply::Error(body)) => RunResult::reusable(InvokeOutcome::FunctionError(body)),
                Err(_) => self.fail("Runtime.Unknown", &request_id, "the runtime dropped the invocation"),
            },
            status = exited.wait_for(Option::is_some) => {
                let status = status.map(|s| s.clone().unwrap_or_default()).unwrap_or_default();
                self.exit_failure(&request_id, &status)
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                // Lambda resets the sandbox after a timeout (the pool runs the shutdown phase,
                // with reason "timeout"); the next invocation starts cold.
                self.timed_out.store(true, Ordering::Relaxed);
                self.discard(InvokeOutcome::FunctionError(timeout_error(&request_id, self.function.timeout)))
            }
        };
        result.init = init;
        result
    }

    /// The process ended mid-phase: killed for its memory, or exited/crashed by itself.
    fn exit_failure(&self, request_id: &str, status: &str) -> RunResult {
        let error_type = if self.memory.killed() {
            "Runtime.OutOfMemory"
        } else {
            "Runtime.ExitError"
        };
        self.fail(
            error_type,
            request_id,
            &format!("Runtime exited with error: {status}"),
        )
    }

    fn fail(&self, error_type: &str, request_id: &str, detail: &str) -> RunResult {
        self.discard(InvokeOutcome::FunctionError(platform_error(
            error_type, request_id, detail,
        )))
    }

    fn discard(&self, outcome: InvokeOutcome) -> RunResult {
        self.broken.store(true, Ordering::Relaxed);
        RunResult {
            outcome,
            reusable: false,
            init: None,
            max_memory_mb: 0,
            init_timed_out: false,
            duration: Duration::ZERO,
        }
    }

    /// Lambda's shutdown phase (AWS "Lambda execution environment lifecycle", Shutdown phase;
    /// aws-lambda-runtime-interface-emulator `rapid/shutdown.go`): with no registered extension
    /// the environment is killed at once — the runtime never sees SIGTERM; with extensions, all
    /// internal here, the runtime gets SIGTERM and the phase's 500 ms budget to exit, then
    /// SIGKILL ends whatever is left of the group.
    pub(crate) async fn shutdown(&self) {
        // A healthy environment ends because it idled out or the emulator stops; a broken one
        // because an invocation timed out or failed.
        let reason = match (self.is_usable(), self.timed_out.load(Ordering::Relaxed)) {
            (true, _) => ShutdownReason::Spindown,
            (false, true) => ShutdownReason::Timeout,
            (false, false) => ShutdownReason::Failure,
        };
        self.broken.store(true, Ordering::Relaxed);
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let budget = self.channel.extensions().shutdown_budget();
        if !budget.is_zero() && self.exited.borrow().is_none() && self.pid > 0 {
            // A frozen runtime would only see its SIGTERM once resumed.
            let _ = nix::sys::signal::kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
            self.freezer.thaw();
            let mut exited = self.exited.clone();
            let _ = tokio::time::timeout(budget, exited.wait_for(Option::is_some)).await;
        }
        self.signal(Signal::SIGKILL);
        // SIGKILL is delivered asynchronously: wait until the process is gone (and reaped), so a
        // caller that stops the emulator next leaves nothing running behind it.
        let mut exited = self.exited.clone();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), exited.wait_for(Option::is_some)).await;
        self.runtime_api.abort();
        tracing::debug!(function = %self.function.name, pid = self.pid, ?reason, ?budget, extensions = ?self.channel.extensions().names(), "environment shut down");
    }

    /// Ends the environment at once (emulator shutdown).
    pub(crate) fn kill(&self) {
        self.broken.store(true, Ordering::Relaxed);
        self.signal(Signal::SIGKILL);
        self.runtime_api.abort();
    }

    fn signal(&self, signal: Signal) {
        // The process group may already be gone (the process exited); that is fine. SIGKILL
        // ends stopped (frozen) processes too.
        if self.exited.borrow().is_none() && self.pid > 0 {
            let _ = killpg(Pid::from_raw(self.pid as i32), signal);
        }
    }
}

impl RunResult {
    fn reusable(outcome: InvokeOutcome) -> Self {
        Self {
            outcome,
            reusable: true,
            init: None,
            max_memory_mb: 0,
            init_timed_out: false,
            duration: Duration::ZERO,
        }
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.runtime_api.abort();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Lambda's `REPORT` line; Billed Duration by the same rule as the metrics
/// ([`crate::metrics::billed_ms`]).
fn report_line(request_id: &str, result: &RunResult, memory_mb: u32) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let billed = crate::metrics::billed_ms(result.duration, result.init);
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {} MB",
        ms(result.duration),
        result.max_memory_mb,
    );
    if let Some(init) = result.init {
        line.push_str(&format!("\tInit Duration: {:.2} ms", ms(init)));
    }
    line
}

/// A fresh folder for one environment's temporary files: on Lambda each environment has its own
/// `/tmp`; locally `TMPDIR` points at this (a function that hard-codes `/tmp` shares the host's —
/// listed in the README's differences).
fn environment_tmp_dir() -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("lambda-emulator-{}", std::process::id()))
        .join(uuid::Uuid::new_v4().simple().to_string())
}

/// The variables Lambda sets for a `provided.al2023` function.
fn lambda_variables(
    function: &FunctionConfig,
    config: &EmulatorConfig,
    runtime_api: &str,
) -> BTreeMap<String, String> {
    let task_root = task_root(&function.binary).display().to_string();
    let stream = format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid::Uuid::new_v4().simple()
    );
    [
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", task_root),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
    ]
    .into_iter()
    .chain(function.logging.variables())
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Lambda's `/var/task`: locally, the folder holding the binary (absolute, as the emulator
/// registers functions with absolute binary paths).
fn task_root(binary: &Path) -> &Path {
    binary
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
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
    let mut reader = BufReader::new(stream);
    while let Some(line) = capped_line(&mut reader, MAX_LOG_LINE).await {
        logs.line(&function, channel.last_request().as_deref(), &line);
    }
}

/// The longest line forwarded whole: CloudWatch Logs' limit on one log event (256 KB, "CloudWatch
/// Logs quotas"). A function printing more on one line (a runaway payload dump) must not make the
/// emulator hold it all in memory.
pub(crate) const MAX_LOG_LINE: usize = 256 * 1024;

/// The next line of `reader` (without its newline), cut at `max` bytes with a note of how much
/// was dropped; `None` at the end of the stream.
async fn capped_line(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
    max: usize,
) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(max as u64 + 1)
        .read_until(b'\n', &mut line)
        .await
        .ok()?;
    if read == 0 {
        return None;
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > max {
        // Over the cap with no end in sight: drop the rest of the line, counting it.
        let mut dropped = line.len() - max;
        line.truncate(max);
        loop {
            let mut rest = Vec::new();
            let n = (&mut *reader)
                .take(64 * 1024)
                .read_until(b'\n', &mut rest)
                .await
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            let ended = rest.last() == Some(&b'\n');
            dropped += n - usize::from(ended);
            if ended {
                break;
            }
        }
        let mut text = String::from_utf8_lossy(&line).into_owned();
        text.push_str(&format!(
            " … [line cut at {max} bytes; {dropped} more dropped]"
        ));
        return Some(text);
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

/// How Go (Lambda's init, which reports `Runtime exited with error: signal: killed`) names a
/// signal: the C library's description, lower case.
fn signal_name(signal: i32) -> String {
    match Signal::try_from(signal) {
        Ok(Signal::SIGKILL) => "killed".into(),
        Ok(Signal::SIGTERM) => "terminated".into(),
        Ok(Signal::SIGSEGV) => "segmentation fault".into(),
        Ok(Signal::SIGABRT) => "aborted".into(),
        Ok(Signal::SIGBUS) => "bus error".into(),
        Ok(Signal::SIGILL) => "illegal instruction".into(),
        Ok(Signal::SIGFPE) => "floating point exception".into(),
        Ok(Signal::SIGINT) => "interrupt".into(),
        Ok(other) => other.as_str().to_owned(),
        Err(_) => format!("signal {signal}"),
    }
}

/// Lambda's (Go) wording for how a runtime process ended.
fn describe_exit(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("signal: {}", signal_name(signal)),
            (None, None) => "exited".into(),
        },
        Err(error) => format!("wait failed: {error}"),
    }
}

/// No environment outlives the emulator, even one that is SIGKILLed and so cannot shut its
/// environments down: the runtime process asks the kernel for SIGKILL when its parent dies
/// (`prctl(PR_SET_PDEATHSIG)`). Environments run in their own process groups (so a freeze or a
/// shutdown reaches everything they started), which is also why nothing else would stop them.
///
/// Limits, as prctl(2) documents them: the signal follows the *thread* that forked, and
/// `Command::spawn` runs on a Tokio worker thread, which lives as long as the emulator's runtime;
/// and it reaches the runtime process only, not processes the function starts itself (on Lambda
/// those end with the sandbox). The emulator may die between fork and prctl; the child then sees
/// a different parent and exits instead of running unsupervised.
#[expect(
    unsafe_code,
    reason = "pre_exec is unsafe; the closure only makes async-signal-safe calls"
)]
fn die_with_the_emulator(command: &mut Command) {
    let emulator = nix::unistd::getpid();
    // SAFETY: runs in the forked child before exec; prctl and getppid are async-signal-safe
    // system calls, and the closure allocates nothing.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)?;
            if nix::unistd::getppid() != emulator {
                return Err(std::io::Error::other(
                    "the emulator exited during the spawn",
                ));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_over_the_cap_are_cut_and_the_next_line_is_whole() {
        let long = "x".repeat(100);
        let input = format!("short\n{long}\nafter\nno newline at the end");
        let mut reader = BufReader::new(input.as_bytes());
        assert_eq!(capped_line(&mut reader, 10).await.as_deref(), Some("short"));
        let cut = capped_line(&mut reader, 10).await.unwrap();
        assert!(
            cut.starts_with("xxxxxxxxxx … [line cut at 10 bytes; 90 more dropped]"),
            "{cut}"
        );
        assert_eq!(capped_line(&mut reader, 10).await.as_deref(), Some("after"));
        assert_eq!(
            capped_line(&mut reader, 100).await.as_deref(),
            Some("no newline at the end")
        );
        assert_eq!(capped_line(&mut reader, 10).await, None);
    }
}
