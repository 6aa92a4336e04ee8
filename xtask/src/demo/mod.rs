//! `cargo xtask demo`: the whole story on one machine, no AWS account.
//!
//! 1. **Front door, local worker at work** — orders come in the way a shop's do: bought on the
//!    storefront (`POST /shop/orders`, forwarded to `ingest-fn` behind the emulator's HTTP API)
//!    and pushed onto the SQS orders queue with `push-events` (sample events, one a duplicate, one
//!    invalid, which ingest-fn dead-letters). `ingest-fn` starts each once; they run on the
//!    long-lived `local-worker`: one completes, one is declined and compensates, one meets a
//!    payment outage and still charges exactly once.
//! 2. **Crash** — with orders in flight, the local worker is SIGKILLed. Temporal's Worker
//!    Controller sees tasks and no poller and invokes the emulated `shopflow-worker` Lambda;
//!    in-flight and new orders finish there.
//! 3. **Scale to zero** — with nothing left to do, Lambda invocations and environments drop to
//!    zero.
//!
//! It then prints the numbers (how orders came in, takeover latency, invocations, cold starts, billed GB-seconds and
//! cost next to an always-on worker), writes `target/shopflow/demo-report.json` and
//! `demo-chart.svg`, and checks itself: the exit code is non-zero if an order is lost, stuck or
//! charged twice (the shop's ledger).

mod front_door;
mod orders;
mod report;
pub(crate) mod world;

use std::collections::HashMap;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use devstack::shop::{Ending, ShopAdmin, check_invariants};
use shared::OrderOutcome;

use crate::interrupt::Interrupt;
use crate::ui;
use front_door::{FrontDoor, Intake, sample_event};
use orders::{StepRun, WorkerKind, workflow_id};
use world::{INGEST_FUNCTION, Ports, WORKER_FUNCTION, World};

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
const BINARIES: &[&str] = &[
    "storefront",
    "local-worker",
    "worker-fn",
    "ingest-fn",
    "push-events",
    "lambda-emulator",
];

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
        ui::note(&format!(
            "Temporal Web UI: {url}/namespaces/default/workflows"
        ));
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
    let mut cmd =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
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
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How an order came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Via {
    /// `POST /orders` (through the storefront's page endpoint).
    Http,
    /// A message on the orders queue.
    Sqs,
}

struct Placed {
    order_id: String,
    /// What the order is in the story (`declined`, `inflight-2`, …).
    label: String,
    act: &'static str,
    via: Via,
}

impl Placed {
    fn new(order_id: String, label: impl Into<String>, act: &'static str, via: Via) -> Self {
        Self {
            order_id,
            label: label.into(),
            act,
            via,
        }
    }
}

fn ids<'a>(placed: impl IntoIterator<Item = &'a Placed>) -> Vec<String> {
    placed.into_iter().map(|p| p.order_id.clone()).collect()
}

/// How long an order sent through the queue may take to be started by ingest-fn.
const SQS_START_TIMEOUT: Duration = Duration::from_secs(60);

