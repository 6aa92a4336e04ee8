//! `cargo xtask stack …`: the local stack (Temporal dev server + LocalStack SQS) by hand, and the
//! install/start/stop phases that `cargo xtask test` shares.
//!
//! The two services are independent, so they install and start side by side: on two cores that
//! hides LocalStack's ~2 s start behind Temporal's and halves the wait.
//!
//! `stack up` also makes the shared build ID the current version of deployment `shopflow`, the way
//! the demo does (`devstack::register_lambda_version`, the emulated worker function as its
//! compute config). The server checks that function when the version is created, so this waits
//! until the Lambda emulator answers; `--no-lambda` makes the version current without a compute
//! config instead (orders then run on `local-worker` only).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use devstack::localstack::LOCALSTACK;
use devstack::python_worker::PYTHON_LAMBDA_WORKER;
use devstack::sqs::{OrdersQueues, QueueUrls};
use devstack::temporal::TEMPORAL_CLI;
use devstack::venv::PinnedTool;
use devstack::{LocalStack, LocalStackOptions, TemporalDevServer, TemporalOptions};
use indicatif::MultiProgress;
use lambda_emulator::template::{self, TemplateOptions};

use crate::interrupt::Interrupt;
use crate::ui;

#[derive(Subcommand)]
pub enum StackCommand {
    /// Start the stack in the foreground, print its addresses, stop it on Ctrl+C.
    Up(UpArgs),
    /// Tell whether a stack answers on the given ports.
    Status(StatusArgs),
}

#[derive(Args)]
pub struct UpArgs {
    /// Temporal frontend (gRPC) port.
    #[arg(long, default_value_t = 7233)]
    temporal_port: u16,
    /// Temporal Web UI port.
    #[arg(long, default_value_t = 8233)]
    ui_port: u16,
    /// Run the dev server without its Web UI.
    #[arg(long)]
    headless: bool,
    /// LocalStack (SQS) port.
    #[arg(long, default_value_t = 4566)]
    sqs_port: u16,
    /// Where the Worker Controller sends Lambda calls: the local Lambda emulator.
    #[arg(long, default_value = "http://127.0.0.1:9001")]
    lambda_endpoint: String,
    /// Keep Temporal's state in this SQLite file (default: in memory, lost on stop).
    #[arg(long)]
    db_file: Option<PathBuf>,
    /// Extra namespace to create (repeatable).
    #[arg(long = "namespace")]
    namespaces: Vec<String>,
    /// No Lambda emulator will run: make the shared build ID current in deployment `shopflow`
    /// at once, without a compute config (orders then run on `local-worker` only).
    #[arg(long)]
    no_lambda: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long, default_value_t = 7233)]
    temporal_port: u16,
    #[arg(long, default_value_t = 4566)]
    sqs_port: u16,
}

pub fn run(command: StackCommand) -> Result<ExitCode> {
    match command {
        StackCommand::Up(args) => up(args),
        StackCommand::Status(args) => status(args),
    }
}

/// The running services; dropping it stops both.
pub struct Stack {
    pub temporal: TemporalDevServer,
    pub localstack: LocalStack,
}

impl Stack {
    /// Stops both services side by side (LocalStack takes a few seconds on SIGTERM).
    pub fn stop(self) -> Result<()> {
        let Stack {
            temporal,
            localstack,
        } = self;
        ui::step("Stopping Temporal dev server and LocalStack", || {
            thread::scope(|s| {
                let sqs = s.spawn(|| localstack.stop());
                let temporal = temporal.stop();
                let sqs = sqs.join().expect("LocalStack stop thread panicked");
                temporal.and(sqs)
            })
        })
    }
}

/// Installs the Temporal CLI, LocalStack and the Python Lambda worker's venv if needed, side by
/// side, with a spinner each. The last is only for the emulator's Python worker test; it is
/// installed here so that a CI run from a clean clone downloads it before the tests start
/// rather than inside one of them, under its timeout.
pub fn ensure_tools() -> Result<()> {
    let multi = MultiProgress::new();
    let install = |tool: &PinnedTool| {
        let label = if tool.is_installed() {
            format!("{} ready in {}", tool.requirement, tool.dir().display())
        } else {
            format!(
                "Installing {} into {}",
                tool.requirement,
                tool.dir().display()
            )
        };
        ui::step_in(Some(&multi), &label, || tool.ensure().map(drop))
    };
    thread::scope(|s| {
        let sqs = s.spawn(|| install(&LOCALSTACK));
        let python_worker = s.spawn(|| install(&PYTHON_LAMBDA_WORKER));
        let temporal = install(&TEMPORAL_CLI);
        let sqs = sqs.join().expect("install thread panicked");
        let python_worker = python_worker.join().expect("install thread panicked");
        temporal.and(sqs).and(python_worker)
    })
}

