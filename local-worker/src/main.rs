//! `local-worker`: ShopFlow's worker as a long-lived process.
//!
//! It is the same worker as the Lambda one (`worker-fn`) — same registrations, same deployment
//! (`shopflow`) and build ID — so the two share in-flight orders: kill this one and the next task
//! goes to a Lambda-started worker. Two settings make that hand-over fast:
//!
//! * the sticky schedule-to-start timeout (default 1 s, the SDK's is 10 s): after a crash, a
//!   workflow's next task waits on this worker's sticky queue for that long before the server
//!   gives it to any worker;
//! * a graceful stop on SIGINT/SIGTERM: the worker stops polling, finishes or cancels what it
//!   runs within the grace period, and tells the server, so nothing waits on a timeout at all.

mod config;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use temporalio_sdk::{Runtime, Worker};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init(shared::telemetry::WORKER_FILTER);
    let config = Config::parse();
    run(config).await
}

async fn run(config: Config) -> anyhow::Result<()> {
    let shop = shared::activities::ShopClient::new(&config.shop_url)
        .map_err(anyhow::Error::msg)?
        .with_token(config.shop_token.clone());
    let client = shared::connection::connect()
        .await
        .context("connecting to Temporal")?;

    let mut options = shared::worker::worker_options(&config.task_queue, shop)
        .context("registering the workflow")?;
    options.client_identity_override = Some(config.identity());
    options.sticky_queue_schedule_to_start_timeout = config.sticky_timeout.into();
    options.graceful_shutdown_period = Some(config.grace_period.into());
    // Unset settings keep the SDK's defaults (including its autoscaling enrolment).
    if let Some(pollers) = config.workflow_pollers {
        options.workflow_task_poller_behavior = Some(pollers.into());
    }
    if let Some(pollers) = config.activity_pollers {
        options.activity_task_poller_behavior = Some(pollers.into());
    }
    if let Some(n) = config.max_cached_workflows {
        options.max_cached_workflows = n;
    }
    if let Some(n) = config.eager_activities {
        options.max_eager_activity_reservations_per_workflow_task = n;
    }

    let runtime =
        Runtime::from_current_tokio(Default::default()).context("starting the SDK runtime")?;
    let mut worker = Worker::new(&runtime, client, options).context("creating the worker")?;

    let shutdown = worker.shutdown_handle();
    let grace: Duration = config.grace_period.into();
    tokio::spawn(async move {
        let signal_name = wait_for_stop_signal().await;
        info!(
            signal = signal_name,
            grace_secs = grace.as_secs_f64(),
            "stopping: draining in-flight tasks"
        );
        shutdown();
        // The SDK cancels activities still running after the grace period; if the drain still
        // hangs past that (e.g. the server is unreachable), do not hang with it.
        tokio::time::sleep(grace + Duration::from_secs(5)).await;
        warn!("drain did not finish in time; exiting");
        std::process::exit(1);
    });

    info!(
        task_queue = %config.task_queue,
        deployment = %shared::names::deployment_name(),
        build_id = %shared::names::build_id(),
        identity = %config.identity(),
        shop = %config.shop_url,
        "local-worker polling"
    );
    worker.run().await.context("worker stopped with an error")?;
    info!("local-worker stopped cleanly");
    Ok(())
}

async fn wait_for_stop_signal() -> &'static str {
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
