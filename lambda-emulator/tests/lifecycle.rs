//! The execution environment's lifecycle held to Lambda's rules — each test names the behaviour
//! and the AWS page it follows (AWS "Lambda execution environment lifecycle" unless said
//! otherwise). Each of these passed against the first-round emulator's leniency only by failing.

mod common;

use std::time::Duration;

use common::*;
use lambda_emulator::invoke::{InvokeOutcome, InvokeResult};
use lambda_emulator::{EmulatorConfig, FunctionConfig, RunningEmulator};
use serde_json::{Value, json};

fn function(name: &str, variables: &[(&str, &str)]) -> FunctionConfig {
    let mut function = test_function(name);
    for (key, value) in variables {
        function.environment.insert((*key).into(), (*value).into());
    }
    function
}

async fn call(emulator: &RunningEmulator, name: &str, payload: Value) -> InvokeResult {
    emulator
        .invoke(name, payload.to_string())
        .await
        .expect("the invocation ran")
}

fn success(result: &InvokeResult) -> Value {
    match &result.outcome {
        InvokeOutcome::Success(body) => serde_json::from_slice(body).unwrap(),
        InvokeOutcome::FunctionError(body) => {
            panic!("the function failed: {}", String::from_utf8_lossy(body))
        }
    }
}

fn failure(result: &InvokeResult) -> Value {
    match &result.outcome {
        InvokeOutcome::FunctionError(body) => serde_json::from_slice(body).unwrap(),
        InvokeOutcome::Success(body) => {
            panic!("expected a failure, got {}", String::from_utf8_lossy(body))
        }
    }
}

fn pid(body: &Value) -> u32 {
    body["pid"].as_u64().unwrap() as u32
}

/// Init ends only when the runtime *and every registered extension* have called `next`: a
/// function whose extension registers and never polls never gets its first event — not within
/// Lambda's init limit, nor in the retry of Init under the function's timeout — and the
/// invocation times out.
#[tokio::test]
async fn an_extension_that_never_calls_next_keeps_init_from_ending() {
    let records = temp_dir("init").join("invocations");
    let silent = function(
        "silent-extension",
        &[
            ("EMULATOR_TEST_EXTENSION", "register_only"),
            ("EMULATOR_TEST_RECORD_FILE", &records.display().to_string()),
        ],
    );
    let config = EmulatorConfig {
        init_timeout: Duration::from_secs(2),
        ..test_config()
    };
    let emulator = start_with(
        config,
        vec![
            silent,
            function("polling-extension", &[("EMULATOR_TEST_EXTENSION", "noop")]),
        ],
    )
    .await;

    let error = failure(&call(&emulator, "silent-extension", json!({})).await);
    assert_eq!(error["errorType"], "Sandbox.Timedout", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Task timed out after 3.00 seconds"),
        "{error}"
    );
    assert!(!records.exists(), "the runtime never got the event");
    // The same registration with its run loop driven (as lambda_runtime's helper does) is served.
    success(&call(&emulator, "polling-extension", json!({})).await);
}

/// An Init that runs past Lambda's init limit is retried once in a new environment within the
/// invocation, under the function's timeout ("suppressed init"): a slow Init that fits in the
/// function's timeout succeeds on the retry.
#[tokio::test]
async fn an_init_past_the_init_limit_is_retried_under_the_function_timeout() {
    let mut slow = function("slow-init", &[("EMULATOR_TEST_INIT_SLEEP_MS", "1500")]);
    slow.timeout = Duration::from_secs(10);
    let config = EmulatorConfig {
        init_timeout: Duration::from_secs(1),
        ..test_config()
    };
    let emulator = start_with(config, vec![slow]).await;
    let body = success(&call(&emulator, "slow-init", json!({})).await);
    assert!(
        process_alive(pid(&body)),
        "the retried environment serves, warm"
    );
}

