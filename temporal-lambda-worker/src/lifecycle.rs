//! One invocation, start to finish: admit it, start a worker, poll until the deadline minus the
//! shutdown buffer (or until idle, or until the environment shuts down), stop the worker
//! gracefully, run the hooks, report.
//!
//! The outside world — connecting to Temporal, building the SDK worker — comes in through
//! [`WorkerHost`], so every branch of this loop is unit-tested with a fake host and no network.

use std::sync::Arc;
use std::time::Duration;

// tokio's clock: the same as std's at run time, and pausable in tests.
use tokio::time::Instant;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::deadline::{Admission, admit};
use crate::options::{HookContext, ShutdownHook};
use crate::report::{EndReason, InvocationReport};
use crate::tracking::TaskTracker;

/// A started worker for one invocation.
#[async_trait::async_trait(?Send)]
pub trait InvocationWorker {
    /// A handle that asks the worker to stop (stop polling, drain, give up after its grace
    /// period). Callable from anywhere, any number of times.
    fn stopper(&self) -> Box<dyn Fn() + Send + Sync>;
    /// Run until stopped; `Err` if the worker failed on its own.
    async fn run(&mut self) -> Result<(), String>;
}

/// A worker that has been started, and what it cost to get there.
pub struct StartedWorker<W> {
    /// The worker, ready to run.
    pub worker: W,
    /// Time spent connecting to Temporal (zero for a reused client).
    pub connect: Duration,
    /// Whether the environment's kept client was used.
    pub client_reused: bool,
}

/// Where workers come from.
#[async_trait::async_trait(?Send)]
pub trait WorkerHost {
    /// The workers it starts.
    type Worker: InvocationWorker;
    /// Start a worker for `invocation`, with this identity, whose tasks are counted by
    /// `tracker`.
    async fn start_worker(
        &self,
        invocation: &Invocation,
        identity: &str,
        tracker: Arc<TaskTracker>,
    ) -> Result<StartedWorker<Self::Worker>, String>;
    /// The worker failed: whatever the host cached (a client) may be broken.
    fn worker_failed(&self);
}

/// The invocation as Lambda describes it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Lambda's request ID (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// The ARN the function was invoked with (with its version or alias, if any).
    pub function_arn: String,
    /// Time until the invocation deadline, measured at its start.
    pub remaining: Duration,
}

/// The lifecycle's settings (from [`crate::LambdaWorkerOptions`]).
#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    /// `AWS_LAMBDA_FUNCTION_NAME`, for the report.
    pub function_name: String,
    /// How long before the deadline the worker is told to stop.
    pub shutdown_buffer: Duration,
    /// Stop after this long without a task (`None`: poll until the deadline).
    pub idle_exit: Option<Duration>,
    /// How often idleness is checked.
    pub idle_check_interval: Duration,
    /// The time all shutdown hooks together may take once the worker stopped.
    pub hook_budget: Duration,
    /// The identity `configure` set, which wins over the per-invocation default.
    pub identity: Option<String>,
}

/// Runs the shutdown hooks in order. They share one budget, however many there are and however
/// long each takes: the time the shutdown buffer set aside for them, which each is told
/// ([`HookContext::deadline`]); a failing hook is logged and the rest still run.
async fn run_hooks(
    hooks: &[ShutdownHook],
    budget: Duration,
    request_id: &str,
    worker_started: bool,
) {
    let context = HookContext {
        request_id: request_id.to_owned(),
        worker_started,
        deadline: Instant::now() + budget,
    };
    for hook in hooks {
        match tokio::time::timeout_at(context.deadline, hook(context.clone())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(request_id, "shutdown hook failed: {e:#}"),
            Err(_) => {
                warn!(
                    request_id,
                    ?budget,
                    "shutdown hooks ran out of their time budget; the rest are skipped"
                );
                break;
            }
        }
    }
}

