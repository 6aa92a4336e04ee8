//! The smallest Lambda worker: one workflow, one activity, the crate's defaults.
//!
//! Build it as a Lambda `bootstrap` (`cargo lambda build --release --example hello_worker`, or
//! `cargo build --example hello_worker` for a local emulator), give the function the Temporal
//! connection in `temporal.toml` or `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE` (plus
//! `TEMPORAL_API_KEY_SECRET_ARN` on Temporal Cloud) and `TEMPORAL_TASK_QUEUE`, and register the
//! version with the function's ARN as its compute:
//!
//! ```text
//! temporal worker deployment create --name hello
//! temporal worker deployment create-version --deployment-name hello --build-id v1 \
//!     --aws-lambda-function-arn <function ARN> \
//!     --aws-lambda-assume-role-arn <role Temporal assumes> \
//!     --aws-lambda-assume-role-external-id <external ID>
//! temporal worker deployment set-current-version --deployment-name hello --build-id v1
//! ```
//!
//! Then start `Greeting` with a name on that task queue: the Worker Controller invokes the
//! function, whose worker runs the workflow and its activity and idles out two seconds later.

use std::sync::Arc;
use std::time::Duration;

use temporal_lambda_worker::{WorkerDeploymentVersion, run_worker};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// The deployment and build this function's worker polls as.
pub const DEPLOYMENT: &str = "hello";
/// Bump it with every change to the workflow code, and register the new version.
pub const BUILD_ID: &str = "v1";

/// The activity: what a real worker would do with the network or a database.
pub struct Greeter;

#[activities]
impl Greeter {
    /// `Hello, <name>!`
    #[activity(name = "Greet")]
    pub async fn greet(
        self: Arc<Self>,
        _ctx: ActivityContext,
        name: String,
    ) -> Result<String, ActivityError> {
        Ok(format!("Hello, {name}!"))
    }
}

/// The workflow: one activity, its result returned.
#[workflow]
#[derive(Default)]
pub struct Greeting;

#[workflow_methods]
impl Greeting {
    /// Greets `name` through the activity.
    #[run(name = "Greeting")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10)).build();
        Ok(ctx.execute_activity(Greeter::greet, name, options).await?)
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let version = WorkerDeploymentVersion::builder()
        .deployment_name(DEPLOYMENT)
        .build_id(BUILD_ID)
        .build();
    run_worker(version, |opts| {
        opts.worker.register_workflow::<Greeting>()?;
        opts.worker.register_activities(Greeter);
        // End the invocation after 2 s without a task: the Worker Controller invokes again when
        // work waits, so billed time follows the work.
        opts.idle_exit = Some(Duration::from_secs(2));
        // With the `otel` feature and a collector named (the ADOT layer sets
        // OTEL_EXPORTER_OTLP_ENDPOINT), every workflow and activity is traced.
        #[cfg(feature = "otel")]
        if opts
            .env(temporal_lambda_worker::otel::ENV_ENDPOINT)
            .is_some()
        {
            temporal_lambda_worker::otel::apply_defaults(opts)?;
        }
        Ok(())
    })
    .await
}
