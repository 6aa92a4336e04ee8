//! `cargo xtask test`: what CI runs (`.ci/run`).
//!
//! 0. `cargo fmt --all --check` and `cargo clippy --workspace --all-targets -- -D warnings`:
//!    style and lints are part of the test (rustfmt's defaults, `[workspace.lints]`);
//! 1. install the Python-hosted tools (Temporal CLI, LocalStack, the Python Lambda worker) if
//!    needed;
//! 2. `cargo build --workspace --bins --examples`, because tests spawn the binaries (and run
//!    `temporal-lambda-worker`'s example under the Lambda emulator);
//! 3. start one Temporal dev server (free port, Worker Controller on) and one LocalStack, shared
//!    by every test — a server per test would cost seconds and hundreds of MB each on two cores;
//! 4. run `cargo nextest run --workspace` (or `cargo test --workspace` where nextest is missing)
//!    with the stack's addresses in `SHOPFLOW_*` variables;
//! 5. stop everything it started, also on failure or Ctrl+C/SIGTERM, print the disk footprint
//!    (`disk`), and exit with the runner's exit code.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::{Context, Result, bail};
use clap::Args;
use devstack::{LocalStackOptions, TemporalOptions};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::interrupt::Interrupt;
use crate::{disk, stack, ui};

#[derive(Args)]
pub struct TestArgs {
    /// Skip `cargo build --workspace --bins --examples` (the binaries are already built).
    #[arg(long)]
    no_build: bool,
    /// Passed to the test runner, e.g. `cargo xtask test -- -p shared`.
    #[arg(last = true)]
    runner_args: Vec<OsString>,
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    run_with(args.no_build, &args.runner_args, &[])
}

/// The whole sequence with `runner_args` for the runner and `env` added to its environment
/// (`cargo xtask chaos` runs one test this way).
pub(crate) fn run_with(
    no_build: bool,
    runner_args: &[OsString],
    env: &[(&str, String)],
) -> Result<ExitCode> {
    let interrupt = Interrupt::install()?;
    // Cheapest check first: unformatted code fails in a second, not after the build. rustfmt
    // comes with rustup's default profile; a toolchain without it (a minimal profile) cannot
    // check style, and says so rather than failing every run.
    if cargo_has("fmt") {
        check_formatting()?;
    } else {
        ui::note("rustfmt not installed (rustup component add rustfmt); style not checked");
    }
    if cargo_has("clippy") {
        check_lints()?;
    } else {
        ui::note("clippy not installed (rustup component add clippy); lints not checked");
    }
    stack::ensure_tools()?;
    disk::warn_if_short(&devstack::target_dir());

    interrupt.check()?;

    if !no_build {
        let finished = ui::streamed("cargo build --workspace --bins --examples");
        let status = cargo()
            .args(["build", "--workspace", "--bins", "--examples"])
            .status()
            .context("running cargo build")?;
        finished(status.success());
        if !status.success() {
            bail!("cargo build failed ({status})");
        }
    }
    interrupt.check()?;

    // The shared server's Lambda endpoint is fixed at start, so a port is reserved for the test
    // that runs the Lambda emulator behind it (SHOPFLOW_LAMBDA_ENDPOINT).
    let lambda_endpoint = format!("http://127.0.0.1:{}", devstack::ports::pick_free_port()?);
    let stack = stack::start(
        TemporalOptions {
            lambda_endpoint: Some(lambda_endpoint.clone()),
            ..TemporalOptions::default()
        },
        LocalStackOptions::default(),
    )?;

    let outcome = if interrupt.is_set() {
        Err(anyhow::anyhow!("interrupted"))
    } else {
        let runner_args = test_runner_args(runner_args)?;
        let label = format!("cargo {}", runner_args.join(" ".as_ref()).to_string_lossy());
        let mut runner = cargo();
        runner
            .args(&runner_args)
            .env(devstack::ENV_TEMPORAL_ADDRESS, stack.temporal.address())
            .env(devstack::ENV_SQS_ENDPOINT, stack.localstack.endpoint())
            .env(devstack::ENV_LAMBDA_ENDPOINT, &lambda_endpoint)
            .env(devstack::ENV_BIN_DIR, devstack::bin_dir())
            .envs(env.iter().map(|(k, v)| (k, v)));
        let finished = ui::streamed(&label);
        let status = run_until_done(runner, &interrupt);
        finished(status.as_ref().is_ok_and(|s| s.success()));
        status
    };
    // Stop before reporting, so nothing outlives xtask even if printing fails.
    let stopped = stack.stop();
    disk::report(&devstack::target_dir());
    let status = outcome?;
    stopped?;
    Ok(exit_code(status))
}

/// Whether `cargo <subcommand>` is installed (rustup's minimal profile has neither rustfmt nor
/// clippy).
fn cargo_has(subcommand: &str) -> bool {
    cargo()
        .args([subcommand, "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// `cargo fmt --all --check`: style is part of the test (rustfmt's defaults).
fn check_formatting() -> Result<()> {
    let finished = ui::streamed("cargo fmt --all --check");
    let formatted = cargo()
        .args(["fmt", "--all", "--check"])
        .status()
        .context("running cargo fmt")?;
    finished(formatted.success());
    if !formatted.success() {
        bail!("the code is not formatted: run `cargo fmt --all`");
    }
    Ok(())
}

/// `cargo clippy --workspace --all-targets -- -D warnings`: a lint is a failure
/// (`[workspace.lints]` in the root Cargo.toml).
fn check_lints() -> Result<()> {
    let finished = ui::streamed("cargo clippy --workspace --all-targets -- -D warnings");
    let clean = cargo()
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .status()
        .context("running cargo clippy")?;
    finished(clean.success());
    if !clean.success() {
        bail!("clippy found problems (see above)");
    }
    Ok(())
}

/// `cargo` as cargo itself names it when it runs xtask (`CARGO`), so the same toolchain is used.
/// The cargo that runs xtask (`$CARGO`), for the commands xtask itself runs.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Arguments for cargo: `nextest run --workspace …`, or `test --workspace …` when nextest is
/// missing.
fn test_runner_args(extra: &[OsString]) -> Result<Vec<OsString>> {
    let mut args: Vec<OsString> = if cargo_has("nextest") {
        vec!["nextest".into(), "run".into()]
    } else {
        ui::note("cargo-nextest not found; falling back to cargo test");
        vec!["test".into()]
    };
    // `--workspace` would override a package selection passed through (`-- -p shared`).
    let selects_packages = extra.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "-p" || a.starts_with("--package") || (a.starts_with("-p") && a.len() > 2)
    });
    if !selects_packages {
        args.push("--workspace".into());
    }
    args.extend(extra.iter().cloned());
    Ok(args)
}

/// Runs the test runner to completion. An interrupt is passed on as SIGTERM, which nextest and
/// the test harness treat as "stop the tests and exit": a SIGTERM sent to xtask alone would
/// otherwise never reach them (a terminal's Ctrl+C reaches them anyway, as they share xtask's
/// process group).
fn run_until_done(mut cmd: Command, interrupt: &Interrupt) -> Result<ExitStatus> {
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if interrupt.wait_a_moment() && !forwarded {
            forwarded = true;
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        }
    }
}

/// The runner's exit code; a runner killed by a signal exits 128 + signal, as a shell reports it.
fn exit_code(status: ExitStatus) -> ExitCode {
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
