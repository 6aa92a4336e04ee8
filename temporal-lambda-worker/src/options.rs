//! What `run_worker`'s `configure` callback can set: registrations, the task queue, worker
//! tuning (pre-filled with the Lambda defaults), and the lifecycle's own knobs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use temporalio_sdk::WorkerOptions;
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};

use crate::defaults::{self, default_shutdown_buffer};

/// A hook run after every invocation's worker has stopped (e.g. flush telemetry).
pub type ShutdownHook =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

/// Options of a Lambda worker. Everything is pre-set; `configure` changes what it needs.
pub struct LambdaWorkerOptions {
    /// Task queue to poll. Pre-set from `TEMPORAL_TASK_QUEUE`; required one way or the other.
    pub task_queue: Option<String>,
    /// The SDK worker options, with the Lambda defaults applied: register workflows and
    /// activities here (`worker.register_workflow::<W>()`, `worker.register_activities(..)`),
    /// override any default by assigning the field.
    pub worker: WorkerOptions,
    /// How long before the invocation deadline the worker is told to stop: its stop timeout
    /// (`worker.graceful_shutdown_period`) plus time for the shutdown hooks. Default 7 s.
    pub shutdown_buffer: Duration,
    /// End the invocation once no task has run for this long, instead of polling until the
    /// deadline. Safe because the Worker Controller invokes the function again when tasks wait
    /// and nobody polls; saves billed time. `None` polls until the deadline (Go's behaviour).
    /// Below [`defaults::MIN_SAFE_IDLE_EXIT`] (500 ms) a warning is logged at start: a task
    /// arriving just after such an invocation ended can wait minutes for the next one.
    pub idle_exit: Option<Duration>,
    /// Keep the Temporal client across warm invocations of one execution environment (a new
    /// connection costs a TLS handshake to Temporal Cloud). Default on.
    pub reuse_client: bool,
    /// How long connecting to Temporal may take before the invocation fails with a clear error.
    /// Default [`defaults::CONNECT_TIMEOUT`] (5 s).
    pub connect_timeout: Duration,
    /// The longest StartToClose of any activity this worker runs, if known: the function timeout
    /// is then checked against it (+ 7 s) and a warning logged when it is too short.
    pub longest_activity_start_to_close: Option<Duration>,
    pub(crate) shutdown_hooks: Vec<ShutdownHook>,
}

impl LambdaWorkerOptions {
    /// Options with the Lambda defaults; `task_queue` as found in the environment.
    pub fn with_defaults(task_queue: Option<String>) -> Self {
        let mut worker = WorkerOptions::new(task_queue.clone().unwrap_or_default()).build();
        apply_worker_defaults(&mut worker);
        Self {
            task_queue,
            worker,
            shutdown_buffer: default_shutdown_buffer(),
            idle_exit: None,
            reuse_client: true,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            longest_activity_start_to_close: None,
            shutdown_hooks: Vec::new(),
        }
    }

    /// Why this idle exit can strand a lone task, if it can (logged once at start).
    pub(crate) fn idle_exit_warning(&self) -> Option<String> {
        let idle_exit = self.idle_exit?;
        (idle_exit < defaults::MIN_SAFE_IDLE_EXIT).then(|| {
            format!(
                "idle exit {idle_exit:?} is shorter than the Worker Controller's task-signal interval \
                 ({:?} unless the server was configured otherwise): a task that arrives just after \
                 an invocation idle-exits can wait minutes for the next invocation",
                defaults::MIN_SAFE_IDLE_EXIT
            )
        })
    }

    /// Run `hook` after each invocation's worker stopped. Errors are logged, not fatal.
    pub fn on_shutdown<F, Fut>(&mut self, hook: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.shutdown_hooks.push(Box::new(move || Box::pin(hook())));
    }
}

/// The Lambda-tuned worker settings (see [`crate::defaults`]).
pub fn apply_worker_defaults(worker: &mut WorkerOptions) {
    worker.tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(
            defaults::MAX_CONCURRENT_WORKFLOW_TASKS,
        ))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(
            defaults::MAX_CONCURRENT_ACTIVITIES,
        ))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
            defaults::MAX_CONCURRENT_LOCAL_ACTIVITIES,
        ))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(
            defaults::MAX_CONCURRENT_NEXUS_TASKS,
        ))
        .build()
        .into();
    worker.workflow_task_poller_behavior =
        Some(PollerBehavior::SimpleMaximum(defaults::WORKFLOW_POLLERS));
    worker.activity_task_poller_behavior =
        Some(PollerBehavior::SimpleMaximum(defaults::ACTIVITY_POLLERS));
    worker.max_cached_workflows = defaults::STICKY_CACHE_SIZE;
    worker.max_eager_activity_reservations_per_workflow_task =
        defaults::EAGER_ACTIVITIES_PER_WORKFLOW_TASK;
    worker.graceful_shutdown_period = Some(defaults::WORKER_STOP_TIMEOUT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_go_package() {
        let o = LambdaWorkerOptions::with_defaults(Some("q".into()));
        assert_eq!(o.worker.task_queue, "q");
        assert_eq!(o.worker.max_cached_workflows, 100);
        // Go turns eager activities off; this crate keeps the SDK's 3 (`defaults`, README).
        assert_eq!(
            o.worker.max_eager_activity_reservations_per_workflow_task,
            3
        );
        assert_eq!(
            o.worker.graceful_shutdown_period,
            Some(Duration::from_secs(5))
        );
        assert!(matches!(
            o.worker.workflow_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(2))
        ));
        assert!(matches!(
            o.worker.activity_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(1))
        ));
        assert_eq!(o.shutdown_buffer, Duration::from_secs(7));
        assert!(o.reuse_client);
        assert_eq!(o.connect_timeout, Duration::from_secs(5));
        assert!(o.idle_exit.is_none());
        let tuner = format!("{:?}", o.worker.tuner);
        assert!(tuner.contains("10") && tuner.contains("2"), "{tuner}");
    }

    #[test]
    fn an_idle_exit_shorter_than_the_controllers_signal_interval_is_warned_about() {
        let mut o = LambdaWorkerOptions::with_defaults(None);
        let warning = |o: &mut LambdaWorkerOptions, ms: Option<u64>| {
            o.idle_exit = ms.map(Duration::from_millis);
            o.idle_exit_warning()
        };
        let short = warning(&mut o, Some(300)).expect("300 ms is below 500 ms");
        assert!(
            short.contains("300ms") && short.contains("500ms"),
            "{short}"
        );
        assert!(warning(&mut o, Some(499)).is_some());
        assert_eq!(warning(&mut o, Some(500)), None);
        assert_eq!(warning(&mut o, Some(2_000)), None);
        assert_eq!(
            warning(&mut o, None),
            None,
            "polling to the deadline is safe"
        );
    }

    #[test]
    fn every_default_can_be_overridden() {
        let mut o = LambdaWorkerOptions::with_defaults(None);
        o.worker.max_cached_workflows = 7;
        o.worker.activity_task_poller_behavior = Some(PollerBehavior::SimpleMaximum(4));
        o.shutdown_buffer = Duration::from_secs(3);
        o.idle_exit = Some(Duration::from_secs(2));
        assert_eq!(o.worker.max_cached_workflows, 7);
        assert!(matches!(
            o.worker.activity_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(4))
        ));
    }
}
