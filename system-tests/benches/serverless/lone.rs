//! The lone order: how long an order that arrives when no Lambda invocation runs waits for one,
//! on a server whose Worker Controller runs with the settings a real server ships with.
//!
//! Why it needs its own part: devstack starts the dev server with the controller's task-add hook
//! signalling at most every 1 ms on one task-queue partition, so the benchmark's other parts never
//! meet the hook's hold. A real server signals at most every 500 ms per partition, keeps what
//! arrives in between for the *next* task added to that partition (no timer), and spreads a
//! queue over four partitions. An order whose first task lands in that window can wait until
//! another task reaches the same partition — or the controller's backlog check, minutes later.
//!
//! Each trial places one order at a set moment: around the worker's idle exit after the previous
//! order (the invocation may be stopping), or a set time after that invocation ended (0 ms to
//! 3 s) — so the orders meet an invocation that is stopping, one just gone and a quiet queue. It
//! runs on both servers (devstack's and the defaults) and with two idle exits (2 s, the default,
//! and 300 ms, under the hook's 500 ms), one stack at a time so the phases are not blurred by
//! another stack's load. An order not picked up within [`HELD`] is counted as held and
//! terminated, so it cannot serve as the next trial's flush. What the rows showed (300 ms can
//! strand a lone order, 2 s did not) is why `temporal-lambda-worker` warns below 500 ms.

use std::time::Duration;

use devstack::bench::{BenchReport, Samples};
use temporalio_client::WorkflowTerminateOptions;

use crate::helpers::{EmulatorTuning, Options, TestApp};
use crate::{Comparison, first_lambda_task, lambda, stats, stock_up, until_no_invocation_runs};

const SECTION: &str = "a lone order waits for an invocation (start → first task on Lambda)";

/// An order not picked up within this is held (the controller's backlog check runs 5 minutes
/// after it starts, then rarely: waiting for it would make each such trial cost minutes).
const HELD: Duration = Duration::from_secs(30);

/// When a trial's order is placed.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// This long after the previous order completed, around the moment the worker's idle exit
    /// fires (`idle exit` + this, negative is before): the invocation may be stopping.
    AroundIdleExit(i64),
    /// This many milliseconds after the previous invocation ended (seen by polling the
    /// emulator's counters every millisecond).
    AfterEnd(u64),
}

const PHASES: [Phase; 8] = [
    Phase::AroundIdleExit(-20),
    Phase::AroundIdleExit(60),
    Phase::AfterEnd(0),
    Phase::AfterEnd(20),
    Phase::AfterEnd(100),
    Phase::AfterEnd(250),
    Phase::AfterEnd(450),
    Phase::AfterEnd(3_000),
];

/// Runs the lone-order trials: `2 n` per stack (holds are rare events), phases in turn.
pub async fn run(n: usize, dir: &std::path::Path, report: &mut BenchReport) {
    let servers: [(&str, Vec<String>); 2] = [
        ("devstack's server (hook 1 ms, 1 partition)", Vec::new()),
        (
            "server defaults (hook 500 ms, 4 partitions)",
            devstack::WORKER_CONTROLLER_SERVER_DEFAULTS
                .map(str::to_owned)
                .to_vec(),
        ),
    ];
    for (idle_exit, idle_exit_ms) in [("2s", 2_000), ("300ms", 300)] {
        let mut comparison = Comparison::default();
        for (label, dynamic_config) in &servers {
            let app = TestApp::spawn_tuned(
                Options {
                    local_worker: false,
                    lambda: lambda(60, idle_exit),
                },
                EmulatorTuning {
                    log_dir: dir.join(format!("lone-{idle_exit}-{}", dynamic_config.len())),
                    // Warm environments, as Lambda keeps them for minutes between orders.
                    environment_idle_timeout: Duration::from_secs(600),
                    temporal_dynamic_config: dynamic_config.clone(),
                    ..EmulatorTuning::default()
                },
            )
            .await;
            stock_up(&app).await;
            let trials = trials(&app, 2 * n, idle_exit_ms).await;
            let what = format!("{label}, idle exit {idle_exit}");
            comparison.add(report, trials.waits.row(SECTION, &what).note(trials.note()));
        }
    }
}

/// What the trials of one stack saw.
#[derive(Default)]
struct Trials {
    /// Order start → its first task started on Lambda, for the orders picked up in time.
    waits: Samples,
    /// Orders not picked up within [`HELD`] (terminated): when each was placed.
    held: Vec<String>,
    /// Invocations the controller started, over all trials.
    invocations: u64,
    /// Orders placed, the one setting the scene included.
    orders: usize,
}

impl Trials {
    fn note(&self) -> String {
        let mut note = format!(
            "placed at {PHASES:?} (ms) in turn; {} invocations for {} orders",
            self.invocations, self.orders
        );
        if self.held.is_empty() {
            note.push_str("; none held");
        } else {
            note.push_str(&format!(
                "; {} held > {} s (placed: {}; terminated, not counted)",
                self.held.len(),
                HELD.as_secs(),
                self.held.join(", ")
            ));
        }
        note
    }

    /// Places one order and waits for it: its wait for a Lambda task, or `None` if it was held.
    async fn place(&mut self, app: &TestApp, placed: &str) -> Option<Duration> {
        let order = app.order(|_| {});
        let started = app.start(&order).await.expect("start order");
        self.orders += 1;
        let finished = tokio::time::timeout(
            HELD,
            shared::orders::outcome(&app.client, &started.workflow_id),
        )
        .await;
        let Ok(outcome) = finished else {
            self.held.push(placed.to_owned());
            shared::orders::handle(&app.client, &started.workflow_id)
                .terminate(
                    WorkflowTerminateOptions::builder()
                        .reason("benchmark: held by the Worker Controller's hook")
                        .build(),
                )
                .await
                .expect("terminating a held order");
            return None;
        };
        let outcome = outcome.expect("order outcome");
        assert!(outcome.is_completed(), "{outcome:?}");
        match first_lambda_task(app, &started.workflow_id, None).await {
            Some(Ok(wait)) => Some(wait),
            other => {
                println!("  (lone order not timed: {other:?})");
                None
            }
        }
    }
}

async fn trials(app: &TestApp, n: usize, idle_exit_ms: i64) -> Trials {
    let mut trials = Trials::default();
    until_no_invocation_runs(app).await; // the registration invocation
    let before = stats(app).invocations;
    // The first order only sets the scene (a previous order to be placed after); it can be held
    // too, right after the registration invocation.
    trials.place(app, "after registration").await;
    for i in 0..n {
        let phase = PHASES[i % PHASES.len()];
        match phase {
            Phase::AroundIdleExit(ms) => {
                tokio::time::sleep(Duration::from_millis((idle_exit_ms + ms).max(0) as u64)).await
            }
            Phase::AfterEnd(ms) => {
                while stats(app).concurrent_executions > 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        if let Some(wait) = trials.place(app, &format!("{phase:?}")).await {
            trials.waits.push(wait);
        }
    }
    until_no_invocation_runs(app).await;
    trials.invocations = stats(app).invocations - before;
    trials
}
