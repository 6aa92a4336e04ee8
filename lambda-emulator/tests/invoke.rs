//! The Invoke API against real execution environments of the test function: sync and event
//! invocations, function errors, timeouts, crashes, warm reuse, concurrency and throttling,
//! idle reaping, environment variables and log forwarding.

mod common;

use std::time::Duration;

use common::*;
use lambda_emulator::EmulatorConfig;
use serde_json::{Value, json};

async fn invoke(
    emulator: &lambda_emulator::RunningEmulator,
    function: &str,
    payload: Value,
) -> reqwest::Response {
    client()
        .post(invoke_url(emulator, function))
        .json(&payload)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sync_invoke_returns_the_payload_with_lambda_headers() {
    let emulator = start(vec![test_function("echo")]).await;
    let response = invoke(&emulator, "echo", json!({ "action": "echo", "n": 1 })).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-amz-executed-version"], "$LATEST");
    assert!(response.headers().get("x-amz-function-error").is_none());
    let request_id = response.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["echo"], json!({ "action": "echo", "n": 1 }));
    assert_eq!(
        body["requestId"], request_id,
        "the runtime saw the same request id"
    );
}

#[tokio::test]
async fn an_empty_payload_is_the_empty_object() {
    let emulator = start(vec![test_function("empty")]).await;
    let response = client()
        .post(invoke_url(&emulator, "empty"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["echo"], json!({}));
}

#[tokio::test]
async fn a_function_error_is_reported_as_unhandled() {
    let emulator = start(vec![test_function("failing")]).await;
    let response = invoke(
        &emulator,
        "failing",
        json!({ "action": "error", "message": "boom" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-amz-function-error"], "Unhandled");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorMessage"], "boom");
    assert!(body["errorType"].is_string());
    // A handled error leaves the environment usable: the next invocation is warm.
    let next = invoke(&emulator, "failing", json!({})).await;
    assert_eq!(next.status(), 200);
    assert_eq!(emulator.stats("failing").unwrap().cold_starts, 1);
    assert_eq!(emulator.stats("failing").unwrap().errors, 1);
}

#[tokio::test]
async fn warm_environments_are_reused() {
    let emulator = start(vec![test_function("warm")]).await;
    let mut pids = Vec::new();
    for _ in 0..3 {
        let body: Value = invoke(&emulator, "warm", json!({}))
            .await
            .json()
            .await
            .unwrap();
        pids.push(body["pid"].as_u64().unwrap());
    }
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "one environment served all: {pids:?}"
    );
    let stats = emulator.stats("warm").unwrap();
    assert_eq!(
        (stats.invocations, stats.cold_starts, stats.environments),
        (3, 1, 1)
    );
    // One init phase (spawn → first `/next`) is recorded, and only one: the mean equals the max.
    assert!(stats.init_duration_ms_max > 0.0, "{stats:?}");
    assert_eq!(
        stats.init_duration_ms_sum, stats.init_duration_ms_max,
        "{stats:?}"
    );
}

#[tokio::test]
async fn a_timeout_kills_the_environment_and_reports_it_like_lambda() {
    let mut function = test_function("slow");
    function.timeout = Duration::from_secs(1);
    let emulator = start(vec![function]).await;
    let first: Value = invoke(&emulator, "slow", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let first_pid = first["pid"].as_u64().unwrap() as u32;

    let response = invoke(
        &emulator,
        "slow",
        json!({ "action": "sleep", "ms": 30_000 }),
    )
    .await;
    assert_eq!(response.headers()["x-amz-function-error"], "Unhandled");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{body}"
    );
    eventually("the timed-out environment to be gone", async || {
        (!process_alive(first_pid)).then_some(())
    })
    .await;

    let after: Value = invoke(&emulator, "slow", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        after["pid"].as_u64().unwrap() as u32,
        first_pid,
        "a new environment after the timeout"
    );
    assert_eq!(emulator.stats("slow").unwrap().cold_starts, 2);
}

#[tokio::test]
async fn a_crash_mid_invocation_is_a_runtime_exit_error() {
    let emulator = start(vec![test_function("crashing")]).await;
    let response = invoke(
        &emulator,
        "crashing",
        json!({ "action": "crash", "code": 7 }),
    )
    .await;
    assert_eq!(response.headers()["x-amz-function-error"], "Unhandled");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: exit status 7"),
        "{body}"
    );
    assert_eq!(
        invoke(&emulator, "crashing", json!({})).await.status(),
        200,
        "a fresh environment serves the next"
    );
}

