//! What `run_worker`'s `configure` callback can set: registrations, the task queue, worker
//! tuning (pre-filled with the Lambda defaults), the client and its connection (as loaded from
//! `temporal.toml` and the environment), the SDK runtime's telemetry, and the lifecycle's own
//! knobs — including the two callbacks that run per invocation, the per-invocation configurator
//! and the shutdown hooks.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use temporalio_client::{ClientOptions, ConnectionOptions};
use temporalio_sdk::WorkerOptions;
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use tokio::time::Instant;

use crate::defaults::{self, default_shutdown_buffer};
use crate::environment::Environment;
use crate::lifecycle::Invocation;

/// What a shutdown hook is told: which invocation it ends, whether its worker ever started, and
/// the time by which every hook must be done.
#[derive(Debug, Clone)]
pub struct HookContext {
    /// The Lambda request ID of the invocation that just ended.
    pub request_id: String,
    /// False when connecting or starting the worker failed (the hooks run anyway, so telemetry
    /// of the failed attempt is flushed too).
    pub worker_started: bool,
    /// When the hooks' shared budget runs out; a hook still running then is cancelled and the
    /// ones after it are skipped. Use it to bound a flush (`tokio::time::timeout_at`).
    pub deadline: Instant,
}

impl HookContext {
    /// Time left of the hooks' budget.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// A boxed future that is `Send`, as hooks and configurators return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A hook run after every invocation's worker has stopped (e.g. flush telemetry).
pub type ShutdownHook = Box<dyn Fn(HookContext) -> BoxFuture<anyhow::Result<()>> + Send + Sync>;

/// A callback that adjusts the worker options for one invocation (see
/// [`LambdaWorkerOptions::per_invocation`]).
pub type InvocationConfigurator = Box<
    dyn Fn(Invocation, WorkerOptions) -> BoxFuture<anyhow::Result<WorkerOptions>> + Send + Sync,
>;

/// Options of a Lambda worker. Everything is pre-set; `configure` changes what it needs.
pub struct LambdaWorkerOptions {
    /// Task queue to poll. Pre-set from `TEMPORAL_TASK_QUEUE`; required one way or the other.
    pub task_queue: Option<String>,
    /// The SDK worker options, with the Lambda defaults applied: register workflows and
    /// activities here (`worker.register_workflow::<W>()`, `worker.register_activities(..)`),
    /// add worker, workflow or activity interceptors, override any default by assigning the
    /// field. Worker versioning stays on whatever is set here (the Worker Controller routes to
    /// versioned pollers only).
    pub worker: WorkerOptions,
    /// How to reach Temporal, as loaded from `temporal.toml` and the `TEMPORAL_*` variables:
    /// target, TLS, API key, gRPC `headers`, the client `metrics_meter`, keep-alive, retries.
    pub connection: ConnectionOptions,
    /// The client the workers run on, as loaded (its namespace): set a `data_converter` (payload
    /// codec, failure converter) or `client_interceptors` here.
    pub client: ClientOptions,
    /// The SDK runtime the workers share: its `TelemetryOptions` (metrics exporter, logging) and
    /// worker heartbeats. Built once, at the first invocation of an environment.
    pub runtime: RuntimeOptions,
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
    pub(crate) per_invocation: Option<InvocationConfigurator>,
    environment: Environment,
}

impl LambdaWorkerOptions {
    /// Options with the Lambda defaults, on the loaded connection and client; `task_queue` as
    /// found in the environment.
    pub(crate) fn with_defaults(
        environment: Environment,
        task_queue: Option<String>,
        connection: ConnectionOptions,
        client: ClientOptions,
    ) -> Self {
        let mut worker = WorkerOptions::new(task_queue.clone().unwrap_or_default()).build();
        apply_worker_defaults(&mut worker);
        Self {
            task_queue,
            worker,
            connection,
            client,
            runtime: RuntimeOptions::default(),
            shutdown_buffer: default_shutdown_buffer(),
            idle_exit: None,
            reuse_client: true,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            longest_activity_start_to_close: None,
            shutdown_hooks: Vec::new(),
            per_invocation: None,
            environment,
        }
    }

    /// A variable of the environment setup read (the process's, in a function), trimmed; `None`
    /// when unset or blank. Read settings here rather than from `std::env`, so a test can hand
    /// setup an environment of its own.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment.get(name)
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

    /// Run `hook` after each invocation's worker stopped, and after a failed connect or start.
    /// All hooks together get the hook budget ([`defaults::SHUTDOWN_HOOK_BUFFER`], 2 s, or less
    /// when the shutdown buffer is shorter); each is told when it runs out
    /// ([`HookContext::deadline`]). Errors are logged, not fatal; hooks run in the order added.
    pub fn on_shutdown<F, Fut>(&mut self, hook: F)
    where
        F: Fn(HookContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.shutdown_hooks
            .push(Box::new(move |context| Box::pin(hook(context))));
    }

    /// Adjust the worker options for each invocation, asynchronously, with the invocation in
    /// hand (its request ID, function ARN and time left) — what Python's and .NET's per-invocation
    /// configure and Java's invocation configurator allow, e.g. fetching a rotated setting or
    /// tagging the worker with the request. It receives a copy of the options `configure` left
    /// and returns the ones to start this invocation's worker with; an error fails the
    /// invocation before the worker starts (the shutdown hooks still run). The identity and
    /// worker versioning are applied after it, as for `configure`.
    pub fn per_invocation<F, Fut>(&mut self, configurator: F)
    where
        F: Fn(Invocation, WorkerOptions) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<WorkerOptions>> + Send + 'static,
    {
        self.per_invocation = Some(Box::new(move |invocation, worker| {
            Box::pin(configurator(invocation, worker))
        }));
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
pub(crate) mod tests {
    use super::*;

    /// Options as setup makes them, on a local connection.
    pub(crate) fn options(task_queue: Option<&str>) -> LambdaWorkerOptions {
        let connection = ConnectionOptions::new(
            temporalio_client::Url::parse("http://127.0.0.1:7233").expect("a valid URL"),
        )
        .build();
        LambdaWorkerOptions::with_defaults(
            Environment::default(),
            task_queue.map(str::to_owned),
            connection,
            ClientOptions::new("default").build(),
        )
    }

    #[test]
    fn an_idle_exit_shorter_than_the_controllers_signal_interval_is_warned_about() {
        let mut o = options(None);
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
}
