//! The chaos test: many orders while everything that can go wrong does — the local worker is
//! SIGKILLed and restarted at random, so are Lambda execution environments (the worker-fn
//! process, mid-invocation or frozen), the Lambda invocations that take over reach their deadline
//! mid-activity, the shop's services fail a fifth of their calls and lose some answers, and the
//! Temporal server itself is stopped and restarted once, mid-run, on its database file.
//!
//! What must hold whatever happens: every order ends Completed or Compensated, as its kind says;
//! no order runs twice; and the shop's ledger shows every charge either kept with one shipment or
//! refunded, stock conserved, and no effect done twice (`devstack::shop::check_invariants`).
//!
//! It prints a summary (orders by outcome, kills, invocations and how they ended, faults
//! injected, wall time) — numbers to read, not to assert on: the machine is shared and noisy.
//! `SHOPFLOW_CHAOS_SEED` replays a run's plan; `SHOPFLOW_CHAOS_ORDERS` sets how many orders
//! (`cargo xtask chaos --orders N --seed S` sets both and prints the report this test writes to
//! `target/shopflow/chaos-report.md`).

#[path = "../support/app.rs"]
mod helpers;
mod logs;
mod plan;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use devstack::shop::{Ending, check_invariants};
use helpers::{EmulatorTuning, LambdaOptions, Options, TestApp, WORKER_FUNCTION};
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
    let tuning = EmulatorTuning {
        log_dir: lambda_logs.clone(),
        temporal_on_disk: true,
        ..EmulatorTuning::default()
    };
    let mut app = TestApp::spawn_tuned(options, tuning).await;
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
    let placed = Arc::new(AtomicUsize::new(0));
    let placing = tokio::spawn(place(
        app.client.clone(),
        app.setup.task_queue.clone(),
        orders.clone(),
        placed.clone(),
    ));
    let restart_after = plan::temporal_restart_after(&mut rng, orders.len());
    let chaos = run_outages(&mut app, &mut rng, &placing, (&placed, restart_after)).await;
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
            "  Lambda environments SIGKILLed: {}; Temporal server restarted on its database: {}",
            chaos.lambda_kills,
            match &chaos.temporal_restart {
                Some((after, took)) => format!("after order {after}, down {:.1} s", took.as_secs_f64()),
                None => "no (the orders were placed first)".to_owned(),
            }
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
    let verdict = if wrong.is_empty() && problems.is_empty() && runs == orders.len() {
        "every order ended as its kind says; each effect once; stock conserved (ledger invariants hold)"
            .to_owned()
    } else {
        format!(
            "FAILED: {} orders ended unlike their kind, {} ledger problems, {runs} runs for {} orders",
            wrong.len(),
            problems.len(),
            orders.len()
        )
    };
    let report = format!("# Chaos report\n\n{verdict}\n\n```\n{summary}\n```\n");
    let dir = devstack::target_dir().join("shopflow");
    for (file, text) in [
        ("chaos-summary.txt", &summary),
        ("chaos-report.md", &report),
    ] {
        if let Err(e) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(file), text))
        {
            println!("could not write {file}: {e}");
        }
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
/// second time, which must be refused. Returns how many were refused. `placed` counts the
/// orders placed so far (the restart of Temporal is timed by it).
///
/// While Temporal restarts, a start is retried until it is answered, as ingest-fn's callers do:
/// a start whose answer was lost may have landed, and then the retry is refused as a duplicate
/// of it, which counts as placed.
async fn place(
    client: Client,
    task_queue: String,
    orders: Vec<(PlannedOrder, Order)>,
    placed: Arc<AtomicUsize>,
) -> usize {
    let mut refused = 0;
    for (planned, order) in &orders {
        tokio::time::sleep(planned.gap).await;
        let give_up = Instant::now() + Duration::from_secs(120);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match shared::orders::start_order(&client, &task_queue, order).await {
                Ok(_) => break,
                Err(StartError::AlreadyExists { .. }) if attempt > 1 => break,
                Err(StartError::Unavailable { .. }) if Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(other) => panic!("starting an order: {other}"),
            }
        }
        placed.fetch_add(1, Ordering::SeqCst);
        if planned.resubmit {
            loop {
                match shared::orders::start_order(&client, &task_queue, order).await {
                    Err(StartError::AlreadyExists { .. }) => {
                        refused += 1;
                        break;
                    }
                    Err(StartError::Unavailable { .. }) if Instant::now() < give_up => {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    other => {
                        panic!("a resubmitted order must be refused as a duplicate, got {other:?}")
                    }
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
    lambda_kills: usize,
    /// After which order, and how long Temporal was away.
    temporal_restart: Option<(usize, Duration)>,
}

/// Kills and restarts the local worker on the plan's schedule until every order is placed (now
/// and then a Lambda environment with it), restarts Temporal once when `restart_after` orders are
/// placed, then leaves the workers running and the shop merely flaky.
async fn run_outages(
    app: &mut TestApp,
    rng: &mut StdRng,
    placing: &tokio::task::JoinHandle<usize>,
    (placed, restart_after): (&AtomicUsize, usize),
) -> Chaos {
    let mut chaos = Chaos {
        kills: 0,
        slow: 0,
        lambda_kills: 0,
        temporal_restart: None,
    };
    while !placing.is_finished() {
        let outage = plan::outage(rng, chaos.kills);
        // Sleep through the up time in steps, so the restart happens close to its order.
        let up_until = Instant::now() + outage.up;
        while Instant::now() < up_until && !placing.is_finished() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let after = placed.load(Ordering::SeqCst);
            if chaos.temporal_restart.is_none() && after >= restart_after {
                // Stopping and starting wait on processes: off the runtime's threads.
                let took = tokio::task::block_in_place(|| app.restart_temporal());
                chaos.temporal_restart = Some((after, took));
            }
        }
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
        if outage.kill_lambda && kill_a_lambda_environment(rng) {
            chaos.lambda_kills += 1;
        }
        tokio::time::sleep(outage.down).await;
        if outage.slow {
            app.set_faults(faults(false)).await;
        }
        // Starting waits for the worker's first poll: keep the runtime's other thread free.
        tokio::task::block_in_place(|| app.start_worker());
    }
    chaos
}

/// SIGKILLs one of the emulator's worker-fn processes (the emulator runs in this test process,
/// so they are its children), as a crashed or OOM-killed execution environment. `false` when
/// none runs.
fn kill_a_lambda_environment(rng: &mut StdRng) -> bool {
    use rand::seq::IndexedRandom as _;
    let me = std::process::id().to_string();
    let environments: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (name, rest) = stat.split_once(") ")?;
            let ppid = rest.split_whitespace().nth(1)?;
            (name.ends_with("(worker-fn") && ppid == me).then_some(pid)
        })
        .collect();
    match environments.choose(rng) {
        Some(pid) => nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .is_ok(),
        None => false,
    }
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