#[tokio::test]
async fn binaries_that_are_missing_or_not_runtimes_fail_the_invocation() {
    let missing = lambda_emulator::FunctionConfig::new("missing", "/no/such/bootstrap");
    let not_a_runtime = lambda_emulator::FunctionConfig::new("not-a-runtime", "/bin/true");
    let emulator = start(vec![missing, not_a_runtime]).await;
    let body: Value = invoke(&emulator, "missing", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["errorType"], "Runtime.InvalidEntrypoint");
    let response = invoke(&emulator, "not-a-runtime", json!({})).await;
    assert_eq!(response.headers()["x-amz-function-error"], "Unhandled");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError", "{body}");
}

#[tokio::test]
async fn reserved_concurrency_throttles_sync_invokes_and_queues_events() {
    let mut function = test_function("limited");
    function.reserved_concurrency = Some(1);
    function.timeout = Duration::from_secs(30);
    let records = temp_dir("records").join("invocations");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    let emulator = start(vec![function]).await;
    let url = invoke_url(&emulator, "limited");

    let busy = tokio::spawn(
        client()
            .post(url.clone())
            .json(&json!({ "action": "sleep", "ms": 3000 }))
            .send(),
    );
    eventually("the first invocation to run", async || {
        (emulator.stats("limited").unwrap().concurrent_executions == 1).then_some(())
    })
    .await;

    let throttled = client().post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        throttled.headers()["x-amzn-errortype"],
        "TooManyRequestsException"
    );
    assert!(throttled.headers().contains_key("x-amzn-requestid"));
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(
        body["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );

    let event = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .json(&json!({ "queued": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        event.status(),
        202,
        "events are accepted even when the function is at its limit"
    );
    assert_eq!(busy.await.unwrap().unwrap().status(), 200);
    eventually("the throttled event to run", async || {
        (std::fs::read_to_string(&records)
            .unwrap_or_default()
            .lines()
            .count()
            == 2)
            .then_some(())
    })
    .await;
    let stats = emulator.stats("limited").unwrap();
    assert!(
        stats.throttles >= 2,
        "one sync throttle and at least one for the event: {stats:?}"
    );
    assert_eq!(stats.concurrent_executions_max, 1);
}

/// An event throttled for longer than the maximum event age is dropped, not retried for ever
/// (Lambda's `MaximumEventAgeInSeconds`; six hours by default, 1 s here).
#[tokio::test]
async fn an_event_throttled_past_the_maximum_event_age_is_dropped() {
    let mut function = test_function("never-free");
    function.reserved_concurrency = Some(0);
    let records = temp_dir("records").join("invocations");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    let config = lambda_emulator::EmulatorConfig {
        max_event_age: Duration::from_secs(1),
        ..test_config()
    };
    let emulator = start_with(config, vec![function]).await;
    let url = invoke_url(&emulator, "never-free");
    let event = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(event.status(), 202);
    eventually("the event to be pending", async || {
        (emulator.stats("never-free").unwrap().async_events_pending == 1).then_some(())
    })
    .await;
    eventually("the too-old event to be dropped", async || {
        (emulator.stats("never-free").unwrap().async_events_pending == 0).then_some(())
    })
    .await;
    let stats = emulator.stats("never-free").unwrap();
    assert!(
        stats.throttles >= 2,
        "it was retried while young: {stats:?}"
    );
    assert_eq!(stats.invocations, 0);
    assert!(!records.exists(), "the function never ran");
}

/// Without reserved concurrency the account's limit applies, and Lambda's 429 says so.
#[tokio::test]
async fn the_account_limit_throttles_with_its_own_reason() {
    let mut function = test_function("unreserved");
    function.timeout = Duration::from_secs(30);
    let config = lambda_emulator::EmulatorConfig {
        account_concurrency: 1,
        ..test_config()
    };
    let emulator = start_with(config, vec![function]).await;
    let url = invoke_url(&emulator, "unreserved");
    let busy = tokio::spawn(
        client()
            .post(url.clone())
            .json(&json!({ "action": "sleep", "ms": 2000 }))
            .send(),
    );
    eventually("the first invocation to run", async || {
        (emulator.stats("unreserved").unwrap().concurrent_executions == 1).then_some(())
    })
    .await;
    let throttled = client().post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        throttled.headers()["x-amzn-errortype"],
        "TooManyRequestsException"
    );
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "Type": "User", "message": "Rate Exceeded.", "Reason": "ConcurrentInvocationLimitExceeded" })
    );
    assert_eq!(busy.await.unwrap().unwrap().status(), 200);
}

