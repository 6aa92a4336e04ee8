//! ShopFlow's own processes — the shop's services and the local worker — started the way the
//! demo and the end-to-end tests need them.
//!
//! They run from the workspace's built binaries (`SHOPFLOW_BIN_DIR`, else `target/debug`), each
//! under a [`ChildGuard`], so a failing test never leaves one behind. The local worker can also be
//! killed outright (SIGKILL), interrupted (SIGINT) and started again: that is the point of the
//! demo.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
pub use nix::sys::signal::Signal;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::paths::{logs_dir, workspace_root};
use crate::ports::{is_listening, pick_free_port};
use crate::process::ChildGuard;

/// A workspace binary, e.g. `storefront`. Fails with what to do if it was not built.
pub fn built_bin(name: &str) -> Result<PathBuf> {
    let path = crate::bin_path(name);
    if !path.is_file() {
        bail!(
            "{} is not built; run `cargo build --workspace --bins` (cargo xtask test does it)",
            path.display()
        );
    }
    Ok(path)
}

/// The shop's services (`storefront` binary) on a free loopback port with their own database.
#[derive(Debug)]
pub struct Storefront {
    child: ChildGuard,
    url: String,
    db: PathBuf,
}

impl Storefront {
    /// Start on a free port with a fresh database file under `dir`.
    pub fn start(dir: &std::path::Path, extra_args: &[&str]) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let db = dir.join("shop.db");
        Self::start_with_db(&db, 0, extra_args)
    }

    /// Start on `port` (0 = any free one) with the database at `db` (kept across restarts).
    pub fn start_with_db(db: &std::path::Path, port: u16, extra_args: &[&str]) -> Result<Self> {
        Self::start_with_env(db, port, extra_args, &[])
    }

    /// [`Storefront::start_with_db`] with extra environment variables — e.g. the `TEMPORAL_*` of
    /// a [`WorkerSetup`], so its page and dashboard ask the same Temporal the workers use.
    pub fn start_with_env(
        db: &std::path::Path,
        port: u16,
        extra_args: &[&str],
        env: &[(&str, String)],
    ) -> Result<Self> {
        let port = if port == 0 { pick_free_port()? } else { port };
        let mut cmd = Command::new(built_bin("storefront")?);
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--db")
            .arg(db)
            .args(extra_args);
        cmd.envs(env.iter().cloned());
        let log = logs_dir().join(format!("storefront-{port}.log"));
        let mut child = ChildGuard::spawn("storefront", cmd, &log, Duration::from_secs(5))?;
        child.wait_until_ready(Duration::from_secs(30), || is_listening(port))?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            db: db.to_path_buf(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn db(&self) -> &std::path::Path {
        &self.db
    }

    pub fn stop(self) -> Result<()> {
        self.child.stop()
    }
}

/// How a local worker is wired to Temporal and the shop.
#[derive(Debug, Clone)]
pub struct WorkerSetup {
    pub temporal_address: String,
    pub namespace: String,
    pub task_queue: String,
    pub deployment: String,
    pub build_id: String,
    pub shop_url: String,
}

impl WorkerSetup {
    /// The variables a ShopFlow worker — `local-worker` or the Lambda `worker-fn` — reads this
    /// setup from: one list, so the two always poll the same queue as the same version.
    pub fn worker_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "TEMPORAL_CONFIG_FILE",
                workspace_root().join("temporal.toml").display().to_string(),
            ),
            ("TEMPORAL_ADDRESS", self.temporal_address.clone()),
            ("TEMPORAL_NAMESPACE", self.namespace.clone()),
            ("TEMPORAL_TASK_QUEUE", self.task_queue.clone()),
            ("SHOPFLOW_DEPLOYMENT_NAME", self.deployment.clone()),
            ("SHOPFLOW_BUILD_ID", self.build_id.clone()),
            ("SHOPFLOW_SHOP_URL", self.shop_url.clone()),
        ]
    }

    /// A setup of its own for one test or benchmark run: task queue `shopflow-orders-{run_id}` and
    /// Worker Deployment `shopflow-test-{run_id}` in the `default` namespace, so runs side by side
    /// never take each other's tasks or flip each other's current version.
    pub fn isolated(temporal_address: &str, run_id: &str, build_id: &str, shop_url: &str) -> Self {
        Self {
            temporal_address: temporal_address.to_owned(),
            namespace: "default".to_owned(),
            task_queue: format!("shopflow-orders-{run_id}"),
            deployment: format!("shopflow-test-{run_id}"),
            build_id: build_id.to_owned(),
            shop_url: shop_url.to_owned(),
        }
    }
}

/// A running `local-worker`.
#[derive(Debug)]
pub struct LocalWorker {
    child: ChildGuard,
}

impl LocalWorker {
    /// Start it and wait until it polls.
    pub fn start(setup: &WorkerSetup) -> Result<Self> {
        Self::start_with_env(setup, &[])
    }

