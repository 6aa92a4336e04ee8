//! LocalStack on the host (no Docker), serving SQS only.
//!
//! `localstack-core` 4.10.0 from PyPI runs on the machine's Python 3.11 without a container. It
//! must be installed with the constraints of its own release (newer cbor2/pyOpenSSL break it with
//! a misleading "No component plugins found"), which are compiled into this crate so a clean
//! clone needs nothing outside the repository. The environment recipe below comes from
//! `local-sqs.md`: SQS only, queue URLs on 127.0.0.1, no DNS server on port 53, no downloads,
//! all state under one folder of ours.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::paths;
use crate::ports::{ensure_port_free, resolve_port};
use crate::process::ChildGuard;
use crate::venv::PinnedTool;

/// LocalStack pinned with the constraints from its 4.10.0 source distribution
/// (`requirements-base-runtime.txt`). Newer releases need a newer Python than 3.11.
pub const LOCALSTACK: PinnedTool = PinnedTool {
    venv: "localstack",
    requirement: "localstack-core[base-runtime]==4.10.0",
    constraints: Some(include_str!("../constraints/localstack-4.10.0.txt")),
};

/// Set by `cargo xtask test` to the endpoint of the LocalStack it shares with every test.
pub const ENV_SQS_ENDPOINT: &str = "SHOPFLOW_SQS_ENDPOINT";

/// Installs LocalStack if needed; returns the venv's Python, which runs it.
pub fn ensure_localstack() -> Result<PathBuf> {
    Ok(LOCALSTACK.ensure()?.join("bin").join("python"))
}

/// How to start LocalStack.
#[derive(Debug, Clone, Default)]
pub struct LocalStackOptions {
    /// Gateway port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// LocalStack's volume dir (and cache); default `.shopflow/data/localstack-<port>`.
    pub data_dir: Option<PathBuf>,
    /// Its output; default `.shopflow/logs/localstack-<port>.log`.
    pub log_file: Option<PathBuf>,
}

/// A running LocalStack; dropping an owned one stops it.
#[derive(Debug)]
pub struct LocalStack {
    child: Option<ChildGuard>,
    endpoint: String,
    startup: Option<Duration>,
    /// A data dir this handle chose itself; it holds nothing worth keeping, so it is removed
    /// once LocalStack has stopped.
    scratch_dir: Option<PathBuf>,
}

/// Start takes ~2 s idle; several test processes starting at once on two cores take longer.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// SIGTERM takes 3–5 s; one that failed to bind its port ignored SIGTERM altogether.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl LocalStack {
    /// Starts LocalStack and waits until `/_localstack/health` reports SQS running.
    pub fn start(opts: LocalStackOptions) -> Result<Self> {
        let python = ensure_localstack()?;
        let port = resolve_port(opts.port)?;
        // An instance that cannot bind keeps running and ignores SIGTERM: refuse up front.
        ensure_port_free(port, "LocalStack")?;
        let scratch_dir = opts
            .data_dir
            .is_none()
            .then(|| paths::data_dir().join(format!("localstack-{port}")));
        let data_dir = opts
            .data_dir
            .or_else(|| scratch_dir.clone())
            .expect("one of the two is set");
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let log_file = opts
            .log_file
            .unwrap_or_else(|| paths::logs_dir().join(format!("localstack-{port}.log")));
        let gateway = format!("127.0.0.1:{port}");

        let mut cmd = Command::new(&python);
        cmd.args(["-m", "localstack.runtime.main"])
            .env("SERVICES", "sqs")
            .env("EAGER_SERVICE_LOADING", "1")
            .env("GATEWAY_LISTEN", &gateway)
            .env("LOCALSTACK_HOST", &gateway)
            .env("SQS_ENDPOINT_STRATEGY", "off")
            .env("DNS_ADDRESS", "0")
            .env("SKIP_SSL_CERT_DOWNLOAD", "1")
            .env("DISABLE_EVENTS", "1")
            .env("LOCALSTACK_VOLUME_DIR", &data_dir)
            .env("XDG_CACHE_HOME", data_dir.join("cache"));

        let child = ChildGuard::spawn("LocalStack", cmd, &log_file, STOP_GRACE)?;
        let endpoint = format!("http://{gateway}");
        // Owned from here on, so a failed start also stops the child and removes the scratch dir.
        let mut stack = Self {
            child: Some(child),
            endpoint,
            startup: None,
            scratch_dir,
        };
        let endpoint = stack.endpoint.clone();
        let child = stack.child.as_mut().expect("just set");
        let startup = child.wait_until_ready(START_TIMEOUT, || sqs_is_running(&endpoint))?;
        tracing::info!(%endpoint, ?startup, "LocalStack ready");
        stack.startup = Some(startup);
        Ok(stack)
    }

    /// A handle to a LocalStack started elsewhere; dropping it does nothing.
    pub fn connect(endpoint: &str) -> Result<Self> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            sqs_is_running(&endpoint),
            "no LocalStack with SQS running at {endpoint}"
        );
        Ok(Self {
            child: None,
            endpoint,
            startup: None,
            scratch_dir: None,
        })
    }

    /// `http://127.0.0.1:PORT`: the SQS endpoint for an AWS SDK client (any keys, account
    /// `000000000000`; queue URLs are `<endpoint>/000000000000/<queue>`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// How long this instance took from spawn to healthy (`None` when not started by this handle).
    pub fn startup_time(&self) -> Option<Duration> {
        self.startup
    }

    /// True when this handle started LocalStack (and will stop it).
    pub fn is_owned(&self) -> bool {
        self.child.is_some()
    }

    /// Fails, with the end of its log, if an owned instance has exited; a shared one is assumed
    /// to be looked after by whoever started it.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.as_mut() {
            Some(child) => child.check_running(),
            None => Ok(()),
        }
    }

    /// Stops an owned instance: SIGTERM to its process group, SIGKILL after a grace period.
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        if let Some(child) = self.child.take() {
            child.stop()?;
        }
        if let Some(dir) = self.scratch_dir.take() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        Ok(())
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        if let Err(err) = self.shut_down() {
            tracing::error!("stopping LocalStack: {err:#}");
        }
    }
}

/// For tests: the LocalStack `cargo xtask test` shares (`SHOPFLOW_SQS_ENDPOINT`, not owned), or a
/// private one on a free port (owned, stopped on drop).
pub fn localstack_for_tests() -> Result<LocalStack> {
    match std::env::var(ENV_SQS_ENDPOINT) {
        Ok(endpoint) if !endpoint.is_empty() => LocalStack::connect(&endpoint),
        _ => LocalStack::start(LocalStackOptions::default()),
    }
}

/// True when `<endpoint>/_localstack/health` lists SQS as "running" (EAGER_SERVICE_LOADING
/// loads it at start, so "available" would mean the start went wrong).
pub fn sqs_is_running(endpoint: &str) -> bool {
    health(endpoint).is_some_and(|h| h["services"]["sqs"] == "running")
}

/// LocalStack's health document, or `None` when it does not answer (yet).
pub fn health(endpoint: &str) -> Option<serde_json::Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let body = agent
        .get(&format!("{endpoint}/_localstack/health"))
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    serde_json::from_str(&body).ok()
}
