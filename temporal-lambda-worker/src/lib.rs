//! Run a Temporal worker inside AWS Lambda.
//!
//! Temporal's Worker Controller invokes a Lambda function when a Worker Deployment Version with a
//! Lambda compute config has tasks waiting and no worker polling. Each invocation of a function
//! built on this crate starts a worker, polls until shortly before the invocation's deadline,
//! stops it gracefully and returns — the Rust counterpart of Go's `contrib/aws/lambdaworker`
//! (`RunWorker`), with the same defaults, plus:
//!
//! * **idle exit** ([`LambdaWorkerOptions::idle_exit`]): end the invocation once no task ran for a
//!   while, so billed time follows the work; the controller invokes again when tasks wait;
//! * **warm client reuse** ([`LambdaWorkerOptions::reuse_client`]): one Temporal connection per
//!   execution environment, not per invocation;
//! * **environment shutdown**: Lambda's SIGTERM before it tears an environment down stops a
//!   running worker gracefully (through `lambda_runtime`'s graceful-shutdown support);
//! * **one metrics record per invocation** in CloudWatch Embedded Metric Format
//!   ([`report::InvocationReport`]);
//! * **everything the other SDKs' Lambda workers let `configure` change**: the client's data
//!   converter and interceptors, the connection's headers and metrics, the runtime's telemetry
//!   ([`LambdaWorkerOptions::client`], [`LambdaWorkerOptions::connection`],
//!   [`LambdaWorkerOptions::runtime`]), an async per-invocation configurator
//!   ([`LambdaWorkerOptions::per_invocation`]) and shutdown hooks that know their deadline
//!   ([`LambdaWorkerOptions::on_shutdown`]);
//! * **OpenTelemetry** (feature `otel`, [`otel::apply_defaults`]): traces of every workflow and
//!   activity and the SDK's metrics over OTLP to the collector beside the function, spans
//!   flushed before each invocation returns;
//! * **bounded failure**: connecting to Temporal gives up after
//!   [`LambdaWorkerOptions::connect_timeout`] (5 s) with a clear error instead of the SDK's 30 s
//!   of billed waiting; a worker that does not stop when asked is abandoned before the deadline,
//!   and the shutdown hooks share one time budget.
//!
//! It passes Lambda's lifecycle rules as the project's strict emulator enforces them: the no-op
//! extension that makes Lambda send SIGTERM is *driven* (it calls `/extension/event/next`, or
//! Init would never end), and the warm client survives an environment frozen between invocations.
//!
//! ```no_run
//! use temporal_lambda_worker::{WorkerDeploymentVersion, run_worker};
//! # struct MyWorkflow; struct MyActivities;
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     let version = WorkerDeploymentVersion::builder().deployment_name("hello").build_id("v1").build();
//!     run_worker(version, |opts| {
//!         opts.task_queue = Some("greetings".into());
//!         // opts.worker.register_workflow::<MyWorkflow>()?;
//!         // opts.worker.register_activities(MyActivities);
//!         opts.idle_exit = Some(std::time::Duration::from_secs(2));
//!         Ok(())
//!     })
//!     .await
//! }
//! ```

#![deny(missing_docs)]

pub mod deadline;
pub mod defaults;
mod environment;
pub mod host;
pub mod lifecycle;
pub mod options;
#[cfg(feature = "otel")]
pub mod otel;
pub mod report;
mod setup;
pub mod tracking;

/// Credentials from Secrets Manager and the `temporal.toml` lookup live in `temporal-aws-config`
/// (the binaries that are not Lambda functions use them too); re-exported so a user of this crate
/// needs one dependency.
pub use temporal_aws_config::{config_file, extension, secrets};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use temporalio_client::ClientOptions;
pub use temporalio_common::WorkerDeploymentVersion;
use tokio::sync::watch;
use tracing::{error, warn};

pub use lifecycle::Invocation;
pub use options::{HookContext, LambdaWorkerOptions};
pub use setup::SetupError;

use environment::Environment;
use lifecycle::run_invocation;
use setup::{Setup, setup};

/// Connection and client options from `temporal.toml` (if found) and the `TEMPORAL_*` variables,
/// through the SDK's envconfig; credentials named by `*_SECRET_ARN` variables are read from
/// Secrets Manager first (see [`secrets`]).
pub async fn load_client_config()
-> Result<(temporalio_client::ConnectionOptions, ClientOptions), SetupError> {
    Ok(temporal_aws_config::load_client_config().await?)
}