/// template.yaml's `OrdersQueue` and the dead-letter queue its redrive policy names, with the
/// attributes the template gives them (parameters at their defaults), so the local queues
/// behave as the deployed ones: read here, not repeated in code.
pub fn orders_queues() -> Result<OrdersQueues> {
    let path = devstack::workspace_root().join("template.yaml");
    let queues = template::load_queues(&path, &TemplateOptions::new(devstack::bin_dir()))?;
    let missing = |what: &str| format!("{}: no {what}", path.display());
    let orders = queues
        .iter()
        .find(|q| q.logical_id == "OrdersQueue")
        .with_context(|| missing("OrdersQueue"))?;
    let redrive = orders
        .redrive_policy
        .as_ref()
        .with_context(|| missing("RedrivePolicy on OrdersQueue"))?;
    let dlq = queues
        .iter()
        .find(|q| q.name == redrive.dead_letter_queue)
        .with_context(|| missing(&format!("queue {}", redrive.dead_letter_queue)))?;
    let seconds = |value: Option<Duration>, what: &str| {
        value
            .map(|d| d.as_secs() as u32)
            .with_context(|| missing(what))
    };
    Ok(OrdersQueues {
        name: orders.name.clone(),
        visibility_timeout_secs: seconds(
            orders.visibility_timeout,
            "OrdersQueue.VisibilityTimeout",
        )?,
        max_receive_count: redrive.max_receive_count,
        dlq_name: dlq.name.clone(),
        dlq_retention_secs: seconds(
            dlq.message_retention_period,
            "MessageRetentionPeriod on the DLQ",
        )?,
    })
}

/// Creates template.yaml's orders queues (see [`orders_queues`]) on `localstack`.
pub fn create_orders_queues(localstack: &LocalStack) -> Result<QueueUrls> {
    devstack::sqs::create_orders_queues_blocking(&localstack.endpoint(), &orders_queues()?)
}

/// Starts both services side by side; on failure of either, the other is stopped again.
pub fn start(temporal: TemporalOptions, localstack: LocalStackOptions) -> Result<Stack> {
    let multi = MultiProgress::new();
    let (temporal, localstack) = thread::scope(|s| {
        let sqs = s.spawn(|| {
            ui::step_in(Some(&multi), "Starting LocalStack (SQS)", || {
                LocalStack::start(localstack)
            })
        });
        let temporal = ui::step_in(
            Some(&multi),
            "Starting Temporal dev server (Worker Controller on)",
            || TemporalDevServer::start(temporal),
        );
        (
            temporal,
            sqs.join().expect("LocalStack start thread panicked"),
        )
    });
    let stack = Stack {
        temporal: temporal?,
        localstack: localstack?,
    };
    if let Some(t) = stack.temporal.startup_time() {
        ui::note(&format!(
            "Temporal  {} (healthy {} after spawn)",
            stack.temporal.address(),
            ui::seconds(t)
        ));
    }
    if let Some(t) = stack.localstack.startup_time() {
        ui::note(&format!(
            "SQS       {} (healthy {} after spawn)",
            stack.localstack.endpoint(),
            ui::seconds(t)
        ));
    }
    Ok(stack)
}

