//! The Extensions API with real registrations: the test function registers an extension through
//! the `lambda-extension` crate during init (and exits if that fails), then serves invocations;
//! extensions get `INVOKE` events, and a registered extension makes the shutdown phase send the
//! runtime SIGTERM.

mod common;

use std::time::Duration;

use common::*;
use lambda_emulator::{EmulatorConfig, FunctionConfig, RunningEmulator};
use serde_json::{Value, json};

fn with_extension(name: &str, mode: &str) -> FunctionConfig {
    let mut function = test_function(name);
    function
        .environment
        .insert("EMULATOR_TEST_EXTENSION".into(), mode.into());
    function
}

/// Environments reaped soon after their last invocation.
fn reaping_config() -> EmulatorConfig {
    EmulatorConfig {
        idle_timeout: Duration::from_millis(200),
        ..test_config()
    }
}

async fn invoke(emulator: &RunningEmulator, function: &str, payload: Value) -> (String, Value) {
    let response = client()
        .post(invoke_url(emulator, function))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("x-amz-function-error").is_none(),
        "the function failed"
    );
    let request_id = response.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    (request_id, response.json().await.unwrap())
}

async fn log_containing(emulator_log: &std::path::Path, needles: &[&str]) -> String {
    eventually(&format!("the log to show {needles:?}"), async || {
        std::fs::read_to_string(emulator_log)
            .ok()
            .filter(|text| needles.iter().all(|n| text.contains(n)))
    })
    .await
}

#[tokio::test]
async fn a_no_op_extension_registers_and_the_runtime_gets_sigterm_at_reaping() {
    let config = reaping_config();
    let log = config.log_dir.clone().unwrap().join("graceful.log");
    let emulator = start_with(config, vec![with_extension("graceful", "noop")]).await;

    // The function exits during init when its registration fails, so serving proves it passed;
    // the log line is the emulator's own record of it, as Lambda writes it.
    let (_, body) = invoke(&emulator, "graceful", json!({ "action": "echo" })).await;
    log_containing(
        &log,
        &["EXTENSION\tName: emulator-test-noop\tState: Ready\tEvents: []"],
    )
    .await;
    let pid = body["pid"].as_u64().unwrap() as u32;
    let (_, again) = invoke(&emulator, "graceful", json!({ "action": "trap_sigterm" })).await;
    assert_eq!(
        again["pid"].as_u64().unwrap() as u32,
        pid,
        "the registered environment stays warm"
    );

    log_containing(&log, &["got SIGTERM"]).await;
    eventually(
        "the environment to be killed after its grace period",
        async || (!process_alive(pid)).then_some(()),
    )
    .await;
    assert_eq!(emulator.stats("graceful").unwrap().cold_starts, 1);
}

#[tokio::test]
async fn a_subscribed_extension_gets_invoke_events() {
    let config = reaping_config();
    let log = config.log_dir.clone().unwrap().join("observed.log");
    let emulator = start_with(config, vec![with_extension("observed", "events")]).await;

    let (first, _) = invoke(&emulator, "observed", json!({ "action": "echo" })).await;
    let (second, body) = invoke(&emulator, "observed", json!({ "action": "trap_sigterm" })).await;
    let pid = body["pid"].as_u64().unwrap() as u32;

    let text = log_containing(
        &log,
        &[
            &format!("extension got INVOKE {first}"),
            &format!("extension got INVOKE {second}"),
            "got SIGTERM",
            "EXTENSION\tName: emulator-test-events\tState: Ready\tEvents: [INVOKE]",
        ],
    )
    .await;
    assert!(
        !text.contains("extension got SHUTDOWN"),
        "internal extensions get no SHUTDOWN: {text}"
    );
    eventually("the environment to end", async || {
        (!process_alive(pid)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn functions_without_extensions_are_unaffected() {
    // The Extensions API must not hold anything up when nobody registers.
    let emulator = start(vec![test_function("plain")]).await;
    let (request_id, body) = invoke(&emulator, "plain", json!({ "n": 1 })).await;
    assert_eq!(body["requestId"], request_id);
}
