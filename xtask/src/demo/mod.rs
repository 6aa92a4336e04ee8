//! `cargo xtask demo`: the whole story on one machine, no AWS account.
//!
//! 1. **Local worker at work** — orders run on the long-lived `local-worker`: one completes, one
//!    is declined and compensates, one meets a payment outage and still charges exactly once.
//! 2. **Crash** — with orders in flight, the local worker is SIGKILLed. Temporal's Worker
//!    Controller sees tasks and no poller and invokes the emulated `shopflow-worker` Lambda;
//!    in-flight and new orders finish there.
//! 3. **Scale to zero** — with nothing left to do, Lambda invocations and environments drop to
//!    zero.
//!
//! It then prints the numbers (takeover latency, invocations, cold starts, billed GB-seconds and
//! cost next to an always-on worker), writes `target/shopflow/demo-report.json` and
//! `demo-chart.svg`, and checks itself: the exit code is non-zero if an order is lost, stuck or
//! charged twice (the shop's ledger).

mod orders;
mod report;
mod world;

use std::collections::HashMap;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use devstack::shop::{Ending, ShopAdmin, check_invariants};
use shared::OrderOutcome;
use shared::domain::Order;

use crate::interrupt::Interrupt;
use crate::ui;
use orders::{StepRun, WorkerKind};
use world::{Ports, WORKER_FUNCTION, World};

#[derive(Args)]
pub struct DemoArgs {
    /// Pause between acts (press Enter to go on) — for presenting.
    #[arg(long)]
    interactive: bool,
    /// Orders in flight when the local worker is killed.
    #[arg(long, default_value_t = 6)]
    in_flight: usize,
    /// Orders placed after the kill.
    #[arg(long, default_value_t = 4)]
    after_kill: usize,
    /// Seconds an idle Lambda environment lives before it is reaped (scale to zero).
    #[arg(long, default_value_t = 10)]
    idle_timeout: u64,
    /// Skip `cargo build` (binaries already built).
    #[arg(long)]
    no_build: bool,
    #[arg(long, default_value_t = 7233)]
    temporal_port: u16,
    #[arg(long, default_value_t = 8233)]
    ui_port: u16,
    #[arg(long, default_value_t = 4566)]
    sqs_port: u16,
    #[arg(long, default_value_t = 9001)]
    lambda_port: u16,
    #[arg(long, default_value_t = 3000)]
    http_port: u16,
    #[arg(long, default_value_t = 8080)]
    shop_port: u16,
}

/// The binaries the demo runs.
const BINARIES: &[&str] = &["storefront", "local-worker", "worker-fn", "lambda-emulator"];

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let interrupt = Interrupt::install()?;
    if !args.no_build {
        build()?;
    }
    interrupt.check()?;
    let ports = Ports {
        temporal: args.temporal_port,
        ui: args.ui_port,
        sqs: args.sqs_port,
        lambda: args.lambda_port,
        http_api: args.http_port,
        shop: args.shop_port,
    };
    let mut world = World::start(&ports, Duration::from_secs(args.idle_timeout))?;
    if let Some(url) = &world.ui_url {
        ui::note(&format!("Temporal Web UI: {url}/namespaces/default/workflows"));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(story(&mut world, &args, &interrupt));
    let stopped = world.stop();
    let code = result?;
    stopped?;
    Ok(code)
}

fn build() -> Result<()> {
    let done = ui::streamed("Building the demo's binaries (cargo build)");
    let mut cmd = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("build").current_dir(devstack::workspace_root());
    for b in BINARIES {
        cmd.args(["--bin", b]);
    }
    let ok = cmd.status().context("running cargo build")?.success();
    done(ok);
    anyhow::ensure!(ok, "cargo build failed");
    Ok(())
}

fn pause(args: &DemoArgs, next: &str) {
    if args.interactive {
        eprint!("\n⏸  Next: {next}. Press Enter… ");
        let _ = std::io::stdin().lock().lines().next();
    }
}

