//! Helpers shared by the emulator's integration tests: the test function's binary (built on
//! demand), an emulator with short test settings, and polling with an upper bound (so a broken
//! test fails instead of hanging; never an assertion on timing).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use lambda_emulator::{EmulatorConfig, FunctionConfig, Listen, RunningEmulator};

/// `emulator-test-fn`: from `SHOPFLOW_BIN_DIR` (set by `cargo xtask test`), else the workspace's
/// `target/debug`, built first when missing.
pub fn test_fn_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(dir) = std::env::var_os("SHOPFLOW_BIN_DIR") {
                let binary = Path::new(&dir).join("emulator-test-fn");
                assert!(
                    binary.exists(),
                    "SHOPFLOW_BIN_DIR has no emulator-test-fn: {}",
                    binary.display()
                );
                return binary;
            }
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("workspace root");
            let binary = workspace.join("target/debug/emulator-test-fn");
            if !binary.exists() {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let status = std::process::Command::new(cargo)
                    .args(["build", "-p", "emulator-test-fn"])
                    .current_dir(workspace)
                    .status()
                    .expect("run cargo build");
                assert!(status.success(), "cargo build -p emulator-test-fn failed");
            }
            binary
        })
        .clone()
}

/// A function running the test binary.
pub fn test_function(name: &str) -> FunctionConfig {
    FunctionConfig::new(name, test_fn_binary())
}

/// Settings for tests: quick retries and polls, logs in a fresh folder.
pub fn test_config() -> EmulatorConfig {
    EmulatorConfig {
        async_retry_delays: vec![Duration::from_millis(100), Duration::from_millis(200)],
        throttle_retry_delay: Duration::from_millis(20),
        throttle_retry_max: Duration::from_millis(200),
        sqs_wait_time: Duration::from_secs(1),
        log_dir: Some(temp_dir("logs")),
        ..EmulatorConfig::default()
    }
}

pub async fn start(functions: Vec<FunctionConfig>) -> RunningEmulator {
    start_with(test_config(), functions).await
}

pub async fn start_with(config: EmulatorConfig, functions: Vec<FunctionConfig>) -> RunningEmulator {
    RunningEmulator::start(config, functions, Listen::ephemeral())
        .await
        .expect("start the emulator")
}

/// A fresh, unique folder under the system's temp dir.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lambda-emulator-test-{label}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Polls `probe` until it returns `Some`, failing the test after a generous bound.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Whether a process with this id still exists (and is not a zombie we reaped).
pub fn process_alive(pid: u32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
}

/// The state letter of a process (`T` when stopped, `Z` a zombie), from `/proc/<pid>/stat`;
/// `None` once it is gone.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Alive and not a zombie waiting to be reaped (an orphan's reaper may be slow, or absent in a
/// container whose init does not reap).
pub fn process_running(pid: u32) -> bool {
    process_state(pid).is_some_and(|state| state != 'Z' && state != 'X')
}

pub fn invoke_url(emulator: &RunningEmulator, function: &str) -> String {
    format!(
        "{}/2015-03-31/functions/{function}/invocations",
        emulator.lambda_url()
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}
