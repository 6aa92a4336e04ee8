//! `worker-fn` on the real stack: the Temporal dev server's Worker Controller invokes it through
//! the Lambda emulator (as `template.yaml` declares it), with no local worker or after the local
//! worker died. One test binary so the scenarios share one build.

#[path = "../support/app.rs"]
mod helpers;

use std::time::{Duration, Instant};

use helpers::{EmulatorTuning, LambdaOptions, Options, TestApp, WORKER_FUNCTION};
use shared::OrderStep;

fn lambda(timeout_secs: u64, idle_exit: &'static str) -> Option<LambdaOptions> {
    Some(LambdaOptions {
        timeout: Duration::from_secs(timeout_secs),
        idle_exit,
    })
}

fn stats(app: &TestApp) -> lambda_emulator::metrics::FunctionStats {
    app.lambda_stats()
}

/// Wait until no invocation of the worker function runs.
async fn until_no_invocation_runs(app: &TestApp) {
    assert!(
        app.lambda_settles(|s| s.concurrent_executions == 0, Duration::from_secs(60))
            .await,
        "an invocation is still running after 60 s"
    );
}

fn is_lambda(identity: &str) -> bool {
    identity.contains(":function:shopflow-worker")
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_local_worker_an_order_completes_on_a_lambda_started_worker() {
    let app = TestApp::spawn_with(Options {
        local_worker: false,
        lambda: lambda(60, "1s"),
    })
    .await;
    until_no_invocation_runs(&app).await; // the registration invocation idles out
    let order = app.order(|_| {});

    let started = app.start(&order).await.unwrap();

    app.completes_with_each_effect_once(&started.workflow_id, &order)
        .await;
    let identities = app.task_identities(&started.workflow_id).await;
    assert!(!identities.is_empty());
    assert!(
        identities.iter().all(|i| is_lambda(i)),
        "every task ran in Lambda: {identities:?}"
    );
    // `<requestId>@<functionArn>`
    let arn = app.emulator.as_ref().unwrap().function_arn(WORKER_FUNCTION);
    assert!(
        identities.iter().all(|i| i.ends_with(&format!("@{arn}"))),
        "{identities:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_an_idle_exit_the_next_order_triggers_a_new_invocation() {
    let app = TestApp::spawn_with(Options {
        local_worker: false,
        lambda: lambda(60, "1s"),
    })
    .await;
    until_no_invocation_runs(&app).await; // the registration invocation idles out

    let first = app.order(|_| {});
    assert!(app.run(&first).await.is_completed());
    // The invocation ends by itself after 1 s without tasks — long before its 60 s timeout.
    until_no_invocation_runs(&app).await;
    let before = stats(&app).invocations;

    let second = app.order(|_| {});
    let started = Instant::now();
    assert!(app.run(&second).await.is_completed());
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "the second order waited for a timeout"
    );
    assert!(
        stats(&app).invocations > before,
        "a new invocation ran the second order"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invocation_that_reaches_its_deadline_mid_activity_is_retried_and_charges_once() {
    // 12 s timeout, no idle exit: the worker is told to stop at 5 s (12 s − 7 s buffer) and gives
    // running activities 5 s more, so a 20 s shipment call is cut off by the deadline.
    let app = TestApp::spawn_with(Options {
        local_worker: false,
        lambda: lambda(12, "off"),
    })
    .await;
    app.set_faults(serde_json::json!({ "latencyMs": 20000, "services": ["shipments"] }))
        .await;
    let order = app.order(|_| {});
    let started = app.start(&order).await.unwrap();
    app.wait_for_step(&started.workflow_id, OrderStep::CreatingShipment)
        .await
        .unwrap();
    let first_invocations = stats(&app).invocations;

    // Let the first invocation end at its deadline with the shipment in flight, then let the
    // shop answer quickly again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats(&app).invocations == first_invocations && stats(&app).concurrent_executions > 0 {
        assert!(
            Instant::now() < deadline,
            "the invocation did not end at its deadline"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.set_faults(serde_json::json!({})).await;

    app.completes_with_each_effect_once(&started.workflow_id, &order)
        .await;
    let identities = app.task_identities(&started.workflow_id).await;
    let mut invocations: Vec<&String> = identities.iter().collect();
    invocations.sort();
    invocations.dedup();
    assert!(
        invocations.len() >= 2,
        "tasks ran in more than one invocation: {identities:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_local_worker_is_sigkilled_mid_order_the_order_finishes_on_lambda() {
    let mut app = TestApp::spawn_with(Options {
        local_worker: true,
        lambda: lambda(60, "1s"),
    })
    .await;
    until_no_invocation_runs(&app).await; // the registration invocation
    app.set_faults(serde_json::json!({ "latencyMs": 2000, "services": ["shipments"] }))
        .await;
    let order = app.order(|_| {});
    let started = app.start(&order).await.unwrap();
    app.wait_for_step(&started.workflow_id, OrderStep::CreatingShipment)
        .await
        .unwrap();

    app.kill_worker();

    app.completes_with_each_effect_once(&started.workflow_id, &order)
        .await;
    let identities = app.task_identities(&started.workflow_id).await;
    assert!(
        identities.iter().any(|i| i.starts_with("local-worker@")),
        "{identities:?}"
    );
    assert!(
        identities.iter().any(|i| is_lambda(i)),
        "Lambda took over: {identities:?}"
    );
}

/// Lambda freezes an environment between invocations, and a connection it kept may be dead when
/// it is thawed (a proxy's idle timeout, a server restart). The warm client must reconnect without
/// failing the invocation: the next order completes in the same environment, and no invocation
/// failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_warm_client_whose_connection_died_while_frozen_reconnects() {
    let tuning = EmulatorTuning {
        temporal_relay: true,
        ..EmulatorTuning::default()
    };
    let app = TestApp::spawn_tuned(
        Options {
            local_worker: false,
            lambda: lambda(60, "1s"),
        },
        tuning,
    )
    .await;
    until_no_invocation_runs(&app).await; // the registration invocation idles out
    let first = app.order(|_| {});
    assert!(app.run(&first).await.is_completed());
    until_no_invocation_runs(&app).await;
    let environments = stats(&app).cold_starts;

    let cut = app.relay.as_ref().expect("the relay").cut();
    assert!(
        cut > 0,
        "the frozen environment kept a connection to Temporal"
    );
    let second = app.order(|_| {});
    assert!(app.run(&second).await.is_completed());
    until_no_invocation_runs(&app).await;
    let after = stats(&app);
    assert_eq!(
        after.cold_starts, environments,
        "the same warm environment ran the second order"
    );
    assert_eq!(
        after.errors, 0,
        "no invocation failed on the dead connection"
    );
}
