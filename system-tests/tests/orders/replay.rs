//! Replaying real histories against the current workflow code catches non-determinism: a change
//! to `OrderWorkflow` that would break in-flight orders fails here, not in production.
//!
//! Histories come from two places: orders run by this test (every path: completed, each kind of
//! compensation, a charge retried after transient failures), and the recorded ones in
//! `shared/tests/histories/` (from earlier builds — the ones that matter when the code changes).
//! Set `SHOPFLOW_RECORD_HISTORIES=1` to refresh those.

use temporalio_client::{WorkflowFetchHistoryOptions, WorkflowHistory};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

use crate::helpers::TestApp;
use crate::history;

fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<shared::OrderWorkflow>()
        .unwrap()
        .build();
    WorkflowReplayer::new(options).unwrap()
}

fn recorded_dir() -> std::path::PathBuf {
    devstack::paths::workspace_root().join("shared/tests/histories")
}

/// Fetch `workflow_id`'s history, record it as `name` when asked to, and replay it.
async fn replay_fresh(app: &TestApp, replayer: &WorkflowReplayer, name: &str, workflow_id: &str) {
    let history = shared::orders::handle(&app.client, workflow_id)
        .fetch_history(WorkflowFetchHistoryOptions::default());
    let json = history.to_json().await.expect("history as JSON");
    if std::env::var("SHOPFLOW_RECORD_HISTORIES").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(recorded_dir()).unwrap();
        std::fs::write(recorded_dir().join(format!("{name}.json")), &json).unwrap();
    }
    let history = WorkflowHistory::from_json(&json).unwrap();
    replayer
        .replay_workflow(history)
        .await
        .unwrap_or_else(|e| panic!("{name} does not replay: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_histories_of_every_path_replay_cleanly() {
    let app = TestApp::spawn().await;
    let orders = [
        ("completed", app.order(|_| {})),
        (
            "declined",
            app.order(|o| o["customer"]["id"] = "decline-replay".into()),
        ),
        (
            "undeliverable",
            app.order(|o| o["shippingAddress"]["postalCode"] = "00000".into()),
        ),
        // 1000 mugs: more than the shop stocks, so the reservation is refused.
        (
            "out-of-stock",
            app.order(|o| o["items"][0]["quantity"] = 1000.into()),
        ),
    ];
    let replayer = replayer();
    for (name, order) in &orders {
        app.run(order).await;
        replay_fresh(&app, &replayer, name, &shared::workflow_id(&order.order_id)).await;
    }

    // A charge that fails transiently and succeeds on a retry: the payment service fails every
    // call until the history shows a second attempt, then recovers.
    app.set_faults(serde_json::json!({ "errorRate": 1.0, "services": ["payments"] }))
        .await;
    let order = app.order(|_| {});
    let started = app.start(&order).await.expect("start");
    history::wait_for_attempt(&app, &started.workflow_id, "ChargeCustomer", 2).await;
    app.set_faults(serde_json::json!({ "errorRate": 0.0 }))
        .await;
    let outcome = app.outcome(&started.workflow_id).await;
    assert!(
        matches!(outcome, shared::OrderOutcome::Completed { .. }),
        "{outcome:?}"
    );
    replay_fresh(&app, &replayer, "retried-charge", &started.workflow_id).await;
}

#[tokio::test]
async fn recorded_histories_replay_cleanly() {
    let dir = recorded_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no recorded histories in {}",
        dir.display()
    );
    let replayer = replayer();
    for file in files {
        let history = WorkflowHistory::from_json(&std::fs::read(&file).unwrap()).unwrap();
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} does not replay: {e}", file.display()));
    }
}
