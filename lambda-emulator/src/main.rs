//! `lambda-emulator` binary: serves the functions of a SAM template on loopback until Ctrl+C or
//! SIGTERM, then runs Lambda's shutdown phase for every environment; or, with `invoke`, runs one
//! function once with an event file (as `sam local invoke` does) and exits. Only wiring here —
//! see the library for behaviour.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lambda_emulator::env_vars::EnvVarsFile;
use lambda_emulator::template::{self, TemplateOptions, parse_assignment};
use lambda_emulator::{EmulatorConfig, InvokeOutcome, Listen, RunningEmulator};
use tokio::signal::unix::{SignalKind, signal};

/// A local AWS Lambda: Lambda API, execution environments, HTTP API and SQS event sources.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The SAM template whose functions to serve.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// Folder of the built function binaries (default: `target/debug` beside the template).
    #[arg(long, env = "SHOPFLOW_BIN_DIR")]
    bin_dir: Option<PathBuf>,
    /// A function's binary, overriding the template (`NAME=PATH`; name or logical ID). Repeatable.
    #[arg(long = "function-binary", value_parser = parse_assignment)]
    function_binaries: Vec<(String, String)>,
    /// A template parameter value (`NAME=VALUE`). Repeatable.
    #[arg(long = "parameter", value_parser = parse_assignment)]
    parameters: Vec<(String, String)>,
    /// A variable for every function, overriding the template (`NAME=VALUE`). Repeatable.
    #[arg(long = "env", value_parser = parse_assignment)]
    env: Vec<(String, String)>,
    /// Port of the Lambda API (Invoke, GetFunction, metrics) on 127.0.0.1.
    #[arg(long, default_value_t = 9001)]
    lambda_port: u16,
    /// Port of the HTTP API (API Gateway) on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    http_port: u16,
    /// SQS endpoint (LocalStack) for SQS event sources; without it they are not polled.
    #[arg(long, env = "SHOPFLOW_SQS_ENDPOINT")]
    sqs_endpoint: Option<String>,
    /// Seconds an environment may stay idle before it is shut down.
    #[arg(long, default_value_t = 60.0)]
    idle_timeout: f64,
    /// Seconds between a retry of a failed Event invocation and the next (Lambda: 60 then 120).
    #[arg(long, value_delimiter = ',', default_values_t = [60.0, 120.0])]
    async_retry_delays: Vec<f64>,
    /// Seconds an Event invocation may wait (throttled or between retries) before it is dropped
    /// (Lambda's MaximumEventAgeInSeconds).
    #[arg(long, default_value_t = 21_600.0)]
    max_event_age: f64,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// `AWS::StackName` when resolving the template.
    #[arg(long, default_value = "local")]
    stack_name: String,
    /// Also append each function's output to `<DIR>/<function>.log`.
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Per-function variables from a JSON file in `sam local`'s `--env-vars` shape
    /// (`{"Parameters": {...}, "<LogicalId or name>": {...}}`).
    #[arg(long)]
    env_vars: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Invoke one function once (RequestResponse) and exit: the answer on stdout, the function's
    /// output on stderr; exit status 1 when the function failed.
    Invoke {
        /// The function's name or logical ID.
        function: String,
        /// The event: a JSON file, or `-` for stdin (default `{}`).
        #[arg(long, short)]
        event: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let template_dir = args
        .template
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut options = TemplateOptions::new(
        args.bin_dir
            .clone()
            .unwrap_or_else(|| template_dir.join("target/debug")),
    );
    options.region.clone_from(&args.region);
    options.stack_name.clone_from(&args.stack_name);
    options.binaries = args
        .function_binaries
        .iter()
        .map(|(k, v)| (k.clone(), PathBuf::from(v)))
        .collect();
    options.parameters = args.parameters.iter().cloned().collect::<HashMap<_, _>>();
    let mut functions = template::load(&args.template, &options)
        .with_context(|| format!("reading {}", args.template.display()))?;
    if let Some(file) = &args.env_vars {
        EnvVarsFile::load(file)
            .and_then(|vars| vars.apply(&mut functions))
            .map_err(anyhow::Error::msg)?;
    }

    let config = EmulatorConfig {
        region: args.region,
        idle_timeout: Duration::from_secs_f64(args.idle_timeout),
        async_retry_delays: args
            .async_retry_delays
            .iter()
            .map(|s| Duration::from_secs_f64(*s))
            .collect(),
        max_event_age: Duration::from_secs_f64(args.max_event_age),
        log_dir: args.log_dir,
        extra_env: args.env.into_iter().collect(),
        sqs_endpoint: args.sqs_endpoint,
        function_output_to_stderr: args.command.is_some(),
        ..EmulatorConfig::default()
    };
    if let Some(Command::Invoke { function, event }) = args.command {
        return invoke_once(config, functions, &function, event.as_deref()).await;
    }
    let listen = Listen {
        lambda: SocketAddr::from((Ipv4Addr::LOCALHOST, args.lambda_port)),
        http: SocketAddr::from((Ipv4Addr::LOCALHOST, args.http_port)),
    };
    for function in &functions {
        if !function.binary.exists() {
            tracing::warn!(function = %function.name, binary = %function.binary.display(), "binary not built yet");
        }
    }
    let names: Vec<String> = functions.iter().map(|f| f.name.clone()).collect();
    // Listening before the banner: whoever reads the addresses may stop the emulator at once.
    let stop = stop_requested()?;
    let emulator = RunningEmulator::start(config, functions, listen).await?;
    println!("Lambda API: {}", emulator.lambda_url());
    println!("HTTP API:   {}", emulator.http_url());
    for name in names {
        println!("function:   {}", emulator.function_arn(&name));
    }
    let signal = stop.await;
    tracing::info!(signal, "stopping: shutting down the execution environments");
    emulator.shutdown().await;
    Ok(())
}

/// `invoke`: one function, one event, on ephemeral ports with no event sources; Lambda's shutdown
/// phase before exiting, so nothing outlives the command.
async fn invoke_once(
    mut config: EmulatorConfig,
    functions: Vec<lambda_emulator::FunctionConfig>,
    wanted: &str,
    event: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let Some(mut function) = functions
        .into_iter()
        .find(|f| f.name == wanted || f.logical_id.as_deref() == Some(wanted))
    else {
        anyhow::bail!("no function {wanted:?} in the template");
    };
    let payload = match event {
        None => "{}".to_owned(),
        Some(path) if path.as_os_str() == "-" => {
            std::io::read_to_string(std::io::stdin()).context("reading the event from stdin")?
        }
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
    };
    serde_json::from_str::<serde_json::Value>(&payload).context("the event is not JSON")?;
    function.sqs_sources.clear();
    function.http_routes.clear();
    config.sqs_endpoint = None;
    let name = function.name.clone();
    let emulator = RunningEmulator::start(config, vec![function], Listen::ephemeral()).await?;
    let result = emulator
        .invoke(&name, payload)
        .await
        .map_err(|e| anyhow::anyhow!("invoking {name}: {e}"));
    emulator.shutdown().await;
    let result = result?;
    println!("{}", String::from_utf8_lossy(result.outcome.payload()));
    if matches!(result.outcome, InvokeOutcome::FunctionError(_)) {
        std::process::exit(1);
    }
    Ok(())
}

/// Resolves on Ctrl+C (SIGINT) or SIGTERM — how devstack, `kill` and service managers stop the
/// emulator. Both must end in [`RunningEmulator::shutdown`]: environments run in their own process
/// groups, so an emulator killed by SIGTERM's default action would leave them running.
fn stop_requested() -> std::io::Result<impl Future<Output = &'static str>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}