/// After an `INVOKE`, the environment stays busy until the extensions subscribed to it call next
/// again: the caller has its answer, but the next event goes to another environment.
#[tokio::test]
async fn an_extension_still_handling_invoke_keeps_the_environment_busy() {
    let mut slow = function(
        "slow-extension",
        &[
            ("EMULATOR_TEST_EXTENSION", "slow_invoke"),
            ("EMULATOR_TEST_EXTENSION_HOLD_MS", "3000"),
        ],
    );
    // The extension's time counts toward the function's timeout, as on Lambda.
    slow.timeout = Duration::from_secs(20);
    let emulator = start(vec![slow]).await;
    let first = pid(&success(
        &call(&emulator, "slow-extension", json!({})).await,
    ));
    let second = pid(&success(
        &call(&emulator, "slow-extension", json!({})).await,
    ));
    assert_ne!(
        first, second,
        "the first environment was still in its invoke phase"
    );
    assert_eq!(emulator.stats("slow-extension").unwrap().cold_starts, 2);
    // Once the extension is back in next, the environment is warm again.
    eventually("an environment to be idle again", async || {
        (!emulator.idle_pids("slow-extension").is_empty()).then_some(())
    })
    .await;
    let third = pid(&success(
        &call(&emulator, "slow-extension", json!({})).await,
    ));
    assert!(
        [first, second].contains(&third),
        "a settled environment is reused"
    );
}

/// AWS "Lambda Extensions API": internal extensions cannot register for `SHUTDOWN`. The function
/// exits during init when its registration is refused, so the invocation fails.
#[tokio::test]
async fn an_internal_extension_may_not_subscribe_to_shutdown() {
    let config = test_config();
    let log = config
        .log_dir
        .clone()
        .unwrap()
        .join("shutdown-subscriber.log");
    let emulator = start_with(
        config,
        vec![function(
            "shutdown-subscriber",
            &[("EMULATOR_TEST_EXTENSION", "shutdown")],
        )],
    )
    .await;
    let error = failure(&call(&emulator, "shutdown-subscriber", json!({})).await);
    assert_eq!(error["errorType"], "Runtime.ExitError", "{error}");
    eventually("the refusal in the function's log", async || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|text| text.contains("extension registration refused"))
    })
    .await;
}

/// A timed-out invocation resets the environment with the same shutdown phase: SIGTERM to a
/// runtime with an extension, SIGKILL after the 500 ms budget; the next invocation is cold.
#[tokio::test]
async fn a_timed_out_invocation_resets_the_environment() {
    let config = test_config();
    let log = config.log_dir.clone().unwrap().join("overrun.log");
    let mut overrun = function("overrun", &[("EMULATOR_TEST_EXTENSION", "noop")]);
    overrun.timeout = Duration::from_secs(1);
    let emulator = start_with(config, vec![overrun]).await;
    let first = pid(&success(
        &call(&emulator, "overrun", json!({ "action": "trap_sigterm" })).await,
    ));
    let error = failure(
        &call(
            &emulator,
            "overrun",
            json!({ "action": "sleep", "ms": 5000 }),
        )
        .await,
    );
    assert_eq!(error["errorType"], "Sandbox.Timedout", "{error}");
    eventually("the timed-out environment to be killed", async || {
        (!process_alive(first)).then_some(())
    })
    .await;
    eventually("SIGTERM before the kill", async || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains("got SIGTERM"))
    })
    .await;
    let next = pid(&success(&call(&emulator, "overrun", json!({})).await));
    assert_ne!(next, first);
    assert_eq!(emulator.stats("overrun").unwrap().cold_starts, 2);
}

/// AWS "Troubleshoot invocation issues": a function over its memory size is killed and the
/// invocation fails with `Runtime.OutOfMemory`; the next invocation starts a new environment.
#[tokio::test]
async fn an_environment_over_its_memory_size_is_killed() {
    let emulator = start(vec![function("greedy", &[])]).await;
    let before = pid(&success(
        &call(
            &emulator,
            "greedy",
            json!({ "action": "allocate", "mb": 16 }),
        )
        .await,
    ));
    let error = failure(
        &call(
            &emulator,
            "greedy",
            json!({ "action": "allocate", "mb": 400 }),
        )
        .await,
    );
    assert_eq!(error["errorType"], "Runtime.OutOfMemory", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Runtime exited with error: signal: killed"),
        "{error}"
    );
    assert!(!process_alive(before));
    let after = pid(&success(&call(&emulator, "greedy", json!({})).await));
    assert_ne!(after, before, "a cold start after the kill");
}

/// Between invocations the environment is frozen: a thread the handler left running makes no
/// progress until the next event, then resumes.
#[tokio::test]
async fn an_idle_environment_is_frozen_and_thawed_for_the_next_event() {
    let ticks = temp_dir("freeze").join("ticks");
    let emulator = start(vec![function("ticker", &[])]).await;
    let env = pid(&success(
        &call(
            &emulator,
            "ticker",
            json!({ "action": "tick", "path": ticks.display().to_string() }),
        )
        .await,
    ));
    eventually("the environment to be frozen", async || {
        (process_state(env) == Some('T')).then_some(())
    })
    .await;
    let frozen_at = line_count(&ticks);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(line_count(&ticks), frozen_at, "no progress while frozen");
    assert_eq!(
        pid(&success(&call(&emulator, "ticker", json!({})).await)),
        env,
        "the same, warm environment"
    );
    // Thawed for the event; the ticker runs on until the environment is frozen again.
    eventually("the ticker to run again", async || {
        (line_count(&ticks) > frozen_at).then_some(())
    })
    .await;
}

