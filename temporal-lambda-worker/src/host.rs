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

use crate::lifecycle::{InvocationWorker, StartedWorker, WorkerHost};
use crate::tracking::{ActivityTaskCounter, TaskTracker, WorkflowTaskCounter};

/// A lazily connected client, optionally kept for the next invocation.
pub struct ClientCache {
    connection: ConnectionOptions,
    client: ClientOptions,
    reuse: bool,
    connect_timeout: Duration,
    cached: Mutex<Option<Client>>,
}

impl ClientCache {
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

    pub fn invalidate(&self) {
        if let Ok(mut cached) = self.cached.try_lock() {
            *cached = None;
        }
    }
}

pub struct TemporalHost {
    pub runtime: Runtime,
    pub template: WorkerOptions,
    pub clients: ClientCache,
}

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
        identity: &str,
        tracker: Arc<TaskTracker>,
    ) -> Result<StartedWorker<SdkWorker>, String> {
        let (client, connect, client_reused) = self.clients.get().await?;
        let mut options = self.template.clone();
        // `identity` already is the user's, when `configure` set one (`defaults::worker_identity`).
        options.client_identity_override = Some(identity.to_owned());
        options.worker_interceptor(WorkflowTaskCounter(tracker.clone()));
        options.activity_inbound_interceptor(ActivityTaskCounter(tracker));
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
