//! Counting the tasks a worker runs, to know when it is idle.
//!
//! The SDK has no idle signal, so the worker is wrapped with two interceptors: one sees every
//! workflow activation start and complete, the other every activity execution. Together they keep
//! an in-flight count and the time of the last change. "Idle for 2 s" then means: nothing in
//! flight and nothing started or finished for 2 s.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};
use std::time::Duration;

// tokio's clock: the same as std's at run time, and pausable in tests.
use tokio::time::Instant;

use temporalio_common::protos::coresdk::workflow_activation::WorkflowActivation;
use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;
use temporalio_sdk::interceptors::{
    ActivityInboundInterceptor, ExecuteActivityInput, ExecuteActivityOutput, Next,
    WorkerInterceptor,
};

/// Shared counters of one worker's tasks.
#[derive(Debug)]
pub struct TaskTracker {
    in_flight: AtomicUsize,
    workflow_tasks: AtomicU64,
    activity_tasks: AtomicU64,
    last_change: Mutex<Instant>,
    /// Total time with at least one task in flight.
    busy: Mutex<(Duration, Option<Instant>)>,
}

/// A snapshot for the invocation report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskCounts {
    /// Workflow tasks started.
    pub workflow_tasks: u64,
    /// Activity tasks started.
    pub activity_tasks: u64,
    /// Time with at least one task running.
    pub busy: Duration,
}

impl Default for TaskTracker {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

impl TaskTracker {
    /// A tracker whose idle time counts from `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            workflow_tasks: AtomicU64::new(0),
            activity_tasks: AtomicU64::new(0),
            last_change: Mutex::new(now),
            busy: Mutex::new((Duration::ZERO, None)),
        }
    }

    /// A task of `kind` began.
    pub fn task_started(&self, kind: TaskKind) {
        let now = Instant::now();
        match kind {
            TaskKind::Workflow => self.workflow_tasks.fetch_add(1, Ordering::Relaxed),
            TaskKind::Activity => self.activity_tasks.fetch_add(1, Ordering::Relaxed),
        };
        if self.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.busy.lock().unwrap().1 = Some(now);
        }
        *self.last_change.lock().unwrap() = now;
    }

    /// A task ended (of either kind).
    pub fn task_finished(&self) {
        let now = Instant::now();
        // Saturate: an activation completion without a start we saw (e.g. an eviction) must not
        // wrap the count.
        let previous = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or(0);
        if previous == 1 {
            let mut busy = self.busy.lock().unwrap();
            if let Some(since) = busy.1.take() {
                busy.0 += now.saturating_duration_since(since);
            }
        }
        *self.last_change.lock().unwrap() = now;
    }

    /// Tasks running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// How long the worker has been idle at `now`: zero while a task runs.
    pub fn idle_for(&self, now: Instant) -> Duration {
        if self.in_flight() > 0 {
            return Duration::ZERO;
        }
        now.saturating_duration_since(*self.last_change.lock().unwrap())
    }

    /// The counters at `now`.
    pub fn counts(&self, now: Instant) -> TaskCounts {
        let busy = self.busy.lock().unwrap();
        let open = busy
            .1
            .map(|since| now.saturating_duration_since(since))
            .unwrap_or_default();
        TaskCounts {
            workflow_tasks: self.workflow_tasks.load(Ordering::Relaxed),
            activity_tasks: self.activity_tasks.load(Ordering::Relaxed),
            busy: busy.0 + open,
        }
    }
}

/// What kind of task ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// A workflow task (activation).
    Workflow,
    /// An activity task.
    Activity,
}

/// Sees workflow activations.
pub struct WorkflowTaskCounter(pub Arc<TaskTracker>);

#[async_trait::async_trait(?Send)]
impl WorkerInterceptor for WorkflowTaskCounter {
    async fn on_workflow_activation(
        &self,
        _activation: &WorkflowActivation,
    ) -> Result<(), anyhow::Error> {
        self.0.task_started(TaskKind::Workflow);
        Ok(())
    }

    async fn on_workflow_activation_completion(&self, _completion: &WorkflowActivationCompletion) {
        self.0.task_finished();
    }
}

/// Sees activity executions.
pub struct ActivityTaskCounter(pub Arc<TaskTracker>);

impl ActivityInboundInterceptor for ActivityTaskCounter {
    fn execute_activity<'a>(
        &'a self,
        input: ExecuteActivityInput,
        next: Next<'a, ExecuteActivityInput, ExecuteActivityOutput<'a>>,
    ) -> ExecuteActivityOutput<'a> {
        self.0.task_started(TaskKind::Activity);
        let tracker = self.0.clone();
        let run = next.run(input);
        Box::pin(async move {
            // Counted as finished even if the future is dropped (cancelled) mid-way.
            struct Done(Arc<TaskTracker>);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.task_finished();
                }
            }
            let _done = Done(tracker);
            run.await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_only_when_nothing_is_in_flight() {
        let t0 = Instant::now();
        let tracker = TaskTracker::new(t0);
        tracker.task_started(TaskKind::Workflow);
        tracker.task_started(TaskKind::Activity);
        assert_eq!(
            tracker.idle_for(Instant::now() + Duration::from_secs(60)),
            Duration::ZERO
        );
        tracker.task_finished();
        assert_eq!(
            tracker.idle_for(Instant::now() + Duration::from_secs(60)),
            Duration::ZERO
        );
        tracker.task_finished();
        let later = Instant::now() + Duration::from_secs(3);
        assert!(tracker.idle_for(later) >= Duration::from_secs(3) - Duration::from_millis(50));
        let c = tracker.counts(Instant::now());
        assert_eq!((c.workflow_tasks, c.activity_tasks), (1, 1));
    }

    #[test]
    fn unmatched_finish_does_not_wrap() {
        let tracker = TaskTracker::default();
        tracker.task_finished();
        assert_eq!(tracker.in_flight(), 0);
    }
}
