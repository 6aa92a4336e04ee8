//! Client-side operations on orders: start one exactly once, follow it, ask where it is.
//!
//! Starting uses the order's deterministic workflow ID with ID reuse policy `RejectDuplicate`
//! and conflict policy `Fail`: a second start of the same order — while it runs, and also after
//! it completed, failed or was compensated — is refused with "already started" instead of
//! running the order again. (`AllowDuplicateFailedOnly` would re-run a failed order; a failed
//! `OrderWorkflow` may have charged the customer, so a re-run must be a human decision.)

use futures::StreamExt as _;
use temporalio_client::{
    Client, WorkflowFetchHistoryOptions, WorkflowGetResultOptions, WorkflowHandle,
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowQueryOptions, WorkflowStartOptions,
    errors::{
        WorkflowGetResultError, WorkflowInteractionError, WorkflowQueryError, WorkflowStartError,
    },
};
use temporalio_common::MemoValues;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

use crate::domain::Order;
use crate::names::workflow_id;
use crate::workflow::{OrderOutcome, OrderProgress, OrderWorkflow, TAKEOVER_MEMO, Takeover};

/// A started (or already running) order workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub workflow_id: String,
    pub run_id: String,
}

/// Why an order did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A workflow for this order exists already (running or closed); it was not started again.
    #[error("order workflow {workflow_id} already exists (run {run_id:?})")]
    AlreadyExists {
        workflow_id: String,
        run_id: Option<String>,
    },
    /// Temporal could not be asked (unreachable, overloaded, ...): safe to retry later.
    #[error("could not start order workflow {workflow_id}: {message}")]
    Unavailable {
        workflow_id: String,
        message: String,
    },
}

/// Start `OrderWorkflow` for `order` on `task_queue`, at most once per order ID, ever.
pub async fn start_order(
    client: &Client,
    task_queue: &str,
    order: &Order,
) -> Result<Started, StartError> {
    start(client, task_queue, order, None).await
}

/// [`start_order`] with the order's own [`Takeover`] settings (heartbeat timeout, first retry)
/// in its memo, instead of ShopFlow's defaults: how the benchmark compares settings.
pub async fn start_order_with_takeover(
    client: &Client,
    task_queue: &str,
    order: &Order,
    takeover: Takeover,
) -> Result<Started, StartError> {
    let mut memo = MemoValues::new();
    memo.insert(TAKEOVER_MEMO, takeover);
    start(client, task_queue, order, Some(memo)).await
}

async fn start(
    client: &Client,
    task_queue: &str,
    order: &Order,
    memo: Option<MemoValues>,
) -> Result<Started, StartError> {
    let id = workflow_id(&order.order_id);
    let mut options = WorkflowStartOptions::new(task_queue, id.clone())
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .id_conflict_policy(WorkflowIdConflictPolicy::Fail)
        .build();
    options.memo = memo;
    match client
        .start_workflow(OrderWorkflow::run, order.clone(), options)
        .await
    {
        Ok(handle) => Ok(Started {
            workflow_id: id,
            run_id: handle.run_id().unwrap_or_default().to_owned(),
        }),
        Err(WorkflowStartError::AlreadyStarted { run_id, .. }) => Err(StartError::AlreadyExists {
            workflow_id: id,
            run_id,
        }),
        Err(e) => Err(StartError::Unavailable {
            workflow_id: id,
            message: e.to_string(),
        }),
    }
}

/// Handle on an order's workflow by workflow ID (latest run).
pub fn handle(client: &Client, workflow_id: &str) -> WorkflowHandle<Client, OrderWorkflow> {
    client.get_workflow_handle::<OrderWorkflow>(workflow_id)
}

/// The order an existing workflow was started with: the input of its first history event
/// (`WorkflowExecutionStarted`), decoded as an [`Order`].
///
/// This is how a second submission under the same order ID is told apart: the same order (a
/// retry) or a different payload (a conflict). It reads only the first history page, and only
/// callers that were refused with [`StartError::AlreadyExists`] need it. `Ok(None)` means the
/// workflow has no decodable order input (not started by [`start_order`]).
pub async fn started_with(
    client: &Client,
    workflow_id: &str,
) -> Result<Option<Order>, WorkflowInteractionError> {
    let mut history =
        handle(client, workflow_id).fetch_history(WorkflowFetchHistoryOptions::default());
    let Some(first) = history.next().await.transpose()? else {
        return Ok(None);
    };
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) = first.attributes
    else {
        return Ok(None);
    };
    // The SDK's default converter writes serde types as `json/plain` payloads.
    let input = started
        .input
        .and_then(|payloads| payloads.payloads.into_iter().next());
    Ok(input.and_then(|payload| serde_json::from_slice(&payload.data).ok()))
}