async fn story(world: &mut World, args: &DemoArgs, interrupt: &Interrupt) -> Result<ExitCode> {
    let started = Instant::now();
    let client =
        shared::connection::connect_to(&world.setup.temporal_address, &world.setup.namespace)
            .await?;
    let shop = ShopAdmin::new(&world.shop_url());
    let door = FrontDoor::new(
        &world.shop_url(),
        (&world.ingest_url(), &world.ingest_secret),
        world.queues.clone(),
        devstack::paths::data_dir().join("demo").join("outbox"),
    );
    let events = devstack::workspace_root().join("events").join("orders");
    let initial_stock = shop.stock().await?;
    let mut placed: Vec<Placed> = Vec::new();
    let mut intake = Intake::default();
    // Front-door answers that were not what the contract says: the run fails on any.
    let mut door_problems: Vec<String> = Vec::new();
    let mut marks: Vec<(u64, &str)> = vec![(unix_now(), "start")];
    ui::note(&format!(
        "storefront page {0}/ and live dashboard {0}/dashboard",
        world.shop_url()
    ));

    // ── Act 1 ────────────────────────────────────────────────────────────────────────────
    act("Act 1 — orders come in through the front door; the local worker processes them");
    world.start_local_worker()?;
    // Payments fail (503) for cust-flaky for three seconds, then recover.
    shop.set_faults(
        serde_json::json!({ "failCustomers": ["cust-flaky"], "services": ["payments"] }),
    )
    .await?;
    let outage_ends = tokio::time::Instant::now() + Duration::from_secs(3);
    for (label, customer) in [
        ("happy", "cust-42"),
        ("declined", "decline-card-expired"),
        ("flaky", "cust-flaky"),
    ] {
        let order_id = door.buy(customer).await?;
        intake.via_http += 1;
        placed.push(Placed::new(order_id, label, "local", Via::Http));
    }
    ui::ok(
        "storefront POST /shop/orders → ingest-fn: one ordinary order, one with a declined card, one during a 3 s payment outage",
    );
    let sqs_valid = orders::fresh_id("sqs", 1);
    let sqs_unicode = orders::fresh_id("sqs", 2);
    let sqs_invalid = orders::fresh_id("sqs-bad", 3);
    let messages = [
        ("valid", sample_event(&events, "valid.json", &sqs_valid)?),
        (
            "valid-duplicate",
            sample_event(&events, "valid-duplicate.json", &sqs_valid)?,
        ),
        (
            "valid-unicode",
            sample_event(&events, "valid-unicode.json", &sqs_unicode)?,
        ),
        (
            "invalid-rules",
            sample_event(&events, "invalid-rules.json", &sqs_invalid)?,
        ),
    ]
    .map(|(name, body)| (name.to_owned(), body));
    door.push(&messages).await?;
    ui::ok(&format!(
        "push-events: {} sample events onto SQS queue {} (valid, its duplicate, unicode, invalid)",
        messages.len(),
        world.queues.orders_url
    ));
    tokio::time::sleep_until(outage_ends).await;
    shop.set_faults(serde_json::json!({})).await?;

    // A shopper's retry and a broken request, straight to ingest's POST /orders.
    let happy = placed[0].order_id.clone();
    match shared::orders::started_with(&client, &workflow_id(&happy)?).await? {
        Some(order) => {
            let answer = door.post(&serde_json::to_vec(&order)?).await?;
            if answer.status == 200 && answer.body["duplicate"] == true {
                intake.duplicates += 1;
                ui::ok(&format!(
                    "POST /orders of {happy} again: 200 duplicate — the same workflow, not a second one"
                ));
            } else {
                door_problems.push(format!(
                    "a repeated POST /orders of {happy} answered {}: {}",
                    answer.status, answer.body
                ));
            }
        }
        None => door_problems.push(format!("order {happy}'s workflow has no order input")),
    }
    let broken = sample_event(
        &events,
        "invalid-rules.json",
        &orders::fresh_id("http-bad", 1),
    )?;
    let answer = door.post(broken.as_bytes()).await?;
    if answer.status == 400 {
        intake.rejected += 1;
        let broken_rules = answer.body["errors"].as_array().map_or(0, Vec::len);
        ui::ok(&format!(
            "POST /orders of events/orders/invalid-rules.json: 400 {} ({broken_rules} broken rules listed), nothing started",
            answer.body["title"].as_str().unwrap_or("?")
        ));
    } else {
        door_problems.push(format!(
            "an invalid POST /orders answered {}: {}",
            answer.status, answer.body
        ));
    }

    // The queue: both valid orders start, the duplicate does not, the invalid one is
    // dead-lettered with its reason.
    for (id, label) in [(&sqs_valid, "sqs-valid"), (&sqs_unicode, "sqs-unicode")] {
        orders::wait_started(&client, id, SQS_START_TIMEOUT).await?;
        intake.via_sqs += 1;
        placed.push(Placed::new(id.clone(), label, "local", Via::Sqs));
    }
    door.drained(SQS_START_TIMEOUT).await?;
    match orders::runs_of(&client, &sqs_valid, true).await? {
        1 => {
            intake.duplicates += 1;
            ui::ok(&format!(
                "the duplicate message of {sqs_valid} did not start a second workflow (1 run of order-{sqs_valid})"
            ));
        }
        n => door_problems.push(format!(
            "order {sqs_valid} has {n} workflow runs after its duplicate message"
        )),
    }
    let dead = door
        .dead_letters(&[&sqs_invalid], Duration::from_secs(30))
        .await?;
    intake.rejected += dead.len();
    intake.dead_lettered += dead.len();
    match dead.first() {
        Some(d) => ui::ok(&format!(
            "the invalid message {} went to the DLQ: {} — {}",
            d.order_id, d.rule, d.reason
        )),
        None => door_problems.push(format!(
            "the invalid message {sqs_invalid} is not on the dead-letter queue"
        )),
    }
    anyhow::ensure!(
        orders::runs_of(&client, &sqs_invalid, false).await? == 0,
        "the invalid message {sqs_invalid} started a workflow"
    );

    let act1 = ids(&placed);
    let outcomes = orders::wait_all(&client, &act1, Duration::from_secs(120)).await?;
    for p in &placed {
        let timeline = orders::timeline(&client, &p.order_id).await?;
        print_outcome(p, &outcomes[&p.order_id], &timeline);
    }
    interrupt.check()?;
    pause(args, "kill the local worker with orders in flight");

    // ── Act 2 ────────────────────────────────────────────────────────────────────────────
    act("Act 2 — SIGKILL the local worker mid-order; Lambda takes over");
    // Slow shipments keep orders in flight long enough to kill the worker under them.
    shop.set_faults(serde_json::json!({ "latencyMs": 1500, "services": ["shipments"] }))
        .await?;
    let mut in_flight = Vec::new();
    for n in 0..args.in_flight {
        let order_id = door.buy("cust-42").await?;
        intake.via_http += 1;
        in_flight.push(Placed::new(
            order_id,
            format!("inflight-{n}"),
            "in-flight at kill",
            Via::Http,
        ));
    }
    ui::note(&format!(
        "{} orders placed on the storefront",
        in_flight.len()
    ));
    wait_until_shipping(&client, &in_flight[0].order_id).await?;
    // A Lambda worker may already be polling (the controller also invokes when tasks back up),
    // which would make the takeover look instant: say so.
    let lambda_at_kill = report::function_metrics(&world.emulator_url(), WORKER_FUNCTION)
        .await?
        .stats
        .concurrent_executions;
    let kill_at = SystemTime::now();
    let worker = world.worker.take().context("local worker running")?;
    worker.kill()?;
    marks.push((unix_now(), "SIGKILL local"));
    ui::ok(&format!(
        "local-worker SIGKILLed with {} orders in flight",
        in_flight.len()
    ));
    let after: Vec<Placed> = (0..args.after_kill)
        .map(|n| {
            Placed::new(
                orders::fresh_id("afterkill", n),
                format!("afterkill-{n}"),
                "after kill",
                Via::Sqs,
            )
        })
        .collect();
    let messages: Vec<(String, String)> = after
        .iter()
        .map(|p| (p.label.clone(), orders::sample_body(&p.order_id)))
        .collect();
    door.push(&messages).await?;
    for p in &after {
        orders::wait_started(&client, &p.order_id, SQS_START_TIMEOUT).await?;
        intake.via_sqs += 1;
    }
    ui::note(&format!(
        "{} new orders sent through SQS with no local worker",
        after.len()
    ));
    let act2: Vec<Placed> = in_flight.into_iter().chain(after).collect();
    let outcomes2 = orders::wait_all(&client, &ids(&act2), Duration::from_secs(180)).await?;
    shop.set_faults(serde_json::json!({})).await?;
    let mut timelines: HashMap<String, Vec<StepRun>> = HashMap::new();
    for p in &act2 {
        timelines.insert(
            p.order_id.clone(),
            orders::timeline(&client, &p.order_id).await?,
        );
    }
    let in_flight_timelines = || {
        act2.iter()
            .filter(|p| p.act == "in-flight at kill")
            .map(|p| &timelines[&p.order_id])
    };
    let takeover = takeover_latency(kill_at, in_flight_timelines());
    let retried = retried_after_kill(kill_at, in_flight_timelines());
    for p in &act2 {
        print_outcome(p, &outcomes2[&p.order_id], &timelines[&p.order_id]);
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
    placed.extend(act2);
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
        anyhow::ensure!(
            idle_since.elapsed() < limit,
            "Lambda environments still alive after {limit:?}"
        );
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
        .map(|(id, o)| {
            (
                id.clone(),
                if o.is_completed() {
                    Ending::Completed
                } else {
                    Ending::Compensated
                },
            )
        })
        .collect();
    let ledger = shop.ledger(None).await?;
    let mut problems = check_invariants(&initial_stock, &ledger, &endings);
    problems.extend(door_problems);
    let completed = endings
        .values()
        .filter(|e| **e == Ending::Completed)
        .count();
    let compensated = endings.len() - completed;
    let wall = started.elapsed().as_secs_f64();
    let cost = report::cost(&metrics.stats, wall);
    let ingest = report::function_metrics(&emulator_url, INGEST_FUNCTION)
        .await?
        .stats;
    let s = &metrics.stats;
    ui::note(&format!(
        "orders placed {}, completed {completed}, compensated {compensated}, lost or stuck {}",
        placed.len(),
        placed.len() - endings.len()
    ));
    ui::note(&intake.summary());
    if let Some(t) = takeover {
        // A Lambda worker already polling at the kill (the controller also invokes when tasks
        // back up) takes over at once: the number means something else then, so say which.
        let how = if lambda_at_kill > 0 {
            format!("{lambda_at_kill} Lambda worker(s) were already polling")
        } else {
            "a Lambda worker was invoked for it".to_owned()
        };
        ui::note(&format!(
            "takeover latency after SIGKILL: {} ({how})",
            ui::seconds(t)
        ));
    }
    ui::note(&format!(
        "Lambda: {} invocations, {} cold starts, max {} concurrent, {} ms billed, {:.3} GB-s",
        s.invocations,
        s.cold_starts,
        s.concurrent_executions_max,
        s.billed_duration_ms_sum,
        s.gb_seconds
    ));
    ui::note(&format!(
        "ingest-fn (the front door): {} invocations, cold starts: {}",
        ingest.invocations, ingest.cold_starts
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
            "orderId": p.order_id,
            "label": p.label,
            "act": p.act,
            "via": p.via,
            "outcome": all_outcomes.get(&p.order_id),
        })).collect::<Vec<_>>(),
        "summary": { "placed": placed.len(), "completed": completed, "compensated": compensated },
        "intake": intake,
        "deadLetters": dead,
        "takeoverSeconds": takeover.map(|t| t.as_secs_f64()),
        "lambdaInvocationsRunningAtKill": lambda_at_kill,
        "cutOffActivityRetrySeconds": retried.iter().map(|d| d.as_secs_f64()).collect::<Vec<_>>(),
        "lambda": metrics.stats,
        "ingestLambda": ingest,
        "series": metrics.series,
        "cost": cost,
        "timeline": timeline,
        "ledgerProblems": problems,
    });
    let out = devstack::target_dir().join("shopflow");
    report::write(&out, &json, &report::chart_svg(&metrics.series, &marks))?;
    ui::note(&format!(
        "report: {}  chart: {}",
        out.join("demo-report.json").display(),
        out.join("demo-chart.svg").display()
    ));

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

