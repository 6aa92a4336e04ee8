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
//!   trickle of orders, and the wall time an always-on worker would have run;
//! * **takeover** after SIGKILL and after Ctrl+C of the local worker, for an order in flight
//!   (mid-activity) and for a new order, p50/p95 over the trials;
//! * **peak RSS** (VmHWM) of the Lambda worker's process vs the local worker's, and the size of
//!   the binaries.
//!
//! `cargo xtask bench` runs it against release binaries (and merges its report); alone:
//! `cargo build --release --bins && SHOPFLOW_BIN_DIR=target/release cargo bench -p system-tests
//! --bench serverless`. `SHOPFLOW_BENCH_TRIALS` (default 10) sets the trials per figure.
//! Numbers only — no assertion on time: the machine is shared and noisy.

#[path = "../tests/support/app.rs"]
mod helpers;

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
    if run("billed") {
        billed_per_order(n.min(8), &work_dir, &mut report).await;
    }
    if run("takeover") {
        takeover(n, &work_dir, &mut report).await;
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
    let mut rows = Vec::new();
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
        for i in 0..n {
            app.run(&app.order(|_| {})).await;
            if i + 1 < n {
                tokio::time::sleep(gap).await;
            }
        }
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
        rows.push(row);
    }
    let polling = rows.remove(0);
    report.add(polling.clone());
    report.add(rows.remove(0).against(&polling));
}

/// The local worker is stopped (SIGKILL, or Ctrl+C and its drain) while an order is mid-activity
/// (the shipment call takes 1.5 s); a new order is started at once. In flight: from the moment
/// the local worker is gone to the order's first task started on Lambda. New order: from its
/// start to its first task started on Lambda. The Lambda worker is idle (scaled to zero, warm
/// environment) at each trial's start, as it would be in production.
async fn takeover(n: usize, dir: &Path, report: &mut BenchReport) {
    let mut app = TestApp::spawn_tuned(
        Options {
            local_worker: true,
            lambda: lambda(60, "2s"),
        }, // worker-fn's default idle exit
        EmulatorTuning {
            log_dir: dir.join("takeover"),
            environment_idle_timeout: Duration::from_secs(120),
            ..EmulatorTuning::default()
        },
    )
    .await;
    app.set_faults(json!({ "latencyMs": 1500, "services": ["shipments"] }))
        .await;
    // Two orders per trial: enough stock that none is refused (it would never reach shipping).
    stock_up(&app).await;
    for (how, sigkill) in [("SIGKILL", true), ("Ctrl+C", false)] {
        let (mut in_flight, mut new) = (Trials::default(), Trials::default());
        for _ in 0..n {
            until_no_invocation_runs(&app).await;
            if app.worker.is_none() {
                app.start_worker();
            }
            let order = app.order(|_| {});
            let started = app.start(&order).await.expect("start");
            if let Err(error) = app
                .wait_for_step(&started.workflow_id, shared::OrderStep::CreatingShipment)
                .await
            {
                // Reported, not fatal: one stuck trial must not cost the whole report.
                println!("  (trial skipped: {error:#})");
                in_flight.stuck += 1;
                continue;
            }
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
                "kill → retry started on Lambda: heartbeat timeout 1 s, checked by the server up to 1 s late (history.timerProcessorMaxTimeShift), + first retry 0.2 s",
                "no retry seen on Lambda",
            )
        } else {
            (
                "local worker exited (after its drain) → next task on Lambda",
                "no task on Lambda",
            )
        };
        report.add(
            in_flight
                .samples
                .row(TAKEOVER, &format!("{how}, order in flight (mid-activity)"))
                .note(in_flight.note(in_flight_note, missing)),
        );
        report.add(
            new.samples
                .row(TAKEOVER, &format!("{how}, new order"))
                .note(new.note("order start → first task on Lambda", missing)),
        );
    }
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
        },
    )
    .await;
    stock_up(&app).await;
    app
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
    use temporalio_client::WorkflowFetchHistoryOptions;
    let events = shared::orders::handle(&app.client, workflow_id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history");
    let from = from.or_else(|| events.first().and_then(event_time))?;
    events
        .iter()
        .filter(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => is_lambda(&a.identity),
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => is_lambda(&a.identity),
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