fn act(title: &str) {
    eprintln!("\n━━ {title} ━━");
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

struct Placed {
    order: Order,
    act: &'static str,
}

async fn story(world: &mut World, args: &DemoArgs, interrupt: &Interrupt) -> Result<ExitCode> {
    let started = Instant::now();
    let client = shared::connection::connect_to(&world.setup.temporal_address, &world.setup.namespace).await?;
    let shop = ShopAdmin::new(&world.shop_url());
    let initial_stock = shop.stock().await?;
    let mut placed: Vec<Placed> = Vec::new();
    let mut marks: Vec<(u64, &str)> = vec![(unix_now(), "start")];

    // ── Act 1 ────────────────────────────────────────────────────────────────────────────
    act("Act 1 — the local worker processes orders");
    world.start_local_worker()?;
    let happy = orders::new_order("happy", 1, |_| {});
    let declined = orders::new_order("declined", 2, |o| o["customer"]["id"] = "decline-card-expired".into());
    let flaky = orders::new_order("flaky", 3, |o| o["customer"]["id"] = "cust-flaky".into());
    // Payments fail (503) for cust-flaky for three seconds, then recover.
    shop.set_faults(serde_json::json!({ "failCustomers": ["cust-flaky"], "services": ["payments"] })).await?;
    for o in [&happy, &declined, &flaky] {
        orders::place(&client, o).await?;
        placed.push(Placed { order: o.clone(), act: "local" });
    }
    ui::note("placed: one ordinary order, one with a declined card, one during a 3 s payment outage");
    tokio::time::sleep(Duration::from_secs(3)).await;
    shop.set_faults(serde_json::json!({})).await?;
    let act1: Vec<Order> = placed.iter().map(|p| p.order.clone()).collect();
    let outcomes = orders::wait_all(&client, &act1, Duration::from_secs(120)).await?;
    for o in &act1 {
        let timeline = orders::timeline(&client, o.order_id.as_str()).await?;
        print_outcome(o, &outcomes[o.order_id.as_str()], &timeline);
    }
    interrupt.check()?;
    pause(args, "kill the local worker with orders in flight");

    // ── Act 2 ────────────────────────────────────────────────────────────────────────────
    act("Act 2 — SIGKILL the local worker mid-order; Lambda takes over");
    // Slow shipments keep orders in flight long enough to kill the worker under them.
    shop.set_faults(serde_json::json!({ "latencyMs": 1500, "services": ["shipments"] })).await?;
    let mut in_flight = Vec::new();
    for n in 0..args.in_flight {
        let o = orders::new_order("inflight", n, |_| {});
        orders::place(&client, &o).await?;
        in_flight.push(o);
    }
    wait_until_shipping(&client, &in_flight[0]).await?;
    // A Lambda worker may already be polling (the controller also invokes when tasks back up),
    // which would make the takeover look instant: say so.
    let lambda_at_kill = report::function_metrics(&world.emulator_url(), WORKER_FUNCTION).await?.stats.concurrent_executions;
    let kill_at = SystemTime::now();
    let worker = world.worker.take().context("local worker running")?;
    worker.kill()?;
    marks.push((unix_now(), "SIGKILL local"));
    ui::ok(&format!("local-worker SIGKILLed with {} orders in flight", in_flight.len()));
    let mut after = Vec::new();
    for n in 0..args.after_kill {
        let o = orders::new_order("afterkill", n, |_| {});
        orders::place(&client, &o).await?;
        after.push(o);
    }
    ui::note(&format!("{} new orders placed with no local worker", after.len()));
    let act2: Vec<Order> = in_flight.iter().chain(&after).cloned().collect();
    let outcomes2 = orders::wait_all(&client, &act2, Duration::from_secs(180)).await?;
    shop.set_faults(serde_json::json!({})).await?;
    let mut timelines: HashMap<String, Vec<StepRun>> = HashMap::new();
    for o in &act2 {
        timelines.insert(o.order_id.to_string(), orders::timeline(&client, o.order_id.as_str()).await?);
    }
    let takeover = takeover_latency(kill_at, in_flight.iter().map(|o| &timelines[o.order_id.as_str()]));
    let retried = retried_after_kill(kill_at, in_flight.iter().map(|o| &timelines[o.order_id.as_str()]));
    for o in &act2 {
        print_outcome(o, &outcomes2[o.order_id.as_str()], &timelines[o.order_id.as_str()]);
    }
    match takeover {
        Some(t) => ui::ok(&format!(
            "takeover: first in-flight task ran on Lambda {} after the kill ({lambda_at_kill} Lambda invocations were already running)",
            ui::seconds(t)
        )),
        None => ui::failed("no in-flight order moved to Lambda"),
    }
    if let (Some(first), Some(last)) = (retried.iter().min(), retried.iter().max()) {
        ui::ok(&format!(
            "{} activities cut off by the kill were retried on Lambda {}–{} after it (heartbeat timeout {})",
            retried.len(),
            ui::seconds(*first),
            ui::seconds(*last),
            ui::seconds(shared::workflow::ACTIVITY_HEARTBEAT_TIMEOUT)
        ));
    }
    placed.extend(in_flight.into_iter().map(|order| Placed { order, act: "in-flight at kill" }));
    placed.extend(after.into_iter().map(|order| Placed { order, act: "after kill" }));
    interrupt.check()?;
    pause(args, "wait for the Lambda worker to scale to zero");

    // ── Act 3 ────────────────────────────────────────────────────────────────────────────
    act("Act 3 — nothing to do: Lambda scales to zero");
    let idle_since = Instant::now();
    let emulator_url = world.emulator_url();
    let limit = Duration::from_secs(args.idle_timeout + 60);
    let metrics = loop {
        let m = report::function_metrics(&emulator_url, WORKER_FUNCTION).await?;
        if m.stats.concurrent_executions == 0 && m.stats.environments == 0 {
            break m;
        }
        anyhow::ensure!(idle_since.elapsed() < limit, "Lambda environments still alive after {limit:?}");
        interrupt.check()?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    marks.push((unix_now(), "zero"));
    ui::ok(&format!(
        "0 running invocations, 0 environments ({} after the last order)",
        ui::seconds(idle_since.elapsed())
    ));

    // ── Report ───────────────────────────────────────────────────────────────────────────
    act("Report");
    let mut all_outcomes = outcomes;
    all_outcomes.extend(outcomes2);
    let endings: HashMap<String, Ending> = all_outcomes
        .iter()
        .map(|(id, o)| (id.clone(), if o.is_completed() { Ending::Completed } else { Ending::Compensated }))
        .collect();
    let ledger = shop.ledger(None).await?;
    let problems = check_invariants(&initial_stock, &ledger, &endings);
    let completed = endings.values().filter(|e| **e == Ending::Completed).count();
    let compensated = endings.len() - completed;
    let wall = started.elapsed().as_secs_f64();
    let cost = report::cost(&metrics.stats, wall);
    let s = &metrics.stats;
    ui::note(&format!("orders placed {}, completed {completed}, compensated {compensated}, lost or stuck {}", placed.len(), placed.len() - endings.len()));
    if let Some(t) = takeover {
        ui::note(&format!("takeover latency after SIGKILL: {}", ui::seconds(t)));
    }
    ui::note(&format!(
        "Lambda: {} invocations, {} cold starts, max {} concurrent, {} ms billed, {:.3} GB-s",
        s.invocations, s.cold_starts, s.concurrent_executions_max, s.billed_duration_ms_sum, s.gb_seconds
    ));
    ui::note(&format!(
        "cost at public prices: Lambda ${:.6} vs an always-on 0.25 vCPU worker ${:.6} for the same {:.0} s (and $0 vs ${:.2}/month when idle)",
        cost.lambda_usd,
        cost.always_on_usd,
        wall,
        report::ALWAYS_ON_PER_HOUR * 730.0
    ));
    let timeline: Vec<&StepRun> = timelines.values().flatten().collect();
    let json = serde_json::json!({
        "orders": placed.iter().map(|p| serde_json::json!({
            "orderId": p.order.order_id.as_str(),
            "act": p.act,
            "outcome": all_outcomes.get(p.order.order_id.as_str()),
        })).collect::<Vec<_>>(),
        "summary": { "placed": placed.len(), "completed": completed, "compensated": compensated },
        "takeoverSeconds": takeover.map(|t| t.as_secs_f64()),
        "lambdaInvocationsRunningAtKill": lambda_at_kill,
        "cutOffActivityRetrySeconds": retried.iter().map(|d| d.as_secs_f64()).collect::<Vec<_>>(),
        "lambda": metrics.stats,
        "series": metrics.series,
        "cost": cost,
        "timeline": timeline,
        "ledgerProblems": problems,
    });
    let out = devstack::target_dir().join("shopflow");
    report::write(&out, &json, &report::chart_svg(&metrics.series, &marks))?;
    ui::note(&format!("report: {}  chart: {}", out.join("demo-report.json").display(), out.join("demo-chart.svg").display()));

    if problems.is_empty() && endings.len() == placed.len() {
        ui::ok("ledger check: every order ended, every effect happened once, stock conserved");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            ui::failed(p);
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Wait until `order` is shipping (its slow step), so the kill lands mid-activity.
async fn wait_until_shipping(client: &temporalio_client::Client, order: &Order) -> Result<()> {
    let wf = shared::workflow_id(&order.order_id);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(p) = shared::orders::progress(client, &wf).await
            && p.step == shared::OrderStep::CreatingShipment
        {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "order {} never reached CreatingShipment", order.order_id);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// From the kill to the first task of an in-flight order that a Lambda worker ran.
fn takeover_latency<'a>(kill_at: SystemTime, timelines: impl Iterator<Item = &'a Vec<StepRun>>) -> Option<Duration> {
    timelines
        .flatten()
        .filter(|r| r.worker == WorkerKind::Lambda && r.at >= kill_at)
        .filter_map(|r| r.at.duration_since(kill_at).ok())
        .min()
}

/// For each activity the kill cut off: how long after the kill its retry started on Lambda.
fn retried_after_kill<'a>(kill_at: SystemTime, timelines: impl Iterator<Item = &'a Vec<StepRun>>) -> Vec<Duration> {
    timelines
        .flatten()
        .filter(|r| r.worker == WorkerKind::Lambda && r.attempt > 1 && r.step != "WorkflowTask")
        .filter_map(|r| r.at.duration_since(kill_at).ok())
        .collect()
}

fn print_outcome(order: &Order, outcome: &OrderOutcome, timeline: &[StepRun]) {
    let steps: Vec<String> = timeline
        .iter()
        .filter(|r| r.step != "WorkflowTask")
        .map(|r| {
            let retry = if r.attempt > 1 { format!("#{}", r.attempt) } else { String::new() };
            format!("{}{retry}@{}", r.step, r.worker.label())
        })
        .collect();
    let what = match outcome {
        OrderOutcome::Completed { charge_id, .. } => format!("Completed (charge {charge_id})"),
        OrderOutcome::Compensated { reason_code, undone, .. } => {
            format!("Compensated: {reason_code}, undone {}", undone.iter().map(|u| u.action.as_str()).collect::<Vec<_>>().join(", "))
        }
    };
    ui::ok(&format!("{} {what}", order.order_id));
    ui::note(&format!("  {}", steps.join(" → ")));
}