/// Lambda's values win over the function's and `--env` ones; `LoggingConfig` reaches the
/// function as `AWS_LAMBDA_LOG_FORMAT`/`AWS_LAMBDA_LOG_LEVEL`; each environment has its own
/// temporary folder.
#[tokio::test]
async fn lambdas_variables_win_and_each_environment_has_its_own_tmp() {
    let mut config = test_config();
    config
        .extra_env
        .insert("AWS_LAMBDA_FUNCTION_NAME".into(), "spoofed".into());
    config
        .extra_env
        .insert("AWS_REGION".into(), "eu-west-3".into());
    let mut logged = function("logged", &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "99999")]);
    logged.logging =
        lambda_emulator::variables::LoggingConfig::parse(Some("JSON"), Some("DEBUG"), None)
            .unwrap();
    logged
        .environment
        .insert("EMULATOR_TEST_EXTENSION".into(), "slow_invoke".into());
    logged
        .environment
        .insert("EMULATOR_TEST_EXTENSION_HOLD_MS".into(), "3000".into());
    logged.timeout = Duration::from_secs(20);
    let emulator = start_with(config, vec![logged]).await;

    let names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_REGION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_FORMAT",
        "AWS_LAMBDA_LOG_LEVEL",
    ];
    let env = success(
        &call(
            &emulator,
            "logged",
            json!({ "action": "env", "names": names }),
        )
        .await,
    )["env"]
        .clone();
    assert_eq!(
        env,
        json!({
            "AWS_LAMBDA_FUNCTION_NAME": "logged",
            "AWS_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
        })
    );
    // The first environment is still busy (its extension holds each INVOKE), so this is another.
    let tmp = success(&call(&emulator, "logged", json!({ "action": "tmp" })).await);
    let other = success(&call(&emulator, "logged", json!({ "action": "tmp" })).await);
    assert_ne!(pid(&tmp), pid(&other));
    let (a, b) = (tmp["tmp"].as_str().unwrap(), other["tmp"].as_str().unwrap());
    assert_ne!(a, b, "each environment has its own TMPDIR");
    assert!(
        std::path::Path::new(a)
            .join("written-by-the-function")
            .is_file()
    );

    let got: Value = client()
        .get(format!(
            "{}/2015-03-31/functions/logged",
            emulator.lambda_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["Configuration"]["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(
        got["Configuration"]["LoggingConfig"]["ApplicationLogLevel"],
        "DEBUG"
    );
}

/// Lambda writes `START`, `END` and `REPORT` (with `Init Duration` on a cold start) for each
/// invocation into the function's log.
#[tokio::test]
async fn each_invocation_has_start_end_and_report_lines() {
    let config = test_config();
    let log = config.log_dir.clone().unwrap().join("reported.log");
    let emulator = start_with(config, vec![function("reported", &[])]).await;
    let cold = call(&emulator, "reported", json!({})).await.request_id;
    let warm = call(&emulator, "reported", json!({})).await.request_id;
    let text = eventually("both REPORT lines", async || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.matches("REPORT RequestId").count() == 2)
    })
    .await;
    for id in [&cold, &warm] {
        assert!(
            text.contains(&format!("START RequestId: {id} Version: $LATEST")),
            "{text}"
        );
        assert!(text.contains(&format!("END RequestId: {id}")), "{text}");
    }
    let report = |id: &str| {
        text.lines()
            .find(|l| l.contains(&format!("REPORT RequestId: {id}")))
            .unwrap()
            .to_owned()
    };
    let cold_report = report(&cold);
    for field in [
        "\tDuration: ",
        " ms\tBilled Duration: ",
        " ms\tMemory Size: 128 MB\tMax Memory Used: ",
        "\tInit Duration: ",
    ] {
        assert!(cold_report.contains(field), "{field:?} in {cold_report}");
    }
    assert!(
        !report(&warm).contains("Init Duration"),
        "a warm start has no init: {}",
        report(&warm)
    );
}

fn line_count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
}
