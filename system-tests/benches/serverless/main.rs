//! What serverless workers cost and how fast they take over, measured on the real stack: the
//! Temporal dev server's Worker Controller invoking `worker-fn` in the Lambda emulator, the real
//! `local-worker` and the shop's services. Each figure is printed beside a baseline measured in
//! the same run where one exists:
//!
//! * **order latency** (start → completed) on the local worker (baseline), on a Lambda worker
//!   already polling, on one the controller must invoke into a warm environment, and on a cold
//!   one (new process); the cold start itself as Lambda's Init Duration plus the worker's
//!   connect time (its EMF `ConnectTime`);
//! * **warm client reuse**: connect time and order latency of warm invocations with the client
//!   kept (default) vs dialed again (`SHOPFLOW_REUSE_CLIENT=off`);
//! * **billed time per order** with idle exit (default 2 s) vs polling until the deadline, for a
//!   trickle of orders, and the wall time an always-on worker would have run; and for sparse
//!   traffic at the template's 300 s timeout (an order every 30 s for 5 minutes);
//! * **takeover** after SIGKILL and after Ctrl+C of the local worker, for an order in flight
//!   (mid-activity) and for a new order, p50/p95 over the trials;
//! * **the floor** (`floor.rs`): the order's round trips with no-op activities, on the dev server
//!   as it comes and with its history shard's transfer-queue reads raised, eager activities on
//!   and off — what the server allows, and why (docs/latency.md);
//! * **fresh vs long-lived** local worker (polling ≥ 2 minutes), with where each order's time
//!   went (`anatomy.rs`, from the histories), and the same for a grid of worker settings
//!   (`settings`, on request: ~15 minutes);
//! * **an order arriving as the previous invocation idle-exits**, and how long that stop takes
//!   (EMF `StopTime`);
//! * **takeover settings**: SIGKILL mid-activity for a grid of heartbeat timeout / first retry,
//!   each order carrying its settings in its memo, and the dev server's CPU while 50 orders run
//!   with each;
//! * **the lone order** (`lone.rs`): how long an order that arrives when no invocation runs
//!   waits for one, on devstack's server and on one with the Worker Controller's own defaults
//!   (500 ms signal hold, four partitions), with idle exit 2 s and 300 ms;
//! * **peak RSS** (VmHWM) of the Lambda worker's process vs the local worker's, and the size of
//!   the binaries;
//! * **a peer in another SDK**: the Python SDK's Lambda worker (`temporalio.contrib.aws.
//!   lambda_worker`, the emulator's test fixture) served by the same emulator and server as
//!   `worker-fn`, cold each time: Init Duration, workflow start → first workflow task, billed
//!   milliseconds per workflow and peak memory (`REPORT`'s Max Memory Used), side by side.
//!
//! `cargo xtask bench` runs it against release binaries (and merges its report); alone:
//! `cargo build --release --bins && SHOPFLOW_BIN_DIR=target/release cargo bench -p system-tests
//! --bench serverless`. `SHOPFLOW_BENCH_TRIALS` (default 10) sets the trials per figure;
//! `SHOPFLOW_BENCH_ONLY=floor,longlived,…` runs only those parts (`latency`, `floor`, `longlived`,
//! `settings`, `billed`, `sparse`, `lone`, `takeover`, `takeovergrid`, `python`; all but `settings` by
//! default).
//! Numbers only — no assertion on time: the machine is shared and noisy.

#[path = "../../tests/support/app.rs"]
mod helpers;

mod anatomy;
mod floor;
mod lone;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use devstack::bench::{BenchReport, Row, Samples};
use helpers::{EmulatorTuning, LambdaOptions, Options, TestApp, WORKER_FUNCTION};
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const LATENCY: &str = "order latency, start → completed";
const COLD: &str = "Lambda worker cold start";
const REUSE: &str = "warm invocation, client reuse";
const BILLED: &str = "billed Lambda time per order";
const TAKEOVER: &str = "takeover after the local worker stops";
const FOOTPRINT: &str = "footprint";
const ANATOMY: &str = "where an order's time goes (sums per order, from its history)";
const PEER: &str = "worker-fn vs the Python SDK's Lambda worker (cold, same emulator and server)";

/// Rows of one comparison, added to the report as they are measured: the first is the baseline,
/// every later one is shown against it (a ratio measured in the same run).
#[derive(Default)]
struct Comparison(Option<Row>);

impl Comparison {
    fn add(&mut self, report: &mut BenchReport, row: Row) {
        match &self.0 {
            Some(first) => report.add(row.against(first)),
            None => {
                report.add(row.clone());
                self.0 = Some(row);
            }
        }
    }
}