/// Wait until `order_id` is shipping (its slow step), so the kill lands mid-activity.
async fn wait_until_shipping(client: &temporalio_client::Client, order_id: &str) -> Result<()> {
    let wf = workflow_id(order_id)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(p) = shared::orders::progress(client, &wf).await
            && p.step == shared::OrderStep::CreatingShipment
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "order {order_id} never reached CreatingShipment"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// From the kill to the first task of an in-flight order that a Lambda worker ran.
fn takeover_latency<'a>(
    kill_at: SystemTime,
    timelines: impl Iterator<Item = &'a Vec<StepRun>>,
) -> Option<Duration> {
    timelines
        .flatten()
        .filter(|r| r.worker == WorkerKind::Lambda && r.at >= kill_at)
        .filter_map(|r| r.at.duration_since(kill_at).ok())
        .min()
}

/// For each activity the kill cut off: how long after the kill its retry started on Lambda.
fn retried_after_kill<'a>(
    kill_at: SystemTime,
    timelines: impl Iterator<Item = &'a Vec<StepRun>>,
) -> Vec<Duration> {
    timelines
        .flatten()
        .filter(|r| r.worker == WorkerKind::Lambda && r.attempt > 1 && r.step != "WorkflowTask")
        .filter_map(|r| r.at.duration_since(kill_at).ok())
        .collect()
}

fn print_outcome(placed: &Placed, outcome: &OrderOutcome, timeline: &[StepRun]) {
    let steps: Vec<String> = timeline
        .iter()
        .filter(|r| r.step != "WorkflowTask")
        .map(|r| {
            let retry = if r.attempt > 1 {
                format!("#{}", r.attempt)
            } else {
                String::new()
            };
            format!("{}{retry}@{}", r.step, r.worker.label())
        })
        .collect();
    let what = match outcome {
        OrderOutcome::Completed { charge_id, .. } => format!("Completed (charge {charge_id})"),
        OrderOutcome::Compensated {
            reason_code,
            undone,
            ..
        } => {
            format!(
                "Compensated: {reason_code}, undone {}",
                undone
                    .iter()
                    .map(|u| u.action.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let via = match placed.via {
        Via::Http => "HTTP",
        Via::Sqs => "SQS",
    };
    ui::ok(&format!(
        "{} {} (via {via}) {what}",
        placed.label, placed.order_id
    ));
    ui::note(&format!("  {}", steps.join(" → ")));
}