/// Lambda's Duration is the invoke phase only: a cold start's init phase is reported apart (Init
/// Duration) and billed with it.
#[tokio::test]
async fn duration_excludes_the_init_phase() {
    const INIT_MS: f64 = 1500.0;
    let mut function = test_function("slow-init");
    function.timeout = Duration::from_secs(30);
    function
        .environment
        .insert("EMULATOR_TEST_INIT_SLEEP_MS".into(), INIT_MS.to_string());
    let emulator = start(vec![function]).await;
    let response = invoke(&emulator, "slow-init", json!({})).await;
    assert!(response.headers().get("x-amz-function-error").is_none());
    let stats = emulator.stats("slow-init").unwrap();
    assert_eq!(stats.cold_starts, 1);
    assert!(
        stats.init_duration_ms_sum >= INIT_MS,
        "the init phase holds the sleep: {stats:?}"
    );
    assert!(
        stats.duration_ms_sum < INIT_MS,
        "an echo's Duration must not hold the init phase: {stats:?}"
    );
    let billed = (stats.init_duration_ms_sum + stats.duration_ms_sum).ceil() as u64;
    assert!(
        stats.billed_duration_ms_sum.abs_diff(billed) <= 1,
        "billed = init + duration: {stats:?}"
    );
}

#[tokio::test]
async fn busy_environments_make_new_ones_up_to_the_limit() {
    let mut function = test_function("parallel");
    function.reserved_concurrency = Some(3);
    function.timeout = Duration::from_secs(30);
    let emulator = start(vec![function]).await;
    let url = invoke_url(&emulator, "parallel");
    let mut calls = Vec::new();
    for running in 1..=3 {
        let request = client()
            .post(url.clone())
            .json(&json!({ "action": "sleep", "ms": 3000 }))
            .send();
        calls.push(tokio::spawn(request));
        // Start the next only once this one runs, so all three are busy at the same time.
        eventually("the invocation to start", async || {
            (emulator.stats("parallel").unwrap().concurrent_executions == running).then_some(())
        })
        .await;
    }
    let fourth = client().post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(
        fourth.status(),
        429,
        "a fourth concurrent invocation exceeds the reserved concurrency"
    );
    let mut pids = Vec::new();
    for call in calls {
        let body: Value = call.await.unwrap().unwrap().json().await.unwrap();
        pids.push(body["pid"].as_u64().unwrap());
    }
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 3, "three busy environments");
    let stats = emulator.stats("parallel").unwrap();
    assert_eq!(
        (
            stats.cold_starts,
            stats.concurrent_executions_max,
            stats.environments
        ),
        (3, 3, 3)
    );
}

