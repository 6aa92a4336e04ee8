//! The real [`WorkerHost`]: SDK workers on a Temporal client that is kept warm across
//! invocations of one execution environment.
//!
//! Reuse is safe because a `Client` holds a gRPC channel that reconnects by itself; what is not
//! safe is trusting a client after a worker failed on it, so a failure drops the cached client
//! and the next invocation dials afresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use tokio::sync::Mutex;

use crate::lifecycle::{Invocation, InvocationWorker, StartedWorker, WorkerHost};
use crate::options::InvocationConfigurator;
use crate::tracking::{ActivityTaskCounter, TaskTracker, WorkflowTaskCounter};

/// A lazily connected client, optionally kept for the next invocation.
pub struct ClientCache {
    pub(crate) connection: ConnectionOptions,
    pub(crate) client: ClientOptions,
    pub(crate) reuse: bool,
    pub(crate) connect_timeout: Duration,
    cached: Mutex<Option<Client>>,
}

impl ClientCache {
    /// A cache that connects with these options when first asked; `reuse` keeps the client for
    /// later calls, `connect_timeout` bounds each attempt.
    pub fn new(
        connection: ConnectionOptions,
        client: ClientOptions,
        reuse: bool,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            connection,
            client,
            reuse,
            connect_timeout,
            cached: Mutex::new(None),
        }
    }

    /// A client, the time spent connecting, and whether it was reused.
    pub async fn get(&self) -> Result<(Client, Duration, bool), String> {
        let mut cached = self.cached.lock().await;
        if self.reuse
            && let Some(client) = cached.as_ref()
        {
            return Ok((client.clone(), Duration::ZERO, true));
        }
        let started = Instant::now();
        let target = &self.connection.target;
        let connection = tokio::time::timeout(
            self.connect_timeout,
            Connection::connect(self.connection.clone()),
        )
        .await
        .map_err(|_| {
            format!(
                "connecting to Temporal at {target}: no answer within {:?}",
                self.connect_timeout
            )
        })?
        .map_err(|e| format!("connecting to Temporal at {target}: {e}"))?;
        let client = Client::new(connection, self.client.clone()).map_err(|e| e.to_string())?;
        if self.reuse {
            *cached = Some(client.clone());
        }
        Ok((client, started.elapsed(), false))
    }

    /// Forget the cached client: the next [`ClientCache::get`] dials afresh.
    pub fn invalidate(&self) {
        if let Ok(mut cached) = self.cached.try_lock() {
            *cached = None;
        }
    }
}

/// Workers on the SDK runtime, from the options `configure` left (and the per-invocation
/// configurator's, if there is one), on a [`ClientCache`]'s client.
pub struct TemporalHost {
    /// The SDK runtime every worker of this environment shares.
    pub runtime: Runtime,
    /// The worker options `configure` left; each invocation's worker starts from a copy.
    pub template: WorkerOptions,
    /// Where clients come from.
    pub clients: ClientCache,
    /// Adjusts the copy per invocation ([`crate::LambdaWorkerOptions::per_invocation`]).
    pub per_invocation: Option<InvocationConfigurator>,
}

impl TemporalHost {
    /// The options `invocation`'s worker is built with: the template, then the per-invocation
    /// configurator's changes, then what the lifecycle needs and no callback may undo — the
    /// identity, worker versioning and the task counters behind idle exit and the report.
    pub async fn worker_options(
        &self,
        invocation: &Invocation,
        identity: &str,
        tracker: Arc<TaskTracker>,
    ) -> Result<WorkerOptions, String> {
        let mut options = self.template.clone();
        if let Some(configure) = &self.per_invocation {
            options = configure(invocation.clone(), options)
                .await
                .map_err(|e| format!("the per-invocation configurator failed: {e:#}"))?;
        }
        options.client_identity_override = Some(identity.to_owned());
        options.deployment_options.use_worker_versioning = true;
        options.worker_interceptor(WorkflowTaskCounter(tracker.clone()));
        options.activity_inbound_interceptor(ActivityTaskCounter(tracker));
        Ok(options)
    }
}

/// An SDK worker, run for one invocation.
pub struct SdkWorker(Worker);

#[async_trait::async_trait(?Send)]
impl InvocationWorker for SdkWorker {
    fn stopper(&self) -> Box<dyn Fn() + Send + Sync> {
        Box::new(self.0.shutdown_handle())
    }

    async fn run(&mut self) -> Result<(), String> {
        self.0.run().await.map_err(|e| e.to_string())
    }
}

#[async_trait::async_trait(?Send)]
impl WorkerHost for TemporalHost {
    type Worker = SdkWorker;

    async fn start_worker(
        &self,
        invocation: &Invocation,
        identity: &str,
        tracker: Arc<TaskTracker>,
    ) -> Result<StartedWorker<SdkWorker>, String> {
        let options = self.worker_options(invocation, identity, tracker).await?;
        let (client, connect, client_reused) = self.clients.get().await?;
        let worker = Worker::new(&self.runtime, client, options)
            .map_err(|e| format!("creating the worker: {e}"))?;
        Ok(StartedWorker {
            worker: SdkWorker(worker),
            connect,
            client_reused,
        })
    }

    fn worker_failed(&self) {
        self.clients.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::options::tests::options;

    fn host(per_invocation: Option<InvocationConfigurator>) -> TemporalHost {
        let opts = options(Some("q"));
        TemporalHost {
            runtime: Runtime::from_current_tokio(Default::default()).expect("an SDK runtime"),
            template: opts.worker,
            clients: ClientCache::new(opts.connection, opts.client, true, Duration::from_secs(1)),
            per_invocation,
        }
    }

    fn invocation() -> Invocation {
        Invocation {
            request_id: "req-9".into(),
            function_arn: "arn:aws:lambda:us-east-1:0:function:f".into(),
            remaining: Duration::from_secs(60),
        }
    }

    fn tracker() -> Arc<TaskTracker> {
        Arc::new(TaskTracker::new(tokio::time::Instant::now()))
    }

    /// The per-invocation configurator sees the invocation and its changes reach the worker's
    /// options, but it cannot take away the identity or versioning; the template is untouched
    /// for the next invocation.
    #[tokio::test]
    async fn the_per_invocation_configurator_changes_this_invocations_worker_only() {
        let host = host(Some(Box::new(
            |invocation: Invocation, mut worker: WorkerOptions| {
                Box::pin(async move {
                    anyhow::ensure!(invocation.request_id == "req-9", "{invocation:?}");
                    worker.max_cached_workflows = 7;
                    worker.client_identity_override = Some("mine".into());
                    worker.deployment_options.use_worker_versioning = false;
                    Ok(worker)
                })
            },
        )));
        let built = host
            .worker_options(&invocation(), "req-9@f", tracker())
            .await
            .unwrap();
        assert_eq!(built.max_cached_workflows, 7);
        assert_eq!(built.client_identity_override.as_deref(), Some("req-9@f"));
        assert!(built.deployment_options.use_worker_versioning);
        assert_eq!(host.template.max_cached_workflows, 100);
    }

    #[tokio::test]
    async fn a_failing_per_invocation_configurator_fails_the_start_before_connecting() {
        let host = host(Some(Box::new(|_, _| {
            Box::pin(async { Err(anyhow::anyhow!("rotated secret not found")) })
        })));
        let err = host
            .start_worker(&invocation(), "id", tracker())
            .await
            .err()
            .expect("the configurator failed");
        assert!(
            err.contains("per-invocation configurator failed: rotated secret not found"),
            "{err}"
        );
    }
}