    /// [`LocalWorker::start`] with extra variables, e.g. a short `SHOPFLOW_GRACE_PERIOD`.
    pub fn start_with_env(setup: &WorkerSetup, env: &[(&str, String)]) -> Result<Self> {
        let mut cmd = Command::new(built_bin("local-worker")?);
        cmd.envs(setup.worker_env())
            .env("SHOPFLOW_LOG_FORMAT", "json");
        cmd.envs(env.iter().cloned());
        let log = logs_dir().join(format!("local-worker-{}.log", setup.task_queue));
        // Counted before the spawn: a worker that polls before this thread runs again must not
        // have its line counted as an earlier run's (a restart appends to the same log), or the
        // wait below never ends.
        let marks_before = count_in(&log, "local-worker polling");
        let mut child = ChildGuard::spawn("local-worker", cmd, &log, Duration::from_secs(20))?;
        child.wait_until_ready(Duration::from_secs(30), || {
            count_in(&log, "local-worker polling") > marks_before
        })?;
        Ok(Self { child })
    }

    /// Make `setup`'s version the deployment's current one, then start. Current before the first
    /// poll, so the first workflow on the queue is routed to this version.
    pub fn start_current(setup: &WorkerSetup) -> Result<Self> {
        crate::deployment::set_current_version(
            &setup.temporal_address,
            &setup.deployment,
            &setup.build_id,
        )?;
        Self::start(setup)
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn log_file(&self) -> &std::path::Path {
        self.child.log_file()
    }

    /// SIGKILL: the crash the demo is about. No drain, no goodbye to the server.
    pub fn kill(self) -> Result<()> {
        self.signal(Signal::SIGKILL)?;
        self.child.stop()
    }

    /// SIGINT (Ctrl+C): a graceful drain; waits until the process exits.
    pub fn interrupt(self) -> Result<()> {
        self.signal(Signal::SIGINT)?;
        self.child.stop()
    }

    /// Sends `signal` (SIGINT or SIGTERM) and waits up to `within` for the worker to exit **by
    /// itself**; returns its exit status, or fails if it was still running then (it is killed).
    /// Unlike [`LocalWorker::interrupt`], a worker that ignored the signal cannot pass.
    pub fn stop_on_its_own(
        mut self,
        signal: Signal,
        within: Duration,
    ) -> Result<std::process::ExitStatus> {
        self.signal(signal)?;
        let status = self.child.wait_for_exit(within)?;
        self.child.stop()?;
        status.with_context(|| format!("local-worker still ran {within:?} after {signal}"))
    }

    fn signal(&self, signal: Signal) -> Result<()> {
        kill(Pid::from_raw(self.child.pid() as i32), signal)
            .with_context(|| format!("sending {signal} to local-worker"))
    }
}

fn count_in(path: &std::path::Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.matches(needle).count())
        .unwrap_or(0)
}

/// How to run the local Lambda emulator over the project's `template.yaml`.
#[derive(Debug, Clone)]
pub struct EmulatorSetup {
    pub lambda_port: u16,
    pub http_port: u16,
    pub sqs_endpoint: Option<String>,
    /// Environment idle time before it is reaped (scale to zero).
    pub idle_timeout_secs: u64,
    /// `NAME=VALUE` variables for every function (overriding the template).
    pub env: Vec<(String, String)>,
    /// Template parameter overrides.
    pub parameters: Vec<(String, String)>,
}

/// The running `lambda-emulator`.
#[derive(Debug)]
pub struct LambdaEmulator {
    child: ChildGuard,
    setup: EmulatorSetup,
}

impl LambdaEmulator {
    /// Serve the workspace's `template.yaml` with the built binaries; wait until the Lambda API
    /// and the HTTP API listen.
    pub fn start(setup: &EmulatorSetup) -> Result<Self> {
        let mut cmd = Command::new(built_bin("lambda-emulator")?);
        cmd.arg("--template")
            .arg(workspace_root().join("template.yaml"))
            .arg("--bin-dir")
            .arg(crate::bin_dir())
            .arg("--lambda-port")
            .arg(setup.lambda_port.to_string())
            .arg("--http-port")
            .arg(setup.http_port.to_string())
            .arg("--idle-timeout")
            .arg(setup.idle_timeout_secs.to_string())
            .arg("--log-dir")
            .arg(logs_dir());
        if let Some(sqs) = &setup.sqs_endpoint {
            cmd.arg("--sqs-endpoint").arg(sqs);
        }
        for (k, v) in &setup.env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        for (k, v) in &setup.parameters {
            cmd.arg("--parameter").arg(format!("{k}={v}"));
        }
        let log = logs_dir().join(format!("lambda-emulator-{}.log", setup.lambda_port));
        let mut child = ChildGuard::spawn("lambda-emulator", cmd, &log, Duration::from_secs(15))?;
        let (lambda, http) = (setup.lambda_port, setup.http_port);
        child.wait_until_ready(Duration::from_secs(30), || {
            is_listening(lambda) && is_listening(http)
        })?;
        Ok(Self {
            child,
            setup: setup.clone(),
        })
    }

    pub fn lambda_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.setup.lambda_port)
    }

    pub fn http_api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.setup.http_port)
    }

    pub fn log_file(&self) -> &std::path::Path {
        self.child.log_file()
    }

    pub fn stop(self) -> Result<()> {
        self.child.stop()
    }
}

/// The ARN the emulator gives a function of the template (account 000000000000, us-east-1).
pub fn local_function_arn(function_name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{function_name}")
}