#[tokio::test]
async fn event_invokes_return_202_and_failures_are_retried_twice() {
    let records = temp_dir("records").join("invocations");
    let mut function = test_function("events");
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    let emulator = start(vec![function]).await;
    let url = invoke_url(&emulator, "events");

    let accepted = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .json(&json!({ "action": "sleep", "ms": 1000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    assert_eq!(
        emulator.stats("events").unwrap().async_events_pending,
        1,
        "202 came before the function finished"
    );
    assert_eq!(accepted.headers()["x-amz-executed-version"], "$LATEST");
    assert!(accepted.bytes().await.unwrap().is_empty());
    eventually("the event to run", async || {
        std::fs::read_to_string(&records)
            .ok()
            .filter(|r| r.lines().count() == 1)
    })
    .await;

    let failing = client()
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .json(&json!({ "action": "error" }))
        .send()
        .await
        .unwrap();
    let request_id = failing.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    eventually("the failed event's attempts to finish", async || {
        (emulator.stats("events").unwrap().async_events_pending == 0).then_some(())
    })
    .await;
    let lines = std::fs::read_to_string(&records).unwrap();
    let attempts = lines.lines().filter(|l| *l == request_id).count();
    assert_eq!(
        attempts, 3,
        "one attempt and two retries, all with the event's request id"
    );
    assert_eq!(emulator.stats("events").unwrap().errors, 3);
}

#[tokio::test]
async fn dry_run_validates_without_running() {
    let emulator = start(vec![test_function("dry")]).await;
    let response = client()
        .post(invoke_url(&emulator, "dry"))
        .header("X-Amz-Invocation-Type", "DryRun")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(emulator.stats("dry").unwrap().invocations, 0);
}

#[tokio::test]
async fn idle_environments_are_shut_down() {
    let config = EmulatorConfig {
        idle_timeout: Duration::from_millis(300),
        ..test_config()
    };
    let emulator = start_with(config, vec![test_function("idle")]).await;
    let body: Value = invoke(&emulator, "idle", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let pid = body["pid"].as_u64().unwrap() as u32;
    assert_eq!(emulator.idle_pids("idle"), [pid]);
    eventually("the idle environment to be reaped", async || {
        emulator.idle_pids("idle").is_empty().then_some(())
    })
    .await;
    eventually("its process to exit", async || {
        (!process_alive(pid)).then_some(())
    })
    .await;
    assert_eq!(emulator.stats("idle").unwrap().environments, 0);
    // Scaled to zero, the next invocation starts cold.
    let again: Value = invoke(&emulator, "idle", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(again["pid"].as_u64().unwrap() as u32, pid);
}

/// AWS "Lambda execution environment lifecycle", Shutdown phase: with no registered extension
/// the phase has 0 ms, and the runtime gets no SIGTERM — only SIGKILL.
#[tokio::test]
async fn without_extensions_shutdown_is_sigkill_only() {
    let config = EmulatorConfig {
        idle_timeout: Duration::from_millis(200),
        ..test_config()
    };
    let log_dir = config.log_dir.clone().unwrap();
    let emulator = start_with(config, vec![test_function("unextended")]).await;
    let body: Value = invoke(&emulator, "unextended", json!({ "action": "trap_sigterm" }))
        .await
        .json()
        .await
        .unwrap();
    let pid = body["pid"].as_u64().unwrap() as u32;
    eventually("the idle environment to be killed", async || {
        (!process_alive(pid)).then_some(())
    })
    .await;
    let log = std::fs::read_to_string(log_dir.join("unextended.log")).unwrap();
    assert!(
        !log.contains("got SIGTERM"),
        "no SIGTERM without an extension: {log}"
    );
}

#[tokio::test]
async fn functions_see_lambdas_variables_and_not_the_hosts() {
    let mut function = test_function("env");
    function
        .environment
        .insert("FROM_TEMPLATE".into(), "yes".into());
    function.memory_mb = 512;
    let emulator = start(vec![function]).await;
    let body: Value = invoke(&emulator, "env", json!({ "action": "env" }))
        .await
        .json()
        .await
        .unwrap();
    let env = &body["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "env");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/env");
    assert_eq!(env["_HANDLER"], "bootstrap");
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["FROM_TEMPLATE"], "yes");
    for name in [
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_EXECUTION_ENV",
    ] {
        assert!(
            env[name].as_str().is_some_and(|v| !v.is_empty()),
            "{name} missing: {env}"
        );
    }
    assert!(
        env["AWS_LAMBDA_LOG_STREAM_NAME"]
            .as_str()
            .unwrap()
            .contains("[$LATEST]")
    );
    // Cargo sets this for the test process; a Lambda function must not inherit it.
    assert!(
        env.get("CARGO_MANIFEST_DIR").is_none(),
        "host variables leaked: {env}"
    );
}

#[tokio::test]
async fn function_output_is_forwarded_with_function_and_request_id() {
    let config = test_config();
    let log_dir = config.log_dir.clone().unwrap();
    let emulator = start_with(config, vec![test_function("chatty")]).await;
    let response = invoke(
        &emulator,
        "chatty",
        json!({ "action": "print", "lines": ["hello", "world"], "stderr_lines": ["oops"] }),
    )
    .await;
    let request_id = response.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned();
    let log = log_dir.join("chatty.log");
    let text = eventually("the lines to reach the log file", async || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains("oops") && t.contains("world"))
    })
    .await;
    for line in ["hello", "world", "oops"] {
        assert!(
            text.contains(&format!("[chatty {request_id}] {line}\n")),
            "{line:?} not attributed: {text}"
        );
    }
}
