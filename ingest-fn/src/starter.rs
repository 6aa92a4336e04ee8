//! "Start this order" as a trait, so the HTTP and SQS handlers can be tested with an in-memory
//! fake, plus the real implementation on Temporal.
//!
//! The real [`TemporalStarter`] connects lazily: the client is made on the first order an
//! execution environment sees and then reused by every later invocation of that environment (a
//! Lambda environment handles one invocation at a time, for many invocations). A failed connect
//! is not cached, so Temporal being down when the environment starts only fails the orders that
//! arrive while it is down; it does not kill the environment.
//!
//! Exactly once: the workflow ID is `order-{orderId}` with `RejectDuplicate` + `Fail`
//! (`shared::orders::start_order`). When the ID exists, the existing workflow's input (its
//! `WorkflowExecutionStarted` event) is compared with this order: equal → a duplicate
//! submission, answered with the existing run; different → a conflict. Comparing parsed orders
//! (not bytes) means key order and whitespace do not matter, while any change of content does.

use std::future::Future;
use std::time::Duration;

use shared::domain::Order;
use shared::orders::{StartError, Started};
use temporalio_client::Client;
use tokio::sync::OnceCell;

/// The log line written when an execution environment makes its Temporal client — once per
/// environment (tests count it against the emulator's cold starts).
pub const CLIENT_CREATED: &str = "Temporal client created for this execution environment";

/// What became of a valid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new workflow runs it.
    Started(Started),
    /// The same order was started before; this is that workflow.
    Duplicate(Started),
    /// The order ID belongs to a workflow started with different contents.
    Conflict {
        workflow_id: String,
        run_id: Option<String>,
    },
}

/// Temporal could not be asked; nothing is known to have started. Retrying is safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Temporal unavailable: {0}")]
pub struct Unavailable(pub String);

/// Starts orders.
pub trait OrderStarter: Send + Sync + 'static {
    fn start(
        &self,
        order: &Order,
    ) -> impl Future<Output = Result<StartOutcome, Unavailable>> + Send;
}

/// How the real starter gets its client.
#[derive(Debug, Clone)]
pub enum Connect {
    /// `temporal.toml` and `TEMPORAL_*` variables (`shared::connection::connect`): the function.
    FromEnv,
    /// A plain local server at `host:port` in `namespace`: tests and benchmarks.
    To { address: String, namespace: String },
}

/// Starts orders on Temporal, with one client per execution environment.
pub struct TemporalStarter {
    connect: Connect,
    client: OnceCell<Client>,
    task_queue: String,
    timeout: Duration,
}

impl TemporalStarter {
    /// No connection is made until the first order.
    pub fn new(connect: Connect, task_queue: impl Into<String>, timeout: Duration) -> Self {
        Self {
            connect,
            client: OnceCell::new(),
            task_queue: task_queue.into(),
            timeout,
        }
    }

    async fn client(&self) -> Result<&Client, Unavailable> {
        self.client
            .get_or_try_init(|| async {
                let connected = match &self.connect {
                    Connect::FromEnv => shared::connection::connect().await,
                    Connect::To { address, namespace } => {
                        shared::connection::connect_to(address, namespace).await
                    }
                };
                connected
                    .inspect(|_| tracing::info!("{CLIENT_CREATED}"))
                    .map_err(|e| Unavailable(e.to_string()))
            })
            .await
    }

    async fn start_now(&self, order: &Order) -> Result<StartOutcome, Unavailable> {
        let client = self.client().await?;
        match shared::orders::start_order(client, &self.task_queue, order).await {
            Ok(started) => Ok(StartOutcome::Started(started)),
            Err(StartError::Unavailable { message, .. }) => Err(Unavailable(message)),
            Err(StartError::AlreadyExists {
                workflow_id,
                run_id,
            }) => {
                let existing = shared::orders::started_with(client, &workflow_id)
                    .await
                    .map_err(|e| Unavailable(format!("reading the existing {workflow_id}: {e}")))?;
                Ok(match existing {
                    Some(existing) if existing == *order => StartOutcome::Duplicate(Started {
                        workflow_id,
                        run_id: run_id.unwrap_or_default(),
                    }),
                    _ => StartOutcome::Conflict {
                        workflow_id,
                        run_id,
                    },
                })
            }
        }
    }
}

impl OrderStarter for TemporalStarter {
    /// Bounded by the configured timeout, so a hanging Temporal turns into a prompt 503 (or a
    /// failed SQS record) well before the function's own timeout. If the start did land just
    /// before the timeout, the client's retry finds it and gets `duplicate: true`.
    async fn start(&self, order: &Order) -> Result<StartOutcome, Unavailable> {
        match tokio::time::timeout(self.timeout, self.start_now(order)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Unavailable(format!(
                "no answer from Temporal within {:?}",
                self.timeout
            ))),
        }
    }
}

/// An in-memory starter for the handlers' unit tests: remembers orders by ID, and can be "down".
#[cfg(test)]
pub(crate) mod fake {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[derive(Default)]
    pub(crate) struct FakeStarter {
        pub(crate) started: Mutex<HashMap<String, Order>>,
        pub(crate) down: AtomicBool,
    }

    impl FakeStarter {
        pub(crate) fn set_down(&self, down: bool) {
            self.down.store(down, Ordering::SeqCst);
        }

        pub(crate) fn count(&self) -> usize {
            self.started.lock().unwrap().len()
        }
    }

    impl OrderStarter for FakeStarter {
        async fn start(&self, order: &Order) -> Result<StartOutcome, Unavailable> {
            if self.down.load(Ordering::SeqCst) {
                return Err(Unavailable("connection refused".into()));
            }
            let workflow_id = shared::workflow_id(&order.order_id);
            let started = Started {
                workflow_id: workflow_id.clone(),
                run_id: format!("run-{workflow_id}"),
            };
            let mut all = self.started.lock().unwrap();
            Ok(match all.get(order.order_id.as_str()) {
                None => {
                    all.insert(order.order_id.to_string(), order.clone());
                    StartOutcome::Started(started)
                }
                Some(existing) if existing == order => StartOutcome::Duplicate(started),
                Some(_) => StartOutcome::Conflict {
                    workflow_id,
                    run_id: Some(started.run_id),
                },
            })
        }
    }
}
