//! The chaos test: many orders while everything that can go wrong does — the local worker is
//! SIGKILLed and restarted at random, the Lambda invocations that take over reach their deadline
//! mid-activity, and the shop's services fail a fifth of their calls and lose some answers.
//!
//! What must hold whatever happens: every order ends Completed or Compensated, as its kind says;
//! no order runs twice; and the shop's ledger shows every charge either kept with one shipment or
//! refunded, stock conserved, and no effect done twice (`devstack::shop::check_invariants`).
//!
//! It prints a summary (orders by outcome, kills, invocations and how they ended, faults
//! injected, wall time) — numbers to read, not to assert on: the machine is shared and noisy.
//! `SHOPFLOW_CHAOS_SEED` replays a run's plan; `SHOPFLOW_CHAOS_ORDERS` sets how many orders.

#[path = "../support/app.rs"]
mod helpers;
mod logs;
mod plan;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use devstack::shop::{Ending, check_invariants};
use helpers::{LambdaOptions, Options, TestApp, WORKER_FUNCTION};
use plan::{Kind, PlannedOrder};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shared::OrderOutcome;
use shared::domain::Order;
use shared::orders::{StartError, WorkerKind};
use temporalio_client::{Client, WorkflowCountOptions};

/// The Lambda worker's function timeout. Its invocations stop polling 7 s before the deadline
/// (the worker's 5 s stop grace + 2 s for hooks), so each works 3 s and lets a running activity
/// finish within 8 s of its start — a shop call slower than that is cut off by the deadline.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than an invocation's 8 s of work time and stop grace.
const SLOW_SHOP_MS: u64 = 10_000;
/// An invocation that ran this long (its 3 s of work time + 5 s of stop grace, less a margin)
/// still had an activity running when the grace ran out: the deadline cut it off.
const CUT_OFF_AFTER: Duration = Duration::from_millis(7_500);
/// A fifth of the shop's calls fail before doing anything; some of those that succeed lose their
/// answer, so the retry must be answered from the idempotency store.
const ERROR_RATE: f64 = 0.2;
const LOST_RESPONSE_RATE: f64 = 0.05;

