//! `cargo xtask bench`: the project's numbers, reproducibly, in one report.
//!
//! 1. builds the binaries the benchmarks spawn in release mode (what Lambda would run);
//! 2. runs each benchmark target against them — `system-tests`' `serverless` (latency local vs
//!    warm vs cold Lambda, cold start, client reuse, billed time with and without idle exit,
//!    takeover after SIGKILL and Ctrl+C, RSS, sizes) and `ingest-fn`'s `ingest_throughput`
//!    (front door vs starting directly) — each writing its rows ([`devstack::bench`]);
//! 3. merges them into `target/shopflow/bench-report.json` and `bench-report.md`, and prints the
//!    table.
//!
//! Every comparison is measured in the same run (a baseline from another day on a shared
//! 2-core machine would say little). Functions' own log lines go to `target/shopflow/bench/*.log`
//! rather than the terminal.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use devstack::bench::{BenchReport, MARKDOWN_HEADER, markdown_line};
use serde_json::json;

use crate::test::cargo;
use crate::{stack, ui};

#[derive(Args)]
pub struct BenchArgs {
    /// Trials per figure (latencies, takeovers).
    #[arg(long, default_value_t = 10)]
    trials: usize,
    /// Orders the ingest benchmark starts each way.
    #[arg(long, default_value_t = 400)]
    ingest_orders: usize,
    /// Run only these benchmarks.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Bench>,
    /// Skip building the release binaries (already built).
    #[arg(long)]
    no_build: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Bench {
    Serverless,
    Ingest,
}

impl Bench {
    const ALL: [Bench; 2] = [Bench::Serverless, Bench::Ingest];

    /// (package, bench target)
    fn target(self) -> (&'static str, &'static str) {
        match self {
            Bench::Serverless => ("system-tests", "serverless"),
            Bench::Ingest => ("ingest-fn", "ingest_throughput"),
        }
    }
}

/// The binaries the benchmarks spawn.
const BINARIES: [&str; 4] = ["worker-fn", "local-worker", "storefront", "ingest-fn"];

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    stack::ensure_tools()?;
    if !args.no_build {
        let finished = ui::streamed("cargo build --release (the binaries the benchmarks run)");
        let mut cmd = cargo();
        cmd.args(["build", "--release"]);
        for bin in BINARIES {
            cmd.args(["-p", bin]);
        }
        let status = cmd.status().context("running cargo build")?;
        finished(status.success());
        if !status.success() {
            bail!("cargo build --release failed ({status})");
        }
    }
    let out_dir = devstack::target_dir().join("shopflow").join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let benches: Vec<Bench> = Bench::ALL
        .into_iter()
        .filter(|b| args.only.is_empty() || args.only.contains(b))
        .collect();
    let mut reports = Vec::new();
    for bench in benches {
        reports.push(run_one(bench, &args, &out_dir)?);
    }

    let (json_path, md_path) = write_report(&reports, &args)?;
    println!("\n{}", std::fs::read_to_string(&md_path)?);
    ui::ok(&format!(
        "report: {} and {}",
        md_path.display(),
        json_path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Runs one bench target; its table lines stream to the terminal, everything else to its log.
fn run_one(bench: Bench, args: &BenchArgs, out_dir: &Path) -> Result<BenchReport> {
    let (package, target) = bench.target();
    let json = out_dir.join(format!("{target}.json"));
    let log_path = out_dir.join(format!("{target}.log"));
    let _ = std::fs::remove_file(&json);
    let label = format!(
        "cargo bench -p {package} --bench {target} (full output: {})",
        log_path.display()
    );
    let finished = ui::streamed(&label);
    let mut child = cargo()
        .args(["bench", "-p", package, "--bench", target])
        .env(
            devstack::ENV_BIN_DIR,
            devstack::target_dir().join("release"),
        )
        .env(devstack::bench::ENV_BENCH_OUT, &json)
        .env("SHOPFLOW_BENCH_TRIALS", args.trials.to_string())
        .env("INGEST_BENCH_ORDERS", args.ingest_orders.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo bench")?;
    let mut log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        // `[function request-id] …` lines are the emulated functions' own logs.
        if !line.starts_with('[') {
            println!("{line}");
        }
    }
    let status = child.wait()?;
    finished(status.success());
    if !status.success() {
        bail!(
            "cargo bench -p {package} --bench {target} failed ({status}); see {}",
            log_path.display()
        );
    }
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("{target} wrote no report at {}", json.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// `bench-report.json` (every row, with the run's settings and machine) and `bench-report.md`.
fn write_report(reports: &[BenchReport], args: &BenchArgs) -> Result<(PathBuf, PathBuf)> {
    let dir = devstack::target_dir().join("shopflow");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let generated = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let json_path = dir.join("bench-report.json");
    devstack::bench::write_json(
        &json_path,
        &json!({
            "generatedAt": generated,
            "machine": { "cores": cores, "os": std::env::consts::OS, "arch": std::env::consts::ARCH },
            "trials": args.trials,
            "ingestOrders": args.ingest_orders,
            "binaries": "release",
            "benches": reports,
        }),
    )?;
    let mut md = format!(
        "# ShopFlow benchmark report\n\n{generated}, {cores} cores, release binaries, {} trials per figure. \
         Ratios compare with a baseline measured in the same run.\n\n{MARKDOWN_HEADER}\n",
        args.trials
    );
    for row in reports.iter().flat_map(|r| &r.rows) {
        md.push_str(&markdown_line(row));
        md.push('\n');
    }
    let md_path = dir.join("bench-report.md");
    std::fs::write(&md_path, md).with_context(|| format!("writing {}", md_path.display()))?;
    Ok((json_path, md_path))
}
