//! The floor: what the server allows for an order's shape, with nothing else in the way.
//!
//! `FloorWorkflow` makes the same round trips as `OrderWorkflow` on its happy path — one
//! workflow task to start, then four activities one after the other, each followed by a workflow
//! task — with the same activity options (heartbeat timeout, retry policy), but its activities do
//! nothing: no shop, no HTTP, no heartbeat. Run against the same dev server as the orders, its
//! latency is the lowest an order could have on this machine; an order's distance from it is what
//! ShopFlow's own work (and its worker's settings) cost.
//!
//! The worker runs in the benchmark's process on a thread of its own (the SDK's worker future is
//! not `Send`), on a task queue of its own, unversioned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use devstack::bench::Samples;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{Worker, WorkerOptions, WorkflowContext, WorkflowResult};
use tokio::sync::oneshot;

use super::anatomy::{Anatomies, Anatomy};

/// Steps of an order's happy path: reserve, charge, ship, notify.
const STEPS: u32 = 4;

pub struct NoopActivities;

#[activities]
impl NoopActivities {
    #[activity(name = "FloorNoop")]
    pub async fn noop(
        self: Arc<Self>,
        _ctx: ActivityContext,
        step: u32,
    ) -> Result<u32, ActivityError> {
        Ok(step)
    }
}

#[workflow]
#[derive(Default)]
pub struct FloorWorkflow;

#[workflow_methods]
impl FloorWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, steps: u32) -> WorkflowResult<u32> {
        let mut done = 0;
        for step in 0..steps {
            done += ctx
                .execute_activity(
                    NoopActivities::noop,
                    step,
                    shared::workflow::activity_options(Default::default()),
                )
                .await
                .map(|_| 1)
                .unwrap_or(0);
        }
        Ok(done)
    }
}

/// A floor worker polling `task_queue` until dropped.
pub struct FloorWorker {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FloorWorker {
    /// `eager`: activities handed back with the workflow task's completion (the SDK's default)
    /// or, as the Lambda worker does, each one through a poll.
    pub fn start(address: &str, namespace: &str, task_queue: &str, eager: bool) -> FloorWorker {
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (address, namespace, task_queue) = (
            address.to_owned(),
            namespace.to_owned(),
            task_queue.to_owned(),
        );
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("floor worker runtime");
            rt.block_on(async move {
                let client = shared::connection::connect_to(&address, &namespace)
                    .await
                    .expect("floor worker: connect");
                let mut options = WorkerOptions::new(&task_queue).build();
                if !eager {
                    options.max_eager_activity_reservations_per_workflow_task = 0;
                }
                options
                    .register_workflow::<FloorWorkflow>()
                    .expect("floor workflow");
                options.register_activities(NoopActivities);
                let runtime = temporalio_sdk::Runtime::from_current_tokio(Default::default())
                    .expect("floor worker: SDK runtime");
                let mut worker =
                    Worker::new(&runtime, client, options).expect("floor worker: worker");
                let shutdown = worker.shutdown_handle();
                tokio::spawn(async move {
                    let _ = stop_rx.await;
                    shutdown();
                });
                let _ = ready_tx.send(());
                worker.run().await.expect("floor worker ran");
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("floor worker started");
        FloorWorker {
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for FloorWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `n` floor workflows one after another: latencies (start → result, as for orders) and
/// anatomies. The first is a warm-up and not counted.
pub async fn run(client: &Client, task_queue: &str, n: usize) -> (Samples, Anatomies) {
    let mut latencies = Samples::default();
    let mut parts = Anatomies::default();
    for i in 0..=n {
        let id = format!("floor-{}", ulid::Ulid::new().to_string().to_lowercase());
        let t = Instant::now();
        let handle = client
            .start_workflow(
                FloorWorkflow::run,
                STEPS,
                WorkflowStartOptions::new(task_queue, id.clone()).build(),
            )
            .await
            .expect("start floor workflow");
        let done = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("floor workflow result");
        let latency = t.elapsed();
        assert_eq!(done, STEPS, "every no-op activity ran");
        if i > 0 {
            latencies.push(latency);
            parts.push(Anatomy::fetch(client, &id).await);
        }
    }
    (latencies, parts)
}