/// The fault settings for every service; `slow` adds latency during a slow outage.
fn faults(slow: bool) -> serde_json::Value {
    serde_json::json!({
        "errorRate": ERROR_RATE,
        "lostResponseRate": LOST_RESPONSE_RATE,
        "latencyMs": if slow { SLOW_SHOP_MS } else { 0 },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_order_ends_as_its_kind_says_and_the_ledger_holds_through_kills_deadlines_and_faults()
{
    let wall = Instant::now();
    let seed = plan::seed();
    println!("chaos seed {seed} (replay with {}={seed})", plan::SEED_VAR);
    let mut rng = StdRng::seed_from_u64(seed);

    let lambda_logs = devstack::paths::logs_dir().join(format!(
        "chaos-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    let options = Options {
        local_worker: true,
        lambda: Some(LambdaOptions {
            timeout: LAMBDA_TIMEOUT,
            idle_exit: "1s",
        }),
    };
    let mut app = TestApp::spawn_with_lambda_log_dir(options, lambda_logs.clone()).await;
    until_no_invocation_runs(&app, Duration::from_secs(60)).await; // the registration invocation
    for (sku, _) in plan::STOCKED {
        app.set_stock(sku, i64::from(plan::DEEP_STOCK)).await;
    }
    app.set_stock(plan::SOLD_OUT.0, 0).await;
    let initial_stock = app.stock().await;
    let shop_log = logs::ShopLog::from_now(&app.shop_url);
    app.set_faults(faults(false)).await;

    let planned = plan::orders(&mut rng, plan::order_count());
    let orders: Vec<(PlannedOrder, Order)> = planned
        .into_iter()
        .map(|p| (p.clone(), app.order(|v| p.apply(v))))
        .collect();
    let placing = tokio::spawn(place(
        app.client.clone(),
        app.setup.task_queue.clone(),
        orders.clone(),
    ));
    let chaos = run_outages(&mut app, &mut rng, &placing).await;
    let duplicates_refused = placing.await.expect("placing orders");
    let placed_in = wall.elapsed();

    // Every order ends, as its kind says.
    let mut endings = HashMap::new();
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut on_lambda = 0;
    for (planned, order) in &orders {
        let workflow_id = shared::workflow_id(&order.order_id);
        let outcome = app.outcome(&workflow_id).await;
        let ending = match &outcome {
            OrderOutcome::Completed { .. } => Ending::Completed,
            OrderOutcome::Compensated { .. } => Ending::Compensated,
        };
        endings.insert(order.order_id.to_string(), ending);
        *by_outcome.entry(describe(&outcome)).or_default() += 1;
        if let Err(problem) = check_outcome(planned.kind, &outcome) {
            wrong.push(format!("{workflow_id} ({:?}): {problem}", planned.kind));
        }
        let identities = app.task_identities(&workflow_id).await;
        on_lambda += usize::from(
            identities
                .iter()
                .any(|i| WorkerKind::of(i) == WorkerKind::Lambda),
        );
    }
    let all_done_in = wall.elapsed();

    let runs = order_runs(&app, orders.len()).await;
    let ledger = app
        .shop_admin
        .ledger(None)
        .await
        .expect("reading the ledger");
    let problems = check_invariants(&initial_stock, &ledger, &endings);

    until_no_invocation_runs(&app, Duration::from_secs(60)).await; // their EMF records are written at the end
    let stats = app
        .emulator
        .as_ref()
        .unwrap()
        .stats(WORKER_FUNCTION)
        .expect("worker function registered");
    let invocations = logs::invocations(&lambda_logs.join(format!("{WORKER_FUNCTION}.log")));
    let mut end_reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for invocation in &invocations {
        *end_reasons.entry(&invocation.end_reason).or_default() += 1;
    }
    let cut_off = invocations
        .iter()
        .filter(|i| i.end_reason == "deadline" && i.duration >= CUT_OFF_AFTER)
        .count();
    let requests = shop_log.requests();

    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (planned, _) in &orders {
        *kinds.entry(format!("{:?}", planned.kind)).or_default() += 1;
    }
    let summary = [
        format!("chaos summary (seed {seed})"),
        format!(
            "  orders: {} placed {kinds:?}; {duplicates_refused} resubmissions refused as duplicates",
            orders.len()
        ),
        format!("  outcomes: {by_outcome:?}"),
        format!("  workflow runs on the task queue: {runs}; orders with a step run by Lambda: {on_lambda}"),
        format!(
            "  local worker: {} SIGKILLs, {} of them during a slow shop ({SLOW_SHOP_MS} ms per call)",
            chaos.kills, chaos.slow
        ),
        format!(
            "  Lambda: {} invocations, {} cold starts, {} errors; ended by {end_reasons:?}; \
         {cut_off} cut off by their deadline mid-activity",
            stats.invocations, stats.cold_starts, stats.errors
        ),
        format!(
            "  shop: {} requests, {} injected faults (503), {} answered from the idempotency store",
            requests.total, requests.injected_faults, requests.replayed
        ),
        format!("  ledger: {} effects", ledger.effects.len()),
        format!(
            "  wall time: {:.1} s (orders placed and outages over after {:.1} s, all ended after {:.1} s)",
            wall.elapsed().as_secs_f64(),
            placed_in.as_secs_f64(),
            all_done_in.as_secs_f64()
        ),
    ]
    .join("\n");
    println!("{summary}");
    // The emulator forwards every line the Lambda worker logs to this test's output, which buries
    // the summary there: keep a copy where it is easy to find.
    let summary_file = devstack::target_dir()
        .join("shopflow")
        .join("chaos-summary.txt");
    if let Err(e) = std::fs::create_dir_all(summary_file.parent().unwrap())
        .and_then(|()| std::fs::write(&summary_file, &summary))
    {
        println!("could not write {}: {e}", summary_file.display());
    }

    assert!(
        wrong.is_empty(),
        "{} orders ended unlike their kind:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        problems.is_empty(),
        "ledger invariants broken:\n{}",
        problems.join("\n")
    );
    assert_eq!(runs, orders.len(), "every order ran exactly once");
    if chaos.kills > 0 {
        assert!(
            on_lambda > 0,
            "the local worker was killed {} times, yet Lambda ran nothing",
            chaos.kills
        );
    }
    if chaos.slow > 0 {
        // A slow outage leaves only Lambda to run shop calls that outlast an invocation.
        assert!(
            cut_off > 0,
            "no invocation was cut off by its deadline mid-activity: {invocations:?}"
        );
    }
    drop(app);
    let _ = std::fs::remove_dir_all(&lambda_logs);
}

/// Places the orders at their planned pace, each once — and the few planned resubmissions a
/// second time, which must be refused. Returns how many were refused.
async fn place(client: Client, task_queue: String, orders: Vec<(PlannedOrder, Order)>) -> usize {
    let mut refused = 0;
    for (planned, order) in &orders {
        tokio::time::sleep(planned.gap).await;
        shared::orders::start_order(&client, &task_queue, order)
            .await
            .expect("starting an order");
        if planned.resubmit {
            match shared::orders::start_order(&client, &task_queue, order).await {
                Err(StartError::AlreadyExists { .. }) => refused += 1,
                other => {
                    panic!("a resubmitted order must be refused as a duplicate, got {other:?}")
                }
            }
        }
    }
    refused
}

/// What the outages did.
struct Chaos {
    kills: usize,
    slow: usize,
}

/// Kills and restarts the local worker on the plan's schedule until every order is placed, then
/// leaves it running and the shop merely flaky.
async fn run_outages(
    app: &mut TestApp,
    rng: &mut StdRng,
    placing: &tokio::task::JoinHandle<usize>,
) -> Chaos {
    let mut chaos = Chaos { kills: 0, slow: 0 };
    while !placing.is_finished() {
        let outage = plan::outage(rng, chaos.kills);
        tokio::time::sleep(outage.up).await;
        if placing.is_finished() {
            break;
        }
        if outage.slow {
            app.set_faults(faults(true)).await;
            chaos.slow += 1;
        }
        // Killing waits for the process to be reaped: off the runtime's threads too.
        tokio::task::block_in_place(|| app.kill_worker());
        chaos.kills += 1;
        tokio::time::sleep(outage.down).await;
        if outage.slow {
            app.set_faults(faults(false)).await;
        }
        // Starting waits for the worker's first poll: keep the runtime's other thread free.
        tokio::task::block_in_place(|| app.start_worker());
    }
    chaos
}

/// `Ok` when the outcome is what an order of this kind must end with.
fn check_outcome(kind: Kind, outcome: &OrderOutcome) -> Result<(), String> {
    match (kind.expected_failure(), outcome) {
        (None, OrderOutcome::Completed { .. }) => Ok(()),
        (
            Some((step, code)),
            OrderOutcome::Compensated {
                failed_step,
                reason_code,
                undone,
                ..
            },
        ) => {
            if *failed_step != step || reason_code != code {
                return Err(format!(
                    "expected {step:?}/{code}, got {failed_step:?}/{reason_code}"
                ));
            }
            match undone.iter().find(|u| u.error.is_some()) {
                Some(failed) => Err(format!("an undo failed: {failed:?}")),
                None => Ok(()),
            }
        }
        (_, other) => Err(format!("ended {other:?}")),
    }
}

fn describe(outcome: &OrderOutcome) -> String {
    match outcome {
        OrderOutcome::Completed { .. } => "completed".to_owned(),
        OrderOutcome::Compensated { reason_code, .. } => format!("compensated ({reason_code})"),
    }
}

/// How many workflow runs the test's task queue has seen. Visibility may trail a moment behind,
/// so wait (briefly) until it counts at least `expected`; more is never waited away.
async fn order_runs(app: &TestApp, expected: usize) -> usize {
    let query = format!("TaskQueue = '{}'", app.setup.task_queue);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let count = app
            .client
            .count_workflows(query.clone(), WorkflowCountOptions::default())
            .await
            .expect("counting workflow runs")
            .count();
        if count >= expected || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until no invocation of the worker function runs (at most `limit`; the summary then
/// just misses the ones still running).
async fn until_no_invocation_runs(app: &TestApp, limit: Duration) {
    let _settled = app
        .lambda_settles(|s| s.concurrent_executions == 0, limit)
        .await;
}