/// How long a worker asked to stop may take before it is abandoned: the shutdown buffer minus
/// the hooks' budget (the worker's own stop timeout, by default), plus a second for the SDK to
/// wind down after it cancelled what still ran.
fn drain_limit(settings: &LifecycleSettings) -> Duration {
    settings
        .shutdown_buffer
        .saturating_sub(settings.hook_budget)
        + Duration::from_secs(1)
}

/// Why an invocation failed (what Lambda is told as the invocation's error).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// Too little time to start a worker.
    #[error("{0}")]
    Refused(String),
    /// Connecting, the per-invocation configurator or building the worker failed.
    #[error("could not start the worker: {0}")]
    Start(String),
    /// The worker failed while polling, or did not stop when asked.
    #[error("the worker failed: {0}")]
    Worker(String),
}

/// Run one invocation. `environment_stopping` turns true when the execution environment is
/// being shut down (SIGTERM).
pub async fn run_invocation<H: WorkerHost>(
    host: &H,
    invocation: &Invocation,
    settings: &LifecycleSettings,
    hooks: &[ShutdownHook],
    mut environment_stopping: watch::Receiver<bool>,
) -> (InvocationReport, Result<(), InvocationError>) {
    let started_at = Instant::now();
    let mut report = InvocationReport {
        function_name: settings.function_name.clone(),
        request_id: invocation.request_id.clone(),
        workflow_tasks: 0,
        activity_tasks: 0,
        work: Duration::ZERO,
        idle: Duration::ZERO,
        duration: Duration::ZERO,
        connect: Duration::ZERO,
        startup: Duration::ZERO,
        stop: Duration::ZERO,
        client_reused: false,
        end_reason: EndReason::Refused,
    };

    let work_time = match admit(invocation.remaining, settings.shutdown_buffer) {
        Admission::Refuse { reason } => {
            warn!(request_id = %invocation.request_id, "{reason}");
            return (report, Err(InvocationError::Refused(reason)));
        }
        Admission::AcceptWithWarning { work_time, warning } => {
            warn!(request_id = %invocation.request_id, "{warning}");
            work_time
        }
        Admission::Accept { work_time } => work_time,
    };
    let stop_at = started_at + work_time;

    let identity = crate::defaults::worker_identity(
        settings.identity.as_deref(),
        &invocation.request_id,
        &invocation.function_arn,
    );
    let tracker = Arc::new(TaskTracker::new(started_at));
    let StartedWorker {
        mut worker,
        connect,
        client_reused,
    } = match host
        .start_worker(invocation, &identity, tracker.clone())
        .await
    {
        Ok(w) => w,
        Err(e) => {
            host.worker_failed();
            // What the hooks flush (telemetry of this invocation) is there after a failed
            // start too.
            run_hooks(hooks, settings.hook_budget, &invocation.request_id, false).await;
            report.end_reason = EndReason::WorkerError;
            report.duration = started_at.elapsed();
            return (report, Err(InvocationError::Start(e)));
        }
    };
    report.connect = connect;
    report.startup = started_at.elapsed();
    report.client_reused = client_reused;
    info!(request_id = %invocation.request_id, identity, ?work_time, client_reused, "worker polling");

    let stop = worker.stopper();
    let mut stopping_since = None;
    let (end_reason, result) = {
        let run = worker.run();
        tokio::pin!(run);
        let reason = tokio::select! {
            result = &mut run => {
                // Stopped by itself: that is an error (nothing asked it to stop).
                let error = result.err().unwrap_or_else(|| "the worker stopped unexpectedly".to_owned());
                host.worker_failed();
                (EndReason::WorkerError, Err(InvocationError::Worker(error)))
            }
            reason = stop_condition(stop_at, settings, &tracker, &mut environment_stopping) => {
                stopping_since = Some(Instant::now());
                stop();
                // The SDK's own graceful period normally ends the drain; this outer bound keeps a
                // worker that never stops (a hung activity ignoring cancellation, a stuck poll)
                // from running into the invocation's deadline, where Lambda would kill the
                // environment and report a timeout instead of this invocation's result.
                let limit = drain_limit(settings);
                match tokio::time::timeout(limit, &mut run).await {
                    Ok(Ok(())) => (reason, Ok(())),
                    Ok(Err(e)) => {
                        host.worker_failed();
                        (reason, Err(InvocationError::Worker(e)))
                    }
                    Err(_) => {
                        host.worker_failed();
                        warn!(request_id = %invocation.request_id, ?limit, "the worker did not stop in time; abandoning it");
                        (reason, Err(InvocationError::Worker(format!("the worker did not stop within {limit:?} of being asked to"))))
                    }
                }
            }
        };
        reason
    };
    drop(worker);
    report.stop = stopping_since.map(|t| t.elapsed()).unwrap_or_default();

    run_hooks(hooks, settings.hook_budget, &invocation.request_id, true).await;

    let counts = tracker.counts(Instant::now());
    report.end_reason = end_reason;
    report.workflow_tasks = counts.workflow_tasks;
    report.activity_tasks = counts.activity_tasks;
    report.work = counts.busy;
    report.duration = started_at.elapsed();
    report.idle = report.duration.saturating_sub(counts.busy + connect);
    info!(
        request_id = %invocation.request_id,
        end_reason = end_reason.as_str(),
        workflow_tasks = counts.workflow_tasks,
        activity_tasks = counts.activity_tasks,
        duration_ms = report.duration.as_millis() as u64,
        "worker stopped"
    );
    (report, result)
}