fn trials() -> usize {
    std::env::var("SHOPFLOW_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .max(1)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = trials();
    let started = Instant::now();
    let work_dir = devstack::paths::shopflow_home()
        .join("bench")
        .join(ulid::Ulid::new().to_string().to_lowercase());
    println!(
        "serverless bench: {n} trials per figure; binaries from {}",
        devstack::bin_dir().display()
    );
    println!("{}", devstack::bench::MARKDOWN_HEADER);
    let mut report = BenchReport::new("serverless");

    let only = std::env::var("SHOPFLOW_BENCH_ONLY").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    if run("latency") {
        let local = latency_on_local_worker(n, &mut report).await;
        latency_on_polling_lambda(n, &local, &work_dir, &mut report).await;
        let warm = warm_invocations(n, true, &local, &work_dir, &mut report).await;
        warm_invocations(n, false, &warm, &work_dir, &mut report).await;
        cold_invocations(n, &local, &warm, &work_dir, &mut report).await;
    }
    if run("floor") {
        floor_by_server(n, &mut report).await;
    }
    if run("longlived") {
        long_lived_worker(n, &mut report).await;
    }
    if only.split(',').any(|p| p.trim() == "settings") {
        worker_settings(n, &mut report).await;
    }
    if run("billed") {
        billed_per_order(n.min(8), &work_dir, &mut report).await;
    }
    if run("sparse") {
        sparse_traffic(&work_dir, &mut report).await;
    }
    if run("lone") {
        lone::run(n, &work_dir, &mut report).await;
    }
    if run("takeover") {
        takeover(n, &work_dir, &mut report).await;
    }
    if run("takeovergrid") {
        takeover_grid(n, &work_dir, &mut report).await;
    }
    if run("python") {
        python_peer(n, &work_dir, &mut report).await;
    }
    binary_sizes(&mut report);

    println!(
        "serverless bench done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work_dir);
    report.finish()
}

/// Orders on a warm local worker: the baseline of every latency. Also its peak RSS.
async fn latency_on_local_worker(n: usize, report: &mut BenchReport) -> Row {
    let app = TestApp::spawn().await;
    stock_up(&app).await;
    app.run(&app.order(|_| {})).await; // warm-up: connections, sticky cache
    let samples = timed_orders(&app, n, Expect::Local, Before::Nothing).await;
    let row = samples.row(LATENCY, "local worker (polling)");
    report.add(row.clone());
    let pid = app.worker.as_ref().expect("local worker").pid();
    if let Some(rss) = peak_rss_mib(pid) {
        report.add(
            Row::value(FOOTPRINT, "local-worker peak RSS (VmHWM)", "MiB", rss)
                .note(format!("after {} orders", n + 1)),
        );
    }
    row
}

/// How long a worker polls before its orders count as "long-lived" (issue 14: ≥ 2 minutes;
/// `SHOPFLOW_BENCH_LONG_LIVED_SECS` shortens it for quick experiments).
fn long_lived_after() -> Duration {
    Duration::from_secs(
        std::env::var("SHOPFLOW_BENCH_LONG_LIVED_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(130),
    )
}

/// The local worker fresh (its first minute) and long-lived (polling ≥ 2 minutes): order latency
/// and where the time goes, from the orders' histories.
async fn long_lived_worker(n: usize, report: &mut BenchReport) {
    let (mut app, floor) = stack_with_its_floor(n, report).await;
    fresh_and_long_lived(&mut app, n, "local worker", &[], &floor, report).await;
}

/// A stack with no worker yet (each comparison starts its own local worker), stocked, and the
/// floor measured on its server.
async fn stack_with_its_floor(n: usize, report: &mut BenchReport) -> (TestApp, Row) {
    let app = TestApp::spawn_with(Options {
        local_worker: false,
        lambda: None,
    })
    .await;
    stock_up(&app).await;
    let floor = floor_row(&app, n, report).await;
    (app, floor)
}

/// The floor row: the order's round trips with no-op activities on the same server.
async fn floor_row(app: &TestApp, n: usize, report: &mut BenchReport) -> Row {
    let task_queue = format!("{}-floor", app.setup.task_queue);
    let _worker = tokio::task::block_in_place(|| {
        floor::FloorWorker::start(
            &app.setup.temporal_address,
            &app.setup.namespace,
            &task_queue,
            true,
        )
    });
    let (latencies, parts) = floor::run(&app.client, &task_queue, n).await;
    let row = latencies.row(
        LATENCY,
        "floor: 5 workflow tasks + 4 no-op activities, same server",
    );
    report.add(row.clone().note(slow_note(&parts)));
    for (part, samples) in parts.parts() {
        report.add(samples.row(ANATOMY, &format!("floor: {part}")));
    }
    row
}

/// What the floor is made of: the same no-op order shape on a dev server as it comes (history
/// reads a shard's transfer queue at most `history.transferProcessorMaxPollRPS` = 20 times a
/// second) and on one reading it up to 1000 times a second, with eager activities (the SDK's
/// default, `local-worker`) and without (the Lambda worker's default: every activity through the
/// transfer queue and a poll).
async fn floor_by_server(n: usize, report: &mut BenchReport) {
    let servers = [
        (
            "dev server as it comes (transfer queue read ≤ 20×/s)",
            vec![],
        ),
        (
            "history.transferProcessorMaxPollRPS=1000",
            vec!["history.transferProcessorMaxPollRPS=1000".to_owned()],
        ),
    ];
    let mut comparison = Comparison::default();
    for (server_label, dynamic_config) in servers {
        let server = devstack::TemporalDevServer::start(devstack::TemporalOptions {
            worker_controller: false,
            dynamic_config,
            ..Default::default()
        })
        .expect("starting a dev server for the floor");
        let client = shared::connection::connect_to(&server.address(), "default")
            .await
            .expect("connecting to the floor's server");
        for eager in [true, false] {
            let task_queue = format!("floor-{}", ulid::Ulid::new().to_string().to_lowercase());
            let _worker = tokio::task::block_in_place(|| {
                floor::FloorWorker::start(&server.address(), "default", &task_queue, eager)
            });
            let (latencies, parts) = floor::run(&client, &task_queue, n).await;
            let activities = if eager {
                "eager activities"
            } else {
                "activities polled"
            };
            let what = format!("floor, {activities}, {server_label}");
            comparison.add(
                report,
                latencies.row(LATENCY, &what).note(slow_note(&parts)),
            );
        }
        server.stop().expect("stopping the floor's server");
    }
}

/// "k of n tasks waited ≥ 10 ms for a poll": how many tasks matching did not hand over at once.
fn slow_note(parts: &anatomy::Anatomies) -> String {
    let (slow, all) = parts.slow_dispatch_share();
    format!(
        "{slow} of {all} tasks waited ≥ {} ms between scheduled and started",
        anatomy::SLOW_DISPATCH.as_millis()
    )
}

/// The same comparison for each setting that plausibly matters (issue 14's table): poller
/// counts and autoscaling, the sticky cache, eager activities.
async fn worker_settings(n: usize, report: &mut BenchReport) {
    let (mut app, floor) = stack_with_its_floor(n, report).await;
    let set = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    let grid = [
        (
            "pollers auto",
            set(&[
                ("SHOPFLOW_WORKFLOW_POLLERS", "auto"),
                ("SHOPFLOW_ACTIVITY_POLLERS", "auto"),
            ]),
        ),
        (
            "pollers 5 fixed",
            set(&[
                ("SHOPFLOW_WORKFLOW_POLLERS", "5"),
                ("SHOPFLOW_ACTIVITY_POLLERS", "5"),
            ]),
        ),
        (
            "pollers 2/1 fixed (the Lambda worker's)",
            set(&[
                ("SHOPFLOW_WORKFLOW_POLLERS", "2"),
                ("SHOPFLOW_ACTIVITY_POLLERS", "1"),
            ]),
        ),
        (
            "no sticky cache",
            set(&[("SHOPFLOW_MAX_CACHED_WORKFLOWS", "0")]),
        ),
        (
            "eager activities off",
            set(&[("SHOPFLOW_EAGER_ACTIVITIES", "0")]),
        ),
    ];
    for (label, env) in grid {
        let label = format!("local worker, {label}");
        fresh_and_long_lived(&mut app, n, &label, &env, &floor, report).await;
    }
}

/// Starts the local worker with `env`, runs `n` orders at once (fresh) and `n` after it has
/// polled for [`long_lived_after`], reports both with their anatomies (fresh against the floor,
/// long-lived against fresh), and stops it.
async fn fresh_and_long_lived(
    app: &mut TestApp,
    n: usize,
    label: &str,
    env: &[(&'static str, String)],
    floor: &Row,
    report: &mut BenchReport,
) {
    tokio::task::block_in_place(|| app.start_worker_with_env(env));
    let fresh_label = format!("{label}, fresh (polling < 1 min)");
    let (fresh, fresh_parts) = orders_with_anatomy(app, n).await;
    let fresh_row = fresh.row(LATENCY, &fresh_label).against(floor);
    report.add(fresh_row.clone().note(slow_note(&fresh_parts)));
    let wait = long_lived_after();
    println!("  ({label}: polling idle for {} s)", wait.as_secs());
    tokio::time::sleep(wait).await;
    let (long, long_parts) = orders_with_anatomy(app, n).await;
    let long_row = long
        .row(
            LATENCY,
            &format!("{label}, long-lived (polling ≥ {} s)", wait.as_secs()),
        )
        .against(&fresh_row)
        .note(slow_note(&long_parts));
    report.add(long_row);
    for ((part, fresh), (_, long)) in fresh_parts.parts().into_iter().zip(long_parts.parts()) {
        let fresh_row = fresh.row(ANATOMY, &format!("{label}, fresh: {part}"));
        report.add(fresh_row.clone());
        report.add(
            long.row(ANATOMY, &format!("{label}, long-lived: {part}"))
                .against(&fresh_row),
        );
    }
    tokio::task::block_in_place(|| app.interrupt_worker());
}

/// `n` orders one after another on the local worker: their latencies and their anatomies.
async fn orders_with_anatomy(app: &TestApp, n: usize) -> (Samples, anatomy::Anatomies) {
    let mut latencies = Samples::default();
    let mut parts = anatomy::Anatomies::default();
    for _ in 0..n {
        let order = app.order(|_| {});
        let t = Instant::now();
        let outcome = app.run(&order).await;
        latencies.push(t.elapsed());
        assert!(outcome.is_completed(), "{outcome:?}");
        parts.push(
            anatomy::Anatomy::fetch(&app.client, &shared::workflow_id(&order.order_id)).await,
        );
    }
    (latencies, parts)
}

/// A Lambda worker that is already polling (idle exit off, inside one long invocation).
async fn latency_on_polling_lambda(n: usize, local: &Row, dir: &Path, report: &mut BenchReport) {
    let app = lambda_app(
        lambda(60, "off"),
        dir.join("polling"),
        Duration::from_secs(60),
        vec![],
    )
    .await;
    // The registration invocation polls for 53 s (60 s − 7 s buffer): orders run inside it.
    app.run(&app.order(|_| {})).await;
    let before = stats(&app).invocations;
    let samples = timed_orders(&app, n, Expect::Lambda, Before::Nothing).await;
    let invoked = stats(&app).invocations - before;
    report.add(
        samples
            .row(LATENCY, "Lambda worker, already polling")
            .against(local)
            .note(format!(
                "{invoked} new invocation(s) during the trials (0: all ran on the polling one)"
            )),
    );
}

/// Each order needs an invocation (idle exit 300 ms) into a warm environment; `reuse` keeps the
/// Temporal client across invocations. Returns the latency row.
async fn warm_invocations(
    n: usize,
    reuse: bool,
    baseline: &Row,
    dir: &Path,
    report: &mut BenchReport,
) -> Row {
    let label = if reuse { "reuse" } else { "no-reuse" };
    let env = if reuse {
        vec![]
    } else {
        vec![("SHOPFLOW_REUSE_CLIENT", "off".to_owned())]
    };
    let log_dir = dir.join(format!("warm-{label}"));
    let app = lambda_app(
        lambda(60, "300ms"),
        log_dir.clone(),
        Duration::from_secs(120),
        env,
    )
    .await;
    app.run(&app.order(|_| {})).await; // the environment's first (cold) invocation
    let samples = timed_orders(&app, n, Expect::Lambda, Before::NoInvocation).await;
    let stats = stats(&app);
    let what = if reuse {
        "Lambda worker invoked, warm environment (client reused)"
    } else {
        "Lambda worker invoked, warm environment, client dialed per invocation"
    };
    let row = samples.row(LATENCY, what).against(baseline);
    report.add(row.clone().note(format!(
        "{} environment(s) for {} invocations",
        stats.cold_starts, stats.invocations
    )));
    until_no_invocation_runs(&app).await;
    // The first invocation was the environment's cold one.
    let connect = emf_times(&log_dir, "ConnectTime", 1, reuse);
    report.add(connect.row(
        REUSE,
        &format!("connect time per warm invocation ({label})"),
    ));
    if reuse {
        let stop = emf_times(&log_dir, "StopTime", 1, reuse);
        report.add(stop.row(
            REUSE,
            "idle exit: asked to stop → stopped (EMF StopTime, the worker's drain)",
        ));
        order_as_the_invocation_ends(&app, n, &row, report).await;
    }
    if reuse
        && let Some(rss) = app
            .emulator
            .as_ref()
            .unwrap()
            .idle_pids(WORKER_FUNCTION)
            .first()
            .and_then(|pid| peak_rss_mib(*pid))
    {
        report.add(
            Row::value(
                FOOTPRINT,
                "worker-fn peak RSS (VmHWM), one environment",
                "MiB",
                rss,
            )
            .note(format!("after {} orders", n + 1)),
        );
    }
    row
}

/// Orders started just as the previous invocation reaches its idle exit (300 ms after its last
/// task, checked every 100 ms): until its worker has stopped, the Worker Controller still counts
/// it as a poller, so the new order's first task waits for the stop and the next invocation. The
/// start is spread over that window (300–400 ms after the previous order, 25 ms steps).
async fn order_as_the_invocation_ends(
    app: &TestApp,
    n: usize,
    warm: &Row,
    report: &mut BenchReport,
) {
    let mut samples = Samples::default();
    for i in 0..n {
        app.run(&app.order(|_| {})).await;
        tokio::time::sleep(Duration::from_millis(300 + 25 * (i % 5) as u64)).await;
        let order = app.order(|_| {});
        let t = Instant::now();
        let outcome = app.run(&order).await;
        assert!(outcome.is_completed(), "{outcome:?}");
        samples.push(t.elapsed());
    }
    report.add(
        samples
            .row(
                LATENCY,
                "Lambda worker, order started as the previous invocation idle-exits",
            )
            .against(warm),
    );
}

/// Every order starts a new execution environment: environments are reaped 200 ms after their
/// invocation ended.
async fn cold_invocations(n: usize, local: &Row, warm: &Row, dir: &Path, report: &mut BenchReport) {
    let log_dir = dir.join("cold");
    let app = lambda_app(
        lambda(60, "300ms"),
        log_dir.clone(),
        Duration::from_millis(200),
        vec![],
    )
    .await;
    let samples = timed_orders(&app, n, Expect::Lambda, Before::NoEnvironment).await;
    // Init Duration is recorded when an invocation ends; let the last one end first.
    until_no_invocation_runs(&app).await;
    let stats = stats(&app);
    report.add(
        samples
            .row(LATENCY, "Lambda worker invoked, cold environment")
            .against(local)
            .note(format!(
                "{} cold starts for {} invocations",
                stats.cold_starts, stats.invocations
            )),
    );
    report.add(
        samples
            .row(LATENCY, "cold vs warm invocation")
            .against(warm),
    );
    let init = if stats.cold_starts > 0 {
        stats.init_duration_ms_sum / stats.cold_starts as f64
    } else {
        0.0
    };
    report.add(
        Row::value(
            COLD,
            "Init Duration (spawn → first /next), mean",
            "ms",
            init,
        )
        .note(format!(
            "max {:.1} ms over {} cold starts",
            stats.init_duration_ms_max, stats.cold_starts
        )),
    );
    until_no_invocation_runs(&app).await;
    let connect = emf_times(&log_dir, "ConnectTime", 0, false);
    report.add(connect.row(
        COLD,
        "connect to Temporal in a new environment (EMF ConnectTime)",
    ));
    let startup = emf_times(&log_dir, "StartupTime", 0, false);
    report.add(startup.row(
        COLD,
        "invocation start → worker polling, new environment (EMF StartupTime)",
    ));
    // Spawn → first poll: the init phase plus the first invocation's startup.
    if let Some(startup) = startup.mean_ms() {
        report.add(
            Row::value(
                COLD,
                "spawn → first poll (Init Duration + StartupTime), mean",
                "ms",
                init + startup,
            )
            .note("target: under 100 ms"),
        );
    }
}

/// A trickle of `n` orders, one every 3 s, on Lambda only: billed milliseconds per order with
/// idle exit (the default, 2 s) and with polling until the deadline (timeout 20 s here, so an
/// invocation polls 13 s; the template's 300 s timeout makes the difference larger).
async fn billed_per_order(n: usize, dir: &Path, report: &mut BenchReport) {
    let gap = Duration::from_secs(3);
    let mut comparison = Comparison::default();
    for (idle_exit, label) in [
        ("off", "polling until the deadline (Go's behaviour)"),
        ("2s", "idle exit 2 s (default)"),
    ] {
        let app = lambda_app(
            lambda(20, idle_exit),
            dir.join(format!("billed-{idle_exit}")),
            Duration::from_secs(120),
            vec![],
        )
        .await;
        until_no_invocation_runs(&app).await; // the registration invocation
        let before = stats(&app);
        let t0 = Instant::now();
        orders_apart(&app, n, gap).await;
        let wall = t0.elapsed();
        until_no_invocation_runs(&app).await;
        let after = stats(&app);
        let billed =
            (after.billed_duration_ms_sum - before.billed_duration_ms_sum) as f64 / n as f64;
        let row = Row::value(BILLED, label, "ms", billed).note(format!(
            "{n} orders {}s apart: {} invocations, {:.1} GB-s; an always-on worker: {:.0} ms per order",
            gap.as_secs(),
            after.invocations - before.invocations,
            after.gb_seconds - before.gb_seconds,
            wall.as_secs_f64() * 1000.0 / n as f64
        ));
        comparison.add(report, row);
    }
}

/// Sparse traffic at the template's function timeout, not scaled: 300 s, one order every 30 s for
/// 5 minutes. Billed milliseconds per order over every invocation from the stack's start until
/// the last one ended — the registration invocation included, since with idle exit off it is the
/// one that serves the first orders, as a polling worker would. The variants run side by side
/// (a stack each), so the part takes 5 minutes, not 20.
async fn sparse_traffic(dir: &Path, report: &mut BenchReport) {
    const ORDERS: usize = 10;
    const GAP: Duration = Duration::from_secs(30);
    let variants: [(&'static str, &str); 4] = [
        (
            "off",
            "polling until the deadline (Go's and Python's behaviour)",
        ),
        ("2s", "idle exit 2 s (default)"),
        (
            "500ms",
            "idle exit 500 ms (the shortest that strands no lone order, see `lone`)",
        ),
        ("300ms", "idle exit 300 ms"),
    ];
    let runs = variants.map(|(idle_exit, label)| async move {
        let app = lambda_app(
            lambda(300, idle_exit),
            dir.join(format!("sparse-{idle_exit}")),
            Duration::from_secs(600),
            vec![],
        )
        .await;
        orders_apart(&app, ORDERS, GAP).await;
        assert!(
            app.lambda_settles(|s| s.concurrent_executions == 0, Duration::from_secs(330))
                .await,
            "the {label} variant's invocations did not end: {:?}",
            stats(&app)
        );
        let s = stats(&app);
        Row::value(
            BILLED,
            &format!("sparse traffic, 300 s timeout: {label}"),
            "ms",
            s.billed_duration_ms_sum as f64 / ORDERS as f64,
        )
        .note(format!(
            "{ORDERS} orders {} s apart: {} invocations, {:.1} GB-s",
            GAP.as_secs(),
            s.invocations,
            s.gb_seconds
        ))
    });
    let mut comparison = Comparison::default();
    for row in futures::future::join_all(runs).await {
        comparison.add(report, row);
    }
}

/// `n` orders one after the other, `gap` between one's completion and the next one's start.
async fn orders_apart(app: &TestApp, n: usize, gap: Duration) {
    for i in 0..n {
        app.run(&app.order(|_| {})).await;
        if i + 1 < n {
            tokio::time::sleep(gap).await;
        }
    }
}

/// The local worker is stopped (SIGKILL, or Ctrl+C and its drain) while an order is mid-activity
/// (the shipment call takes 1.5 s); a new order is started at once. In flight: from the moment
/// the local worker is gone to the order's first task started on Lambda. New order: from its
/// start to its first task started on Lambda. The Lambda worker is idle (scaled to zero, warm
/// environment) at each trial's start, as it would be in production.
async fn takeover(n: usize, dir: &Path, report: &mut BenchReport) {
    let mut app = takeover_app(&dir.join("takeover")).await;
    for (how, sigkill) in [("SIGKILL", true), ("Ctrl+C", false)] {
        let (mut in_flight, mut new) = (Trials::default(), Trials::default());
        for _ in 0..n {
            let Some(started) = order_mid_shipment(&mut app, None).await else {
                in_flight.stuck += 1;
                continue;
            };
            if sigkill {
                app.kill_worker()
            } else {
                app.interrupt_worker()
            }
            let gone = SystemTime::now();
            let fresh = app.start(&app.order(|_| {})).await.expect("start");
            // A retried activity's started event is written when the attempt ends, so after a
            // kill the retry's start is read while it runs, from the pending activity.
            let retried = if sigkill {
                retry_started_on_lambda(&app, &started.workflow_id, gone).await
            } else {
                None
            };
            app.outcome(&started.workflow_id).await;
            in_flight.record(match retried {
                Some(latency) => Some(Ok(latency)),
                None if sigkill => None,
                None => first_lambda_task(&app, &started.workflow_id, Some(gone)).await,
            });
            app.outcome(&fresh.workflow_id).await;
            new.record(first_lambda_task(&app, &fresh.workflow_id, None).await);
        }
        let (in_flight_note, missing) = if sigkill {
            (
                format!(
                    "kill → retry started on Lambda: heartbeat timeout {} ms, checked by the server up to 1 s late (history.timerProcessorMaxTimeShift), + first retry {} ms",
                    shared::workflow::ACTIVITY_HEARTBEAT_TIMEOUT.as_millis(),
                    shared::workflow::ACTIVITY_FIRST_RETRY.as_millis()
                ),
                "no retry seen on Lambda",
            )
        } else {
            (
                "local worker exited (after its drain) → next task on Lambda".to_owned(),
                "no task on Lambda",
            )
        };
        report.add(
            in_flight
                .samples
                .row(TAKEOVER, &format!("{how}, order in flight (mid-activity)"))
                .note(in_flight.note(&in_flight_note, missing)),
        );
        report.add(
            new.samples
                .row(TAKEOVER, &format!("{how}, new order"))
                .note(new.note("order start → first task on Lambda", missing)),
        );
    }
}

/// The takeover stack: the local worker and the Lambda worker (idle exit 2 s, worker-fn's
/// default) on one server, with shipments slowed to 1.5 s so a trial can stop the local worker
/// mid-activity.
async fn takeover_app(log_dir: &Path) -> TestApp {
    let app = TestApp::spawn_tuned(
        Options {
            local_worker: true,
            lambda: lambda(60, "2s"),
        },
        EmulatorTuning {
            log_dir: log_dir.to_owned(),
            environment_idle_timeout: Duration::from_secs(120),
            ..EmulatorTuning::default()
        },
    )
    .await;
    app.set_faults(json!({ "latencyMs": 1500, "services": ["shipments"] }))
        .await;
    // Two orders per trial: enough stock that none is refused (it would never reach shipping).
    stock_up(&app).await;
    app
}

/// One trial's start: once no Lambda invocation runs, (re)starts the local worker if needed,
/// places an order (with its own takeover settings, if given) and returns when it is in its
/// shipment step — or `None`, reported, if it never got there (one stuck trial must not cost
/// the whole report).
async fn order_mid_shipment(
    app: &mut TestApp,
    takeover: Option<shared::workflow::Takeover>,
) -> Option<shared::orders::Started> {
    until_no_invocation_runs(app).await;
    if app.worker.is_none() {
        app.start_worker();
    }
    let order = app.order(|_| {});
    let started = match takeover {
        Some(takeover) => app.start_with_takeover(&order, takeover).await,
        None => app.start(&order).await,
    }
    .expect("start");
    match app
        .wait_for_step(&started.workflow_id, shared::OrderStep::CreatingShipment)
        .await
    {
        Ok(()) => Some(started),
        Err(error) => {
            println!("  (trial skipped: {error:#})");
            None
        }
    }
}

/// SIGKILL of the local worker mid-activity, for a small grid of takeover settings (heartbeat
/// timeout, the activities beating every quarter of it, and the first retry interval), each order
/// carrying its settings in its memo: kill → the retried attempt started on Lambda, and what the
/// settings cost in heartbeat RPCs. The grid is what ShopFlow's default was chosen from.
async fn takeover_grid(n: usize, dir: &Path, report: &mut BenchReport) {
    use shared::workflow::Takeover;
    let mut app = takeover_app(&dir.join("takeover-grid")).await;
    let grid = [(1_000, 200), (500, 100), (300, 50)].map(|(hb, retry)| Takeover {
        heartbeat_timeout_ms: hb,
        first_retry_ms: retry,
    });
    for takeover in grid {
        let mut trials = Trials::default();
        for _ in 0..n {
            let Some(started) = order_mid_shipment(&mut app, Some(takeover)).await else {
                trials.stuck += 1;
                continue;
            };
            app.kill_worker();
            let gone = SystemTime::now();
            let retried = retry_started_on_lambda(&app, &started.workflow_id, gone).await;
            app.outcome(&started.workflow_id).await;
            trials.record(retried.map(Ok));
        }
        let what = format!(
            "SIGKILL mid-activity: heartbeat timeout {} ms (a beat every {} ms), first retry {} ms",
            takeover.heartbeat_timeout_ms,
            takeover.heartbeat_timeout_ms / 4,
            takeover.first_retry_ms
        );
        let cost = format!(
            "kill → retry started on Lambda; ≤ {:.2} heartbeat RPCs/s per running activity",
            takeover.heartbeats_per_second()
        );
        report.add(
            trials
                .samples
                .row(TAKEOVER, &what)
                .note(trials.note(&cost, "no retry seen on Lambda")),
        );
    }
    let mut comparison = Comparison::default();
    for takeover in grid {
        let cpu = server_cpu_while_orders_run(&mut app, takeover).await;
        let row = Row::value(
            TAKEOVER,
            &format!(
                "dev server CPU while {CPU_ORDERS} orders run at once: heartbeat timeout {} ms",
                takeover.heartbeat_timeout_ms
            ),
            "ms",
            devstack::bench::ms(cpu),
        )
        .note("user + system CPU of the server process; every order's shipment beats for 1.5 s");
        comparison.add(report, row);
    }
}

/// How many orders the server-load figure of a takeover setting runs at once.
const CPU_ORDERS: usize = 50;

/// The dev server's CPU time while [`CPU_ORDERS`] orders with these takeover settings run at
/// once on the local worker: what the settings' heartbeats cost the server.
async fn server_cpu_while_orders_run(
    app: &mut TestApp,
    takeover: shared::workflow::Takeover,
) -> Duration {
    until_no_invocation_runs(app).await;
    if app.worker.is_none() {
        app.start_worker();
    }
    let pid = app._temporal.pid().expect("the bench runs its own server");
    let before = cpu_time(pid);
    let orders: Vec<_> = (0..CPU_ORDERS).map(|_| app.order(|_| {})).collect();
    let started =
        futures::future::join_all(orders.iter().map(|o| app.start_with_takeover(o, takeover)))
            .await;
    for started in started {
        let outcome = app.outcome(&started.expect("start").workflow_id).await;
        assert!(outcome.is_completed(), "{outcome:?}");
    }
    cpu_time(pid).saturating_sub(before)
}

/// User + system CPU time a process has used, from `/proc/<pid>/stat` (in clock ticks: 100 a
/// second, the `USER_HZ` Linux reports on every architecture it runs this bench on).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("reading /proc stat");
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat format") + 1..]
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

/// Takeover trials: the measured ones, and those with nothing to measure, kept apart.
#[derive(Default)]
struct Trials {
    samples: Samples,
    /// Lambda never got the order's work.
    missing: usize,
    /// Lambda already ran part of it before the local worker was gone.
    early: usize,
    /// The order never reached the step the trial stops the worker at (skipped).
    stuck: usize,
}

impl Trials {
    fn record(&mut self, latency: Option<Result<Duration, Early>>) {
        match latency {
            Some(Ok(latency)) => self.samples.push(latency),
            Some(Err(Early)) => self.early += 1,
            None => self.missing += 1,
        }
    }

    fn note(&self, what: &str, missing: &str) -> String {
        let mut note = what.to_owned();
        if self.missing > 0 {
            note.push_str(&format!(
                "; {} trial(s): {missing} (not counted)",
                self.missing
            ));
        }
        if self.stuck > 0 {
            note.push_str(&format!(
                "; {} trial(s) skipped: the order did not reach its shipment within 60 s",
                self.stuck
            ));
        }
        if self.early > 0 {
            note.push_str(&format!(
                "; {} trial(s): Lambda ran a task before the local worker was gone (not counted)",
                self.early
            ));
        }
        note
    }
}

/// Sizes of the binaries the benchmark ran (release builds are stripped).
fn binary_sizes(report: &mut BenchReport) {
    let mib = |p: PathBuf| {
        std::fs::metadata(p)
            .ok()
            .map(|m| m.len() as f64 / (1024.0 * 1024.0))
    };
    for name in ["worker-fn", "ingest-fn", "local-worker"] {
        if let Some(size) = mib(devstack::bin_path(name)) {
            report.add(
                Row::value(FOOTPRINT, &format!("{name} binary"), "MiB", size)
                    .note(devstack::bin_dir().display().to_string()),
            );
        }
    }
    for zip in ["worker-fn", "ingest-fn"] {
        let path = devstack::target_dir()
            .join("lambda")
            .join(format!("{zip}-x86_64.zip"));
        if let Some(size) = mib(path) {
            report.add(Row::value(
                FOOTPRINT,
                &format!("{zip} Lambda zip (x86_64, `cargo xtask package`)"),
                "MiB",
                size,
            ));
        }
    }
}

// ---- helpers -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Expect {
    Local,
    Lambda,
}

fn lambda(timeout_secs: u64, idle_exit: &'static str) -> Option<LambdaOptions> {
    Some(LambdaOptions {
        timeout: Duration::from_secs(timeout_secs),
        idle_exit,
    })
}

/// Enough of the sample order's items for every order a part of the benchmark places.
async fn stock_up(app: &TestApp) {
    for sku in ["MUG-CLASSIC", "STICKER-PACK"] {
        app.set_stock(sku, 100_000).await;
    }
}

/// A stack with only the Lambda worker, its output in `log_dir`.
async fn lambda_app(
    lambda: Option<LambdaOptions>,
    log_dir: PathBuf,
    environment_idle_timeout: Duration,
    worker_env: Vec<(&'static str, String)>,
) -> TestApp {
    let app = TestApp::spawn_tuned(
        Options {
            local_worker: false,
            lambda,
        },
        EmulatorTuning {
            log_dir,
            environment_idle_timeout,
            worker_env,
            ..EmulatorTuning::default()
        },
    )
    .await;
    stock_up(&app).await;
    app
}

/// worker-fn and the Python SDK's Lambda worker in one emulator, registered with one server as
/// two deployment versions, each workflow on a new environment (reaped 200 ms after its
/// invocation). worker-fn runs an order (four activities), the Python worker a one-activity
/// greeting: start → first workflow task is the figure that compares like with like (the
/// Worker Controller's invoke, the cold start, the worker's connect and first poll); billed time
/// also shows each worker's end-of-work policy (worker-fn's idle exit, 300 ms here, vs the Python
/// worker polling until 7 s before its 13 s timeout).
async fn python_peer(n: usize, dir: &Path, report: &mut BenchReport) {
    use devstack::python_worker::{PythonWorkerFunction, ensure_python_lambda_worker};
    use lambda_emulator::template::{self, TemplateOptions};

    let python = tokio::task::spawn_blocking(ensure_python_lambda_worker)
        .await
        .expect("install thread")
        .expect("the Python Lambda worker's venv");
    let log_dir = dir.join("python-peer");
    let mut app = lambda_app(
        lambda(60, "300ms"),
        log_dir.clone(),
        Duration::from_millis(200),
        vec![],
    )
    .await;
    let id = app.run_id[app.run_id.len() - 10..].to_owned();
    let fixture = PythonWorkerFunction {
        function_name: format!("py-peer-{id}"),
        temporal_address: app.setup.temporal_address.clone(),
        task_queue: format!("greetings-{id}"),
        deployment: format!("python-peer-{id}"),
        build_id: "v1".to_owned(),
        python,
    };
    let mut options = TemplateOptions::new(PythonWorkerFunction::fixture_dir());
    options.binaries.insert(
        PythonWorkerFunction::LOGICAL_ID.into(),
        PythonWorkerFunction::bootstrap(),
    );
    options.parameters.extend(fixture.parameters());
    let function = template::load(&PythonWorkerFunction::template(), &options)
        .expect("the Python worker's template")
        .remove(0);
    let py = function.name.clone();
    let arn = app.emulator.as_mut().expect("emulator").register(function);
    let registered = tokio::task::spawn_blocking({
        let (address, fixture_deployment, queue) = (
            fixture.temporal_address.clone(),
            fixture.deployment.clone(),
            fixture.task_queue.clone(),
        );
        move || devstack::register_lambda_version(&address, &fixture_deployment, "v1", &queue, &arn)
    })
    .await
    .expect("register thread");
    if let Err(error) = registered {
        println!("  (Python peer skipped: registering its version failed: {error:#})");
        return;
    }

    // worker-fn: orders, each on a new environment.
    let before = stats(&app);
    let mut rust_first = Samples::default();
    for _ in 0..n {
        until_no_environment(&app).await;
        let order = app.order(|_| {});
        assert!(app.run(&order).await.is_completed());
        let workflow_id = shared::workflow_id(&order.order_id);
        if let Some(Ok(first)) = first_task_on(&app, &workflow_id, WORKER_FUNCTION).await {
            rust_first.push(first);
        }
    }
    until_no_environment(&app).await;
    let rust = stats(&app);

    // The Python worker: greetings, each on a new environment.
    let emulator = app.emulator.as_ref().expect("emulator");
    let py_stats = || emulator.stats(&py).expect("the Python function's stats");
    let py_no_environment = || {
        let s = py_stats();
        s.concurrent_executions == 0 && s.environments == 0
    };
    let py_before = py_stats();
    let mut py_first = Samples::default();
    for i in 0..n {
        wait_for(py_no_environment).await;
        let workflow_id = format!("py-peer-{id}-{i}");
        if let Err(error) = greet(&app, &fixture.task_queue, &workflow_id).await {
            println!("  (Python workflow {workflow_id} not counted: {error})");
            continue;
        }
        if let Some(Ok(first)) = first_task_on(&app, &workflow_id, &py).await {
            py_first.push(first);
        }
    }
    wait_for(py_no_environment).await;
    let python = py_stats();

    let init = |s: &lambda_emulator::metrics::FunctionStats,
                b: &lambda_emulator::metrics::FunctionStats| {
        let colds = s.cold_starts - b.cold_starts;
        (s.init_duration_ms_sum - b.init_duration_ms_sum) / colds.max(1) as f64
    };
    let billed = |s: &lambda_emulator::metrics::FunctionStats,
                  b: &lambda_emulator::metrics::FunctionStats,
                  count: usize| {
        (s.billed_duration_ms_sum - b.billed_duration_ms_sum) as f64 / count.max(1) as f64
    };
    let py_init = Row::value(
        PEER,
        "Init Duration, Python worker",
        "ms",
        init(&python, &py_before),
    );
    report.add(py_init.clone());
    report.add(
        Row::value(PEER, "Init Duration, worker-fn", "ms", init(&rust, &before)).against(&py_init),
    );
    let py_row = py_first.row(PEER, "workflow start → first workflow task, Python worker");
    report.add(py_row.clone());
    report.add(
        rust_first
            .row(PEER, "order start → first workflow task, worker-fn")
            .against(&py_row),
    );
    let py_billed = Row::value(
        PEER,
        "billed ms per workflow, Python worker (polls to deadline − 7 s)",
        "ms",
        billed(&python, &py_before, py_first.len()),
    )
    .note(format!(
        "{} invocations",
        python.invocations - py_before.invocations
    ));
    report.add(py_billed.clone());
    report.add(
        Row::value(
            PEER,
            "billed ms per order, worker-fn (idle exit 300 ms)",
            "ms",
            billed(&rust, &before, rust_first.len()),
        )
        .against(&py_billed)
        .note(format!(
            "{} invocations",
            rust.invocations - before.invocations
        )),
    );
    let py_memory = Row::value(
        PEER,
        "peak memory (REPORT Max Memory Used), Python worker",
        "MB",
        max_memory_used(&log_dir, &py),
    );
    report.add(py_memory.clone());
    report.add(
        Row::value(
            PEER,
            "peak memory (REPORT Max Memory Used), worker-fn",
            "MB",
            max_memory_used(&log_dir, WORKER_FUNCTION),
        )
        .against(&py_memory),
    );
}

/// Starts the Python fixture's `Greet` workflow and waits for its result (Temporal CLI).
async fn greet(app: &TestApp, task_queue: &str, workflow_id: &str) -> Result<(), String> {
    let run = |args: Vec<String>| {
        let mut command = app._temporal.cli();
        command.args(args);
        tokio::task::spawn_blocking(move || command.output())
    };
    let start = [
        "workflow",
        "start",
        "--type",
        "Greet",
        "--task-queue",
        task_queue,
        "--workflow-id",
        workflow_id,
        "--input",
        "\"bench\"",
    ];
    let started = run(start.map(String::from).to_vec())
        .await
        .expect("CLI thread")
        .map_err(|e| e.to_string())?;
    if !started.status.success() {
        return Err(String::from_utf8_lossy(&started.stderr).into_owned());
    }
    let result = [
        "workflow",
        "result",
        "--workflow-id",
        workflow_id,
        "--output",
        "json",
        "--command-timeout",
        "120s",
    ];
    let result = run(result.map(String::from).to_vec())
        .await
        .expect("CLI thread")
        .map_err(|e| e.to_string())?;
    let parsed: Value = serde_json::from_slice(&result.stdout).unwrap_or_default();
    if parsed["status"] != "COMPLETED" {
        return Err(format!(
            "not completed: {}",
            String::from_utf8_lossy(&result.stdout)
        ));
    }
    Ok(())
}

/// The largest `Max Memory Used` of `function`'s REPORT lines in `log_dir`.
fn max_memory_used(log_dir: &Path, function: &str) -> f64 {
    let text = std::fs::read_to_string(log_dir.join(format!("{function}.log"))).unwrap_or_default();
    text.lines()
        .filter(|line| line.contains("REPORT RequestId:"))
        .filter_map(|line| {
            line.split("Max Memory Used: ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .fold(0.0, f64::max)
}

async fn wait_for(done: impl Fn() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(
            Instant::now() < give_up,
            "the function did not settle in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What each trial waits for before its order starts.
#[derive(Clone, Copy)]
enum Before {
    Nothing,
    /// The previous invocation ended (idle exit): the controller must invoke again.
    NoInvocation,
    /// The environment was reaped too: the next invocation starts a new process.
    NoEnvironment,
}

/// Runs `n` orders one after the other; times start → completed. Orders that ran anywhere but
/// where expected are reported, not counted.
async fn timed_orders(app: &TestApp, n: usize, expect: Expect, before: Before) -> Samples {
    let mut samples = Samples::default();
    for _ in 0..n {
        match before {
            Before::Nothing => {}
            Before::NoInvocation => until_no_invocation_runs(app).await,
            Before::NoEnvironment => until_no_environment(app).await,
        }
        let order = app.order(|_| {});
        let t = Instant::now();
        let outcome = app.run(&order).await;
        let latency = t.elapsed();
        assert!(outcome.is_completed(), "{outcome:?}");
        let identities = app
            .task_identities(&shared::workflow_id(&order.order_id))
            .await;
        if identities
            .iter()
            .all(|i| is_lambda(i) == (expect == Expect::Lambda))
        {
            samples.push(latency);
        } else {
            println!("  (an order ran elsewhere than expected and is not counted: {identities:?})");
        }
    }
    samples
}

fn is_lambda(identity: &str) -> bool {
    identity.contains(&format!(":function:{WORKER_FUNCTION}"))
}

fn stats(app: &TestApp) -> lambda_emulator::metrics::FunctionStats {
    app.lambda_stats()
}

async fn until_no_invocation_runs(app: &TestApp) {
    wait_until(app, |s| s.concurrent_executions == 0).await;
}

async fn until_no_environment(app: &TestApp) {
    wait_until(app, |s| s.concurrent_executions == 0 && s.environments == 0).await;
}

async fn wait_until(
    app: &TestApp,
    done: impl Fn(&lambda_emulator::metrics::FunctionStats) -> bool,
) {
    assert!(
        app.lambda_settles(done, Duration::from_secs(120)).await,
        "the Lambda worker did not settle: {:?}",
        stats(app)
    );
}

/// The end-of-invocation EMF records the worker printed, oldest first.
fn emf_records(log_dir: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(log_dir.join(format!("{WORKER_FUNCTION}.log"))).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(&line[line.find('{')?..]).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

/// A time (`metric`, milliseconds) from the EMF records of the invocations after the first
/// `skip`, of those whose `ClientReused` is `reused`.
fn emf_times(log_dir: &Path, metric: &str, skip: usize, reused: bool) -> Samples {
    Samples(
        emf_records(log_dir)
            .iter()
            .skip(skip)
            .filter(|r| r["ClientReused"].as_bool() == Some(reused))
            .filter_map(|r| r[metric].as_f64())
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .collect(),
    )
}

/// Peak resident set size of a process, from `/proc/<pid>/status`.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// How long after `from` (default: the workflow's start) its first task started on a Lambda
/// worker, from the workflow's history; `None` if none ran there.
async fn first_lambda_task(
    app: &TestApp,
    workflow_id: &str,
    from: Option<SystemTime>,
) -> Option<Result<Duration, Early>> {
    first_task_since(app, workflow_id, from, WORKER_FUNCTION).await
}

/// How long after its start a workflow's first task started on `function`.
async fn first_task_on(
    app: &TestApp,
    workflow_id: &str,
    function: &str,
) -> Option<Result<Duration, Early>> {
    first_task_since(app, workflow_id, None, function).await
}

async fn first_task_since(
    app: &TestApp,
    workflow_id: &str,
    from: Option<SystemTime>,
    function: &str,
) -> Option<Result<Duration, Early>> {
    use temporalio_client::WorkflowFetchHistoryOptions;
    let on_function = |identity: &str| identity.contains(&format!(":function:{function}"));
    let events = shared::orders::handle(&app.client, workflow_id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history");
    let from = from.or_else(|| events.first().and_then(event_time))?;
    events
        .iter()
        .filter(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => on_function(&a.identity),
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => on_function(&a.identity),
            _ => false,
        })
        .filter_map(event_time)
        .min()
        .map(|t| t.duration_since(from).map_err(|_| Early))
}

/// A Lambda worker ran a task of the order before the moment measured from (e.g. during the
/// local worker's drain): a trial with nothing to take over.
#[derive(Debug)]
struct Early;

/// Watches the workflow's pending activity until an attempt after the first one has started on
/// a Lambda worker; returns how long after `from` it started. `None` if the workflow moved on
/// without that (e.g. the attempt was not cut off) within 30 s.
async fn retry_started_on_lambda(
    app: &TestApp,
    workflow_id: &str,
    from: SystemTime,
) -> Option<Duration> {
    let handle = shared::orders::handle(&app.client, workflow_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let described = handle.describe(Default::default()).await.ok()?;
        let retry = described
            .raw_description
            .pending_activities
            .iter()
            .find(|a| a.attempt >= 2 && is_lambda(&a.last_worker_identity));
        if let Some(started) = retry.and_then(|a| a.last_started_time.as_ref()) {
            return Some(
                timestamp(started.seconds, started.nanos)?
                    .duration_since(from)
                    .unwrap_or_default(),
            );
        }
        if described.raw_description.pending_activities.is_empty()
            && described
                .raw_description
                .workflow_execution_info
                .as_ref()
                .is_some_and(|i| i.close_time.is_some())
        {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn timestamp(seconds: i64, nanos: i32) -> Option<SystemTime> {
    Some(
        SystemTime::UNIX_EPOCH
            + Duration::new(u64::try_from(seconds).ok()?, u32::try_from(nanos).ok()?),
    )
}

fn event_time(event: &HistoryEvent) -> Option<SystemTime> {
    let t = event.event_time.as_ref()?;
    timestamp(t.seconds, t.nanos)
}
