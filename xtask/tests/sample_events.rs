//! The sample events in `events/` work with the tool the docs point people to:
//! `cargo lambda invoke --data-file`, against `cargo lambda watch`'s Runtime API — not only
//! through our own emulator (that is `ingest-fn/tests/sample_events.rs`).
//!
//! `ingest-fn` (the workspace's debug build; `cargo build --bins` first) runs with signatures off
//! (which it warns about at its cold start) and Temporal pointed at a closed port, so the answers are fixed and need no server: the HTTP
//! API event gets a 503 problem (nothing recorded, retry), and every record of the SQS batch is
//! reported failed, so SQS delivers each again (the invalid one too: no DLQ is configured here).
//! `watch --only-lambda-apis` serves only the Runtime API, so cargo-lambda builds nothing.

#[path = "../src/tools.rs"]
#[allow(dead_code)] // shared with the xtask binary, which uses all of it
mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use devstack::process::ChildGuard;
use serde_json::Value;

/// Generous bounds for starting on a loaded 2-core machine; they only bound a failure.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn events_dir() -> PathBuf {
    devstack::workspace_root().join("events")
}

/// `cargo lambda invoke --data-file <file>` against the Runtime API on `port`; the payload.
fn invoke(cargo_lambda: &Path, port: u16, file: &str) -> Value {
    let out = Command::new(cargo_lambda)
        .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &port.to_string(), "--data-file"])
        .arg(events_dir().join(file))
        .current_dir(devstack::workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo lambda invoke --data-file {file}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{file}: not a JSON answer ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn the_sample_events_work_with_cargo_lambda_invoke() {
    let cargo_lambda = tools::CARGO_LAMBDA
        .ensure()
        .expect("installing the pinned cargo-lambda")
        .join("bin/cargo-lambda");
    let ingest = devstack::apps::built_bin("ingest-fn").unwrap();
    let logs = devstack::paths::logs_dir().join(format!("sample-events-{}", std::process::id()));

    let port = devstack::ports::pick_free_port().unwrap();
    let mut watch = Command::new(&cargo_lambda);
    watch
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args(["--invoke-port", &port.to_string()])
        .current_dir(devstack::workspace_root());
    let mut watch = ChildGuard::spawn(
        "cargo lambda watch",
        watch,
        &logs.join("watch.log"),
        Duration::from_secs(5),
    )
    .unwrap();
    watch
        .wait_until_ready(START_TIMEOUT, || devstack::ports::is_listening(port))
        .unwrap();

    // A port nothing listens on: Temporal is down.
    let temporal = devstack::ports::pick_free_port().unwrap();
    let mut function = Command::new(ingest);
    // The variables `watch --only-lambda-apis` tells the function to set (it prints them).
    function
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("SHOPFLOW_INGEST_AUTH", "insecure-off")
        .env(
            "SHOPFLOW_INGEST_QUEUE_ARN",
            "arn:aws:sqs:us-east-1:000000000000:shopflow-orders",
        )
        .env_remove("SHOPFLOW_INGEST_SECRET")
        .env_remove("SHOPFLOW_INGEST_SECRET_ID")
        .env("TEMPORAL_ADDRESS", format!("127.0.0.1:{temporal}"))
        .env("TEMPORAL_NAMESPACE", "default")
        .env("SHOPFLOW_INGEST_START_TIMEOUT_MS", "2000")
        .env_remove("TEMPORAL_PROFILE")
        .env_remove("TEMPORAL_API_KEY")
        .env_remove("SHOPFLOW_INGEST_DLQ_URL")
        .current_dir(devstack::workspace_root());
    let mut function = ChildGuard::spawn(
        "ingest-fn",
        function,
        &logs.join("ingest-fn.log"),
        Duration::from_secs(5),
    )
    .unwrap();

    let http = invoke(&cargo_lambda, port, "http-api-post-orders.json");
    assert_eq!(http["statusCode"], 503, "{http}");
    assert_eq!(
        http["headers"]["content-type"], "application/problem+json",
        "{http}"
    );
    assert!(http["headers"]["retry-after"].is_string(), "{http}");
    let problem: Value = serde_json::from_str(http["body"].as_str().unwrap()).unwrap();
    assert_eq!(problem["status"], 503, "{problem}");

    let sqs = invoke(&cargo_lambda, port, "sqs-orders-batch.json");
    let failed: BTreeSet<_> = sqs["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures: {sqs}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    let batch: Value =
        serde_json::from_slice(&std::fs::read(events_dir().join("sqs-orders-batch.json")).unwrap())
            .unwrap();
    let sent: BTreeSet<_> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent.len(), 3, "the sample batch changed: update this test");
    assert_eq!(failed, sent, "{sqs}");

    function.check_running().unwrap();
    function.stop().unwrap();
    watch.stop().unwrap();
    // With signatures off, the cold start said so.
    let log = std::fs::read_to_string(logs.join("ingest-fn.log")).unwrap();
    assert!(log.contains("SIGNATURE CHECKS ARE OFF"), "{log}");
}