/// Resolves with why the worker should stop: deadline, idleness, or environment shutdown.
async fn stop_condition(
    stop_at: Instant,
    settings: &LifecycleSettings,
    tracker: &TaskTracker,
    environment_stopping: &mut watch::Receiver<bool>,
) -> EndReason {
    let deadline = tokio::time::sleep_until(stop_at);
    tokio::pin!(deadline);
    let mut idle_check = tokio::time::interval(settings.idle_check_interval);
    loop {
        tokio::select! {
            _ = &mut deadline => return EndReason::Deadline,
            changed = environment_stopping.changed() => {
                if changed.is_err() || *environment_stopping.borrow() {
                    return EndReason::Shutdown;
                }
            }
            _ = idle_check.tick(), if settings.idle_exit.is_some() => {
                if let Some(limit) = settings.idle_exit
                    && tracker.idle_for(Instant::now()) >= limit
                {
                    return EndReason::Idle;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::TaskKind;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    /// A worker that runs until stopped, optionally doing "tasks" on a script.
    struct FakeWorker {
        stop: Arc<Notify>,
        fail_with: Option<String>,
        tracker: Arc<TaskTracker>,
        busy_for: Option<Duration>,
        ignores_stop: bool,
        /// How long it takes to stop once asked (closing its polls).
        drain: Duration,
    }

    #[async_trait::async_trait(?Send)]
    impl InvocationWorker for FakeWorker {
        fn stopper(&self) -> Box<dyn Fn() + Send + Sync> {
            let stop = self.stop.clone();
            Box::new(move || stop.notify_one())
        }
        async fn run(&mut self) -> Result<(), String> {
            if let Some(e) = self.fail_with.take() {
                return Err(e);
            }
            if let Some(busy) = self.busy_for {
                self.tracker.task_started(TaskKind::Activity);
                tokio::time::sleep(busy).await;
                self.tracker.task_finished();
            }
            self.stop.notified().await;
            if self.ignores_stop {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(self.drain).await;
            Ok(())
        }
    }

    #[derive(Default)]
    struct FakeHost {
        starts: AtomicUsize,
        failures: AtomicUsize,
        fail_start: bool,
        fail_run: Option<String>,
        busy_for: Option<Duration>,
        ignores_stop: bool,
        drain: Duration,
        identities: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait(?Send)]
    impl WorkerHost for FakeHost {
        type Worker = FakeWorker;
        async fn start_worker(
            &self,
            _invocation: &Invocation,
            identity: &str,
            tracker: Arc<TaskTracker>,
        ) -> Result<StartedWorker<FakeWorker>, String> {
            self.starts.fetch_add(1, Ordering::SeqCst);
            self.identities.lock().unwrap().push(identity.to_owned());
            if self.fail_start {
                return Err("connection refused".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await; // "connecting"
            Ok(StartedWorker {
                worker: FakeWorker {
                    stop: Arc::new(Notify::new()),
                    fail_with: self.fail_run.clone(),
                    tracker,
                    busy_for: self.busy_for,
                    ignores_stop: self.ignores_stop,
                    drain: self.drain,
                },
                connect: Duration::from_millis(5),
                client_reused: false,
            })
        }
        fn worker_failed(&self) {
            self.failures.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn settings(idle_exit: Option<Duration>) -> LifecycleSettings {
        LifecycleSettings {
            function_name: "f".into(),
            shutdown_buffer: Duration::from_secs(7),
            idle_exit,
            idle_check_interval: Duration::from_millis(100),
            hook_budget: Duration::from_secs(2),
            identity: None,
        }
    }

    fn invocation(remaining_secs: u64) -> Invocation {
        Invocation {
            request_id: "req-1".into(),
            function_arn: "arn:aws:lambda:us-east-1:0:function:f".into(),
            remaining: Duration::from_secs(remaining_secs),
        }
    }

    /// One hook that counts its runs, and the counter.
    fn counting_hook() -> (Arc<AtomicUsize>, Vec<ShutdownHook>) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let hook: ShutdownHook = Box::new(move |_| {
            let counter = counter.clone();
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        });
        (runs, vec![hook])
    }

    fn no_shutdown() -> (watch::Sender<bool>, watch::Receiver<bool>) {
        watch::channel(false)
    }

    #[tokio::test(start_paused = true)]
    async fn polls_until_deadline_minus_buffer_then_runs_hooks() {
        let host = FakeHost::default();
        let (hook_runs, hooks) = counting_hook();
        let (_tx, rx) = no_shutdown();
        let t0 = tokio::time::Instant::now();
        let (report, result) =
            run_invocation(&host, &invocation(60), &settings(None), &hooks, rx).await;
        result.unwrap();
        assert_eq!(report.end_reason, EndReason::Deadline);
        assert_eq!(
            report.startup,
            Duration::from_millis(5),
            "invocation start → worker started"
        );
        let elapsed = t0.elapsed();
        assert!(
            elapsed >= Duration::from_secs(53) && elapsed < Duration::from_secs(54),
            "{elapsed:?}"
        );
        assert_eq!(hook_runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            host.identities.lock().unwrap()[0],
            "req-1@arn:aws:lambda:us-east-1:0:function:f"
        );
    }

    /// A user's identity from `configure` reaches the worker the host starts, every invocation.
    #[tokio::test(start_paused = true)]
    async fn the_users_identity_reaches_the_worker() {
        let host = FakeHost::default();
        let settings = LifecycleSettings {
            identity: Some("shop-worker-7".into()),
            ..settings(Some(Duration::from_secs(1)))
        };
        for _ in 0..2 {
            let (_tx, rx) = no_shutdown();
            let (_, result) = run_invocation(&host, &invocation(60), &settings, &[], rx).await;
            result.unwrap();
        }
        assert_eq!(
            *host.identities.lock().unwrap(),
            ["shop-worker-7", "shop-worker-7"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_an_invocation_with_a_second_or_less_of_work_time() {
        let host = FakeHost::default();
        let (_tx, rx) = no_shutdown();
        let (report, result) =
            run_invocation(&host, &invocation(8), &settings(None), &[], rx).await;
        assert!(matches!(result, Err(InvocationError::Refused(_))));
        assert_eq!(report.end_reason, EndReason::Refused);
        assert_eq!(
            host.starts.load(Ordering::SeqCst),
            0,
            "no worker for a refused invocation"
        );
    }

    /// The report's stop time is the worker's drain, from the moment it was asked to stop: the
    /// figure that says how long an ending invocation still looks like a poller.
    #[tokio::test(start_paused = true)]
    async fn the_report_times_the_stop() {
        let host = FakeHost {
            drain: Duration::from_millis(340),
            ..Default::default()
        };
        let (_tx, rx) = no_shutdown();
        let (report, result) = run_invocation(
            &host,
            &invocation(60),
            &settings(Some(Duration::from_secs(1))),
            &[],
            rx,
        )
        .await;
        result.unwrap();
        assert_eq!(report.end_reason, EndReason::Idle);
        assert_eq!(report.stop, Duration::from_millis(340));
        // A refused invocation never had a worker to stop.
        let (_tx, rx) = no_shutdown();
        let (refused, _) = run_invocation(&host, &invocation(8), &settings(None), &[], rx).await;
        assert_eq!(refused.stop, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_exit_ends_early_but_not_while_a_task_runs() {
        let host = FakeHost {
            busy_for: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let (_tx, rx) = no_shutdown();
        let t0 = tokio::time::Instant::now();
        let (report, result) = run_invocation(
            &host,
            &invocation(300),
            &settings(Some(Duration::from_secs(2))),
            &[],
            rx,
        )
        .await;
        result.unwrap();
        assert_eq!(report.end_reason, EndReason::Idle);
        let elapsed = t0.elapsed();
        // busy 5 s, then 2 s idle (checked every 100 ms)
        assert!(
            elapsed >= Duration::from_secs(7) && elapsed < Duration::from_millis(7_300),
            "{elapsed:?}"
        );
        assert_eq!(report.activity_tasks, 1);
        assert!(report.work >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn environment_shutdown_stops_the_worker() {
        let host = FakeHost::default();
        let (tx, rx) = no_shutdown();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            tx.send(true).unwrap();
        });
        let (report, result) =
            run_invocation(&host, &invocation(300), &settings(None), &[], rx).await;
        result.unwrap();
        assert_eq!(report.end_reason, EndReason::Shutdown);
        assert!(report.duration < Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_start_or_run_is_an_error_and_drops_cached_state() {
        let host = FakeHost {
            fail_start: true,
            ..Default::default()
        };
        let (hook_runs, hooks) = counting_hook();
        let (_tx, rx) = no_shutdown();
        let (_, result) =
            run_invocation(&host, &invocation(300), &settings(None), &hooks, rx).await;
        assert!(matches!(result, Err(InvocationError::Start(_))));
        assert_eq!(host.failures.load(Ordering::SeqCst), 1);
        assert_eq!(
            hook_runs.load(Ordering::SeqCst),
            1,
            "hooks run after a failed start too"
        );

        let host = FakeHost {
            fail_run: Some("poll failed".into()),
            ..Default::default()
        };
        let (_tx, rx) = no_shutdown();
        let (report, result) =
            run_invocation(&host, &invocation(300), &settings(None), &[], rx).await;
        assert!(matches!(result, Err(InvocationError::Worker(_))));
        assert_eq!(report.end_reason, EndReason::WorkerError);
        assert_eq!(host.failures.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_hook_is_logged_and_the_rest_still_run() {
        let host = FakeHost::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let hooks: Vec<ShutdownHook> = vec![
            Box::new(|_| Box::pin(async { Err(anyhow::anyhow!("flush failed")) })),
            Box::new(move |_| {
                let r = r.clone();
                Box::pin(async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
            }),
        ];
        let (_tx, rx) = no_shutdown();
        let (_, result) = run_invocation(&host, &invocation(20), &settings(None), &hooks, rx).await;
        result.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_that_never_stops_is_abandoned_before_the_deadline() {
        let host = FakeHost {
            ignores_stop: true,
            ..FakeHost::default()
        };
        let (_tx, rx) = no_shutdown();
        let started = Instant::now();
        let (report, result) =
            run_invocation(&host, &invocation(60), &settings(None), &[], rx).await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("did not stop within 6s"), "{err}");
        // Stop at 60 − 7 s, abandoned 6 s later: still a second before the deadline.
        assert_eq!(started.elapsed(), Duration::from_secs(59));
        assert_eq!(report.end_reason, EndReason::Deadline);
        assert_eq!(
            host.failures.load(Ordering::SeqCst),
            1,
            "the cached client is not trusted after that"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hooks_share_one_time_budget() {
        let host = FakeHost::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let slow = |r: Arc<AtomicUsize>| -> ShutdownHook {
            Box::new(move |_| {
                let r = r.clone();
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    r.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
            })
        };
        let hooks = vec![slow(ran.clone()), slow(ran.clone()), slow(ran.clone())];
        let (_tx, rx) = no_shutdown();
        let started = Instant::now();
        let (_, result) = run_invocation(&host, &invocation(20), &settings(None), &hooks, rx).await;
        result.unwrap();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "the second hook was cut off at the 2 s budget, the third skipped"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(13 + 2));
    }

    /// Hooks run in the order added, each told the invocation, whether its worker started and
    /// the deadline of their shared budget, after a successful run and after a failed start.
    #[tokio::test(start_paused = true)]
    async fn hooks_run_in_order_and_are_told_their_deadline() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recording = |name: &'static str| -> ShutdownHook {
            let seen = seen.clone();
            Box::new(move |context: HookContext| {
                let seen = seen.clone();
                Box::pin(async move {
                    seen.lock()
                        .unwrap()
                        .push((name, context.clone(), Instant::now()));
                    Ok(())
                })
            })
        };
        let hooks = vec![recording("first"), recording("second")];
        for fail_start in [false, true] {
            seen.lock().unwrap().clear();
            let host = FakeHost {
                fail_start,
                ..Default::default()
            };
            let (_tx, rx) = no_shutdown();
            let _ = run_invocation(&host, &invocation(20), &settings(None), &hooks, rx).await;
            let seen = seen.lock().unwrap();
            let names: Vec<_> = seen.iter().map(|(name, ..)| *name).collect();
            assert_eq!(names, ["first", "second"], "fail_start {fail_start}");
            for (_, context, ran_at) in seen.iter() {
                assert_eq!(context.request_id, "req-1");
                assert_eq!(context.worker_started, !fail_start);
                assert_eq!(
                    context.deadline - *ran_at,
                    Duration::from_secs(2),
                    "the whole 2 s budget is left for a hook that runs at once"
                );
            }
        }
    }

    /// One environment serves invocation after invocation: each starts its own worker with its
    /// own identity, ends on its own (idle here), and runs the hooks — none leaks into the next.
    #[tokio::test(start_paused = true)]
    async fn several_invocations_in_a_row_each_start_stop_and_run_hooks() {
        let host = FakeHost {
            busy_for: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let (hook_runs, hooks) = counting_hook();
        let settings = settings(Some(Duration::from_secs(1)));
        for n in 1..=3 {
            let invocation = Invocation {
                request_id: format!("req-{n}"),
                ..invocation(60)
            };
            let (_tx, rx) = no_shutdown();
            let (report, result) = run_invocation(&host, &invocation, &settings, &hooks, rx).await;
            result.unwrap();
            assert_eq!(report.end_reason, EndReason::Idle, "invocation {n}");
            assert_eq!(report.request_id, format!("req-{n}"));
            assert_eq!(report.activity_tasks, 1, "counts are per invocation");
            assert_eq!(host.starts.load(Ordering::SeqCst), n);
            assert_eq!(hook_runs.load(Ordering::SeqCst), n);
        }
        let identities = host.identities.lock().unwrap();
        assert_eq!(
            identities
                .iter()
                .map(|i| i.split('@').next().unwrap())
                .collect::<Vec<_>>(),
            ["req-1", "req-2", "req-3"]
        );
        assert_eq!(host.failures.load(Ordering::SeqCst), 0);
    }
}
