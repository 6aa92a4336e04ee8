//! The command line of `push-events`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Send order events to an SQS queue (LocalStack locally, SQS in AWS), or sign a request body
/// for `POST /orders`.
#[derive(Debug, Parser)]
#[command(name = "push-events", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send each file as one message (e.g. `events/orders/*.json`; a folder sends its `.json` files).
    Files {
        #[command(flatten)]
        target: Target,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Generate N orders — a chosen share invalid or duplicated — and send them.
    Generate {
        #[command(flatten)]
        target: Target,
        /// How many messages to send.
        #[arg(short = 'n', long, default_value_t = 1000)]
        count: usize,
        /// Percentage of messages that are invalid orders (each kind of invalid in turn).
        #[arg(long, default_value_t = 0.0, value_parser = percent)]
        invalid_percent: f64,
        /// Percentage of messages that repeat an earlier valid order exactly.
        #[arg(long, default_value_t = 0.0, value_parser = percent)]
        duplicate_percent: f64,
    },
    /// Print the signature headers for a body (secret from SHOPFLOW_INGEST_SECRET), or with
    /// `--url` a complete `curl` command.
    Sign {
        /// The body to sign (exactly these bytes are sent).
        #[arg(long)]
        body_file: PathBuf,
        #[arg(long, env = "SHOPFLOW_INGEST_SECRET", hide_env_values = true)]
        secret: String,
        /// Print `curl -X POST <url>/orders ...` instead of just the headers.
        #[arg(long)]
        url: Option<String>,
    },
}

/// Where messages go and how fast.
#[derive(Debug, Args)]
pub struct Target {
    /// Queue URL, or a queue name to look up.
    #[arg(short, long, env = "SHOPFLOW_ORDERS_QUEUE")]
    pub queue: String,
    /// SQS endpoint (LocalStack: http://127.0.0.1:4566); default: the SDK's (`AWS_ENDPOINT_URL_SQS`, then AWS).
    #[arg(long, env = "AWS_ENDPOINT_URL_SQS")]
    pub endpoint: Option<String>,
    /// AWS region; default: the SDK's (`AWS_REGION`, profile), `us-east-1` for a local endpoint.
    #[arg(long)]
    pub region: Option<String>,
    /// Batches of 10 in flight at once.
    #[arg(short, long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

fn percent(raw: &str) -> Result<f64, String> {
    let value: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err("must be between 0 and 100".into())
    }
}
