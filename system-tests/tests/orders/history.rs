//! Reading an order's workflow history: what the server recorded is the evidence these tests
//! check behaviour against (which worker took a task, which attempt of an activity finished),
//! rather than what a worker says about itself.

use std::time::{Duration, SystemTime};

use temporalio_client::{WorkflowDescribeOptions, WorkflowFetchHistoryOptions};
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

use crate::helpers::TestApp;

/// Every event of the workflow's (latest run's) history, in order.
pub async fn events(app: &TestApp, workflow_id: &str) -> Vec<HistoryEvent> {
    shared::orders::handle(&app.client, workflow_id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("workflow history")
}

/// When the server recorded `event`.
pub fn time_of(event: &HistoryEvent) -> SystemTime {
    let t = event.event_time.expect("every event has a time");
    SystemTime::UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos as u32)
}

/// For each run of activity `activity_type` that started: (attempt, identity of the worker).
///
/// The server writes an activity's `ActivityTaskStarted` event only when the activity closes,
/// with the attempt that closed it — so `attempt > 1` means earlier attempts failed or were cut
/// off and were retried.
pub fn activity_starts(events: &[HistoryEvent], activity_type: &str) -> Vec<(i32, String)> {
    let scheduled_ids: Vec<i64> = events
        .iter()
        .filter(|e| {
            matches!(&e.attributes, Some(Attributes::ActivityTaskScheduledEventAttributes(a))
                if a.activity_type.as_ref().is_some_and(|t| t.name == activity_type))
        })
        .map(|e| e.event_id)
        .collect();
    events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a))
                if scheduled_ids.contains(&a.scheduled_event_id) =>
            {
                Some((a.attempt, a.identity.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The identity a `local-worker` process gives itself: `local-worker@<host>:<pid>`.
pub fn is_local_worker(identity: &str, pid: u32) -> bool {
    identity.starts_with("local-worker@") && identity.ends_with(&format!(":{pid}"))
}

/// Waits until the workflow's pending `activity_type` has reached attempt `attempt` (so earlier
/// attempts failed and were retried); at most 60 s, so a fault that never fires fails the test.
pub async fn wait_for_attempt(app: &TestApp, workflow_id: &str, activity_type: &str, attempt: i32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let description = shared::orders::handle(&app.client, workflow_id)
            .describe(WorkflowDescribeOptions::default())
            .await
            .expect("describe workflow");
        let reached = description
            .raw_description
            .pending_activities
            .iter()
            .any(|a| {
                a.activity_type
                    .as_ref()
                    .is_some_and(|t| t.name == activity_type)
                    && a.attempt >= attempt
            });
        if reached {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{workflow_id}: {activity_type} never reached attempt {attempt}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
