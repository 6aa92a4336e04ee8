//! `cargo xtask …`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! This file only wires the command line to one module per command.

mod bench;
mod chaos;
mod demo;
mod deploy;
mod disk;
mod glibc;
mod interrupt;
mod package;
mod stack;
mod test;
mod tools;
mod ui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "ShopFlow's project automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build everything, start the shared local stack, run every test (what CI runs).
    Test(test::TestArgs),
    /// Run the local stack (Temporal dev server + LocalStack SQS) by hand.
    #[command(subcommand)]
    Stack(stack::StackCommand),
    /// Measure: latency local vs Lambda, cold start, billed time, takeover, ingest (report in target/shopflow).
    Bench(bench::BenchArgs),
    /// Run the order-pipeline demo end to end.
    Demo(demo::DemoArgs),
    /// The chaos test at any size: `--orders N --seed S`; prints its report.
    Chaos(chaos::ChaosArgs),
    /// Build the Lambda zips (target/lambda/<binary>-<arch>.zip) and check them against provided.al2023.
    Package(package::PackageArgs),
    /// Deploy to AWS with SAM and register the worker with Temporal Cloud (docs/aws.md).
    Deploy(deploy::DeployArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("XTASK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Test(args) => test::run(args),
        Command::Stack(command) => stack::run(command),
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Package(args) => package::run(args),
        Command::Deploy(args) => deploy::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            ui::failed(&format!("{err:#}"));
            ExitCode::FAILURE
        }
    }
}