/// Wait for an order's outcome.
pub async fn outcome(
    client: &Client,
    workflow_id: &str,
) -> Result<OrderOutcome, WorkflowGetResultError> {
    handle(client, workflow_id)
        .get_result(WorkflowGetResultOptions::default())
        .await
}

/// Ask a running (or closed) order where it is. Needs a worker to answer.
pub async fn progress(
    client: &Client,
    workflow_id: &str,
) -> Result<OrderProgress, WorkflowQueryError> {
    handle(client, workflow_id)
        .query(OrderWorkflow::progress, (), WorkflowQueryOptions::default())
        .await
}

/// Who ran an order's most recent work, from the identities its history records. A worker's
/// identity says where it runs: the local worker is `local-worker@host:pid`, a Lambda-started
/// worker is `<requestId>@arn:aws:lambda:...` — which is how a dashboard tells them apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastWorkers {
    /// The worker that completed the latest workflow task.
    pub workflow_task: Option<String>,
    /// The worker that picked up the latest activity task (the step that ran last).
    pub activity_task: Option<String>,
}

impl LastWorkers {
    /// The worker of the latest step if any activity ran, else of the latest workflow task.
    pub fn latest(&self) -> Option<&str> {
        self.activity_task
            .as_deref()
            .or(self.workflow_task.as_deref())
    }
}

/// Where a worker runs, judged from its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkerKind {
    Local,
    Lambda,
    Unknown,
}

impl WorkerKind {
    pub fn of(identity: &str) -> Self {
        let (_, host) = identity.split_once('@').unwrap_or(("", identity));
        if host.starts_with("arn:aws:lambda:") {
            Self::Lambda
        } else if identity.starts_with("local-worker@") {
            Self::Local
        } else {
            Self::Unknown
        }
    }

    /// A short word for reports: `local`, `Lambda` or `unknown`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Lambda => "Lambda",
            Self::Unknown => "unknown",
        }
    }
}

/// The identities of the workers that ran an order's latest workflow and activity tasks (reads
/// the whole history: a few dozen events for an order).
pub async fn last_workers(
    client: &Client,
    workflow_id: &str,
) -> Result<LastWorkers, WorkflowInteractionError> {
    let events = handle(client, workflow_id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await?;
    let mut last = LastWorkers::default();
    for attributes in events.into_iter().filter_map(|e| e.attributes) {
        match attributes {
            Attributes::WorkflowTaskCompletedEventAttributes(a) if !a.identity.is_empty() => {
                last.workflow_task = Some(a.identity)
            }
            Attributes::ActivityTaskStartedEventAttributes(a) if !a.identity.is_empty() => {
                last.activity_task = Some(a.identity)
            }
            _ => {}
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_kind_follows_the_identity_conventions() {
        assert_eq!(WorkerKind::of("local-worker@box:4242"), WorkerKind::Local);
        assert_eq!(
            WorkerKind::of(
                "8f1c-22@arn:aws:lambda:us-east-1:000000000000:function:shopflow-worker"
            ),
            WorkerKind::Lambda
        );
        assert_eq!(WorkerKind::of("12345@laptop"), WorkerKind::Unknown);
        assert_eq!(WorkerKind::of(""), WorkerKind::Unknown);
    }

    #[test]
    fn the_latest_step_worker_wins_over_the_workflow_task_worker() {
        let both = LastWorkers {
            workflow_task: Some("w".into()),
            activity_task: Some("a".into()),
        };
        assert_eq!(both.latest(), Some("a"));
        let workflow_only = LastWorkers {
            workflow_task: Some("w".into()),
            activity_task: None,
        };
        assert_eq!(workflow_only.latest(), Some("w"));
        assert_eq!(LastWorkers::default().latest(), None);
    }
}