fn up(args: UpArgs) -> Result<ExitCode> {
    let interrupt = Interrupt::install()?;
    ensure_tools()?;
    interrupt.check()?;
    let mut stack = start(
        TemporalOptions {
            port: args.temporal_port,
            ui_port: (!args.headless).then_some(args.ui_port),
            lambda_endpoint: Some(args.lambda_endpoint.clone()),
            db_file: args.db_file,
            namespaces: args.namespaces,
            ..TemporalOptions::default()
        },
        LocalStackOptions {
            port: args.sqs_port,
            ..LocalStackOptions::default()
        },
    )?;
    let queues = ui::step(
        "Creating the orders queue and its DLQ (template.yaml's)",
        || create_orders_queues(&stack.localstack),
    )?;
    ui::note(&format!("Queue     {}", queues.orders));
    if let Some(url) = stack.temporal.ui_url() {
        ui::note(&format!("Web UI    {url}"));
    }
    ui::note(&format!(
        "Lambda    the Worker Controller calls {}",
        args.lambda_endpoint
    ));
    ui::note(&format!(
        "Logs      {}",
        devstack::paths::logs_dir().display()
    ));
    ui::note(&format!(
        "For tests: export {}={} {}={}",
        devstack::ENV_TEMPORAL_ADDRESS,
        stack.temporal.address(),
        devstack::ENV_SQS_ENDPOINT,
        stack.localstack.endpoint()
    ));
    let address = stack.temporal.address();
    // Registration waits for the emulator, which the user starts next: in the background, so
    // the watch below still reports a dying service at once.
    if args.no_lambda {
        make_version_current(&address)?;
    } else {
        let (endpoint, interrupt) = (args.lambda_endpoint.clone(), interrupt.clone());
        // Not joined: it ends by itself, or with the process.
        thread::spawn(move || {
            if let Err(err) = register_when_lambda_answers(&address, &endpoint, &interrupt) {
                ui::failed(&format!(
                    "registering deployment {}: {err:#}",
                    shared::DEPLOYMENT_NAME
                ));
            }
        });
    }
    ui::note("Press Ctrl+C to stop.");

    // Watch both services so one that dies is reported at once rather than at Ctrl+C.
    let died = loop {
        if interrupt.wait_a_moment() {
            break None;
        }
        if let Err(err) = stack
            .temporal
            .check_running()
            .and_then(|()| stack.localstack.check_running())
        {
            break Some(err);
        }
    };
    stack.stop()?;
    match died {
        Some(err) => Err(err),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The shared build ID, current in deployment `shopflow` with no compute config (`--no-lambda`).
fn make_version_current(address: &str) -> Result<()> {
    ui::step(
        &format!(
            "Making {}:{} the current version (no Lambda compute config)",
            shared::DEPLOYMENT_NAME,
            shared::BUILD_ID
        ),
        || devstack::set_current_version(address, shared::DEPLOYMENT_NAME, shared::BUILD_ID),
    )
}

/// Waits until something listens at `lambda_endpoint` (the emulator), then registers the shared
/// build ID with the emulated worker function and makes it current — the demo's registration.
/// Returns early, registering nothing, once interrupted.
fn register_when_lambda_answers(
    address: &str,
    lambda_endpoint: &str,
    interrupt: &Interrupt,
) -> Result<()> {
    let url = reqwest::Url::parse(lambda_endpoint)?;
    let targets = url.socket_addrs(|| None)?;
    let arn = devstack::apps::local_function_arn(crate::demo::world::WORKER_FUNCTION);
    let version = format!("{}:{}", shared::DEPLOYMENT_NAME, shared::BUILD_ID);
    ui::note(&format!(
        "Deployment {version} is registered (→ {arn}) and made current once the Lambda emulator \
         answers at {lambda_endpoint}; start local-worker after that"
    ));
    let answers = || {
        targets
            .iter()
            .any(|t| TcpStream::connect_timeout(t, Duration::from_millis(200)).is_ok())
    };
    while !answers() {
        if interrupt.wait_a_moment() {
            return Ok(());
        }
    }
    ui::step(
        &format!("Registering deployment {version} → {arn}"),
        || {
            devstack::register_lambda_version(
                address,
                shared::DEPLOYMENT_NAME,
                shared::BUILD_ID,
                shared::TASK_QUEUE,
                &arn,
            )
        },
    )
}

fn status(args: StatusArgs) -> Result<ExitCode> {
    let temporal = TemporalDevServer::connect(&format!("127.0.0.1:{}", args.temporal_port));
    let sqs = LocalStack::connect(&format!("http://127.0.0.1:{}", args.sqs_port));
    match &temporal {
        Ok(t) => ui::ok(&format!("Temporal dev server at {}", t.address())),
        Err(err) => ui::failed(&format!("{err:#}")),
    }
    match &sqs {
        Ok(s) => ui::ok(&format!("LocalStack SQS at {}", s.endpoint())),
        Err(err) => ui::failed(&format!("{err:#}")),
    }
    Ok(if temporal.is_ok() && sqs.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