/// Run the Lambda function: one worker per invocation, forever (until the environment ends).
///
/// `configure` registers workflows and activities on `opts.worker` and may change any default.
/// Worker Deployment Versioning is always on, with `version`; the default versioning behaviour is
/// AutoUpgrade unless `configure` sets another.
pub async fn run_worker(
    version: WorkerDeploymentVersion,
    configure: impl FnOnce(&mut LambdaWorkerOptions) -> anyhow::Result<()>,
) -> Result<(), lambda_runtime::Error> {
    init_json_logs();
    let setup = setup(&Environment::from_process(), version, configure)
        .await
        .map_err(|e| {
            error!("temporal-lambda-worker: {e}");
            e
        })?;
    serve(setup).await
}

async fn serve(setup: Setup) -> Result<(), lambda_runtime::Error> {
    let Setup {
        host,
        settings,
        hooks,
        longest_activity,
    } = setup;
    let (stopping_tx, stopping_rx) = watch::channel(false);
    // Held while an invocation runs, so the SIGTERM handler can wait for it to wind down.
    let in_flight = Arc::new(tokio::sync::Mutex::new(()));
    install_shutdown_handler(stopping_tx, in_flight.clone()).await;

    let timeout_check = deadline::FunctionTimeoutCheck::new(longest_activity);
    let handler = service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (host, settings, hooks, in_flight, stopping_rx) = (
            &host,
            &settings,
            &hooks,
            in_flight.clone(),
            stopping_rx.clone(),
        );
        let timeout_check = &timeout_check;
        async move {
            let _guard = in_flight.lock().await;
            let remaining = remaining_until(event.context.deadline);
            if let Some(w) = timeout_check.on_invocation(remaining) {
                warn!("{w}");
            }
            let invocation = Invocation {
                request_id: event.context.request_id.clone(),
                function_arn: event.context.invoked_function_arn.clone(),
                remaining,
            };
            let (report, result) =
                run_invocation(host, &invocation, settings, hooks, stopping_rx).await;
            report.emit();
            result
                .map(|()| serde_json::json!({ "endReason": report.end_reason.as_str() }))
                .map_err(|e| lambda_runtime::Diagnostic {
                    error_type: error_type(&e).to_owned(),
                    error_message: e.to_string(),
                })
        }
    });
    lambda_runtime::run(handler).await
}

/// Lambda sends SIGTERM before it tears an environment down only to functions with a registered
/// extension, so register a no-op internal one (as `lambda_runtime`'s graceful-shutdown helper
/// does), then on SIGTERM/SIGINT stop the running worker and wait for its invocation to wind down.
/// Unlike that helper this does not panic where the Extensions API is missing (some local
/// emulators): it logs and still handles the signal.
async fn install_shutdown_handler(
    stopping: watch::Sender<bool>,
    in_flight: Arc<tokio::sync::Mutex<()>>,
) {
    let registered = lambda_extension::Extension::new()
        .with_events(&[])
        .with_extension_name("_temporal-lambda-worker-graceful-shutdown")
        .register()
        .await;
    match registered {
        // Lambda ends Init only once the runtime *and every registered extension* have asked for
        // their next event (AWS "Lambda execution environment lifecycle", Init phase; the runtime
        // interface emulator's `rapid` waits for every agent's `/event/next` before the first
        // invoke). An extension registered but never polling would keep Init from ending: drive
        // its run loop, which sits in one long poll for events it never subscribed to.
        Ok(extension) => {
            tokio::spawn(async move {
                if let Err(e) = extension.run().await {
                    warn!("the no-op extension's event loop ended ({e})");
                }
            });
        }
        Err(e) => {
            warn!(
                "could not register the no-op extension that makes Lambda send SIGTERM ({e}); shutdown signals are still handled"
            )
        }
    }
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            warn!("cannot listen for shutdown signals");
            return;
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "execution environment shutting down");
        let _ = stopping.send(true);
        let wait = defaults::SIGTERM_GRACE;
        if tokio::time::timeout(wait, in_flight.lock()).await.is_err() {
            warn!("the running invocation did not stop within {wait:?}");
        }
        std::process::exit(0);
    });
}

fn error_type(e: &lifecycle::InvocationError) -> &'static str {
    match e {
        lifecycle::InvocationError::Refused(_) => "InvocationRefused",
        lifecycle::InvocationError::Start(_) => "WorkerStartFailed",
        lifecycle::InvocationError::Worker(_) => "WorkerFailed",
    }
}

fn remaining_until(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// JSON log lines on stderr (Lambda ships both streams; stdout carries the EMF records).
fn init_json_logs() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,temporalio_sdk_core=warn,temporalio_sdk=warn,temporalio_client=warn")
    });
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .try_init();
}
