//! The same order twice is one workflow, whether the first is still running or long done.

use devstack::shop::EffectKind;
use shared::orders::StartError;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn the_same_order_started_twice_runs_once() {
    let app = TestApp::spawn().await;
    let order = app.order(|_| {});

    let first = app.start(&order).await.expect("first start");
    // While it runs:
    match app.start(&order).await {
        Err(StartError::AlreadyExists { workflow_id, .. }) => {
            assert_eq!(workflow_id, first.workflow_id)
        }
        other => panic!("second start must be refused, got {other:?}"),
    }
    app.outcome(&first.workflow_id).await;
    // And after it completed:
    match app.start(&order).await {
        Err(StartError::AlreadyExists {
            workflow_id,
            run_id,
        }) => {
            assert_eq!(workflow_id, first.workflow_id);
            assert_eq!(
                run_id.as_deref(),
                Some(first.run_id.as_str()),
                "points at the first run"
            );
        }
        other => panic!("start after completion must be refused, got {other:?}"),
    }
    let ledger = app.ledger(&order).await;
    assert_eq!(ledger.count(EffectKind::Charge), 1, "{ledger:?}");
    assert_eq!(ledger.count(EffectKind::Ship), 1, "{ledger:?}");
}
