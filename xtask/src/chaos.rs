//! `cargo xtask chaos --orders N --seed S`: the chaos test (`system-tests/tests/chaos`) at any
//! size — CI runs it with 200 orders inside `cargo xtask test`; this runs it alone, with the
//! order count and seed given, and prints the report the test writes
//! (`target/shopflow/chaos-report.md`): how every order ended against its kind, the ledger
//! invariants (each effect once, stock conserved), what was killed and restarted, and timings.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::{test, ui};

#[derive(Args)]
pub struct ChaosArgs {
    /// How many orders to place (CI's run uses 200).
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// Replay a run's plan: the seed its report names (default: a fresh one).
    #[arg(long)]
    seed: Option<u64>,
    /// Skip `cargo build --workspace --bins` (the binaries are already built).
    #[arg(long)]
    no_build: bool,
}

pub fn run(args: ChaosArgs) -> Result<ExitCode> {
    // nextest's `chaos` profile (.config/nextest.toml) gives a large run time to finish.
    let mut env = vec![
        ("SHOPFLOW_CHAOS_ORDERS", args.orders.to_string()),
        ("NEXTEST_PROFILE", "chaos".to_owned()),
    ];
    if let Some(seed) = args.seed {
        env.push(("SHOPFLOW_CHAOS_SEED", seed.to_string()));
    }
    let runner: Vec<OsString> = ["-p", "system-tests", "--test", "chaos"]
        .map(OsString::from)
        .to_vec();
    let code = test::run_with(args.no_build, &runner, &env)?;
    let report = devstack::target_dir()
        .join("shopflow")
        .join("chaos-report.md");
    match std::fs::read_to_string(&report) {
        Ok(text) => {
            println!("{text}");
            ui::note(&format!("report: {}", report.display()));
        }
        Err(_) => ui::note("the chaos test wrote no report (it failed before the end)"),
    }
    Ok(code)
}
