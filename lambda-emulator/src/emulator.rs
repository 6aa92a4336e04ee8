//! The running emulator: binds the Lambda API and HTTP API listeners, owns the functions'
//! pools, starts SQS event sources, and runs the housekeeping tick (idle reaping, metrics series).

use axum::serve::ListenerExt as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::invoke::{InvokeError, InvokeInput, InvokeResult};
use crate::logs::LogSink;
use crate::metrics::{ApiCalls, FunctionStats, Sample};
use crate::pool::FunctionPool;
use crate::registry::{FunctionConfig, Registry, function_arn};
use crate::{api, http_api, sqs};

/// State every handler shares.
pub(crate) struct Shared {
    pub config: Arc<EmulatorConfig>,
    pub registry: Registry,
    pub logs: Arc<LogSink>,
    pub sqs: Option<aws_sdk_sqs::Client>,
    pub api_calls: ApiCalls,
}

/// Where to listen. Use port 0 to let the system pick (tests).
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    pub lambda: SocketAddr,
    pub http: SocketAddr,
}

impl Listen {
    /// Both listeners on loopback, on ports the system picks.
    pub fn ephemeral() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            lambda: any,
            http: any,
        }
    }
}

/// A started emulator. Dropping it stops its servers and kills its idle environments; call
/// [`RunningEmulator::shutdown`] for Lambda's graceful shutdown phase instead.
pub struct RunningEmulator {
    shared: Arc<Shared>,
    lambda_addr: SocketAddr,
    http_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningEmulator {
    /// Binds both listeners, registers `functions` and starts serving.
    pub async fn start(
        config: EmulatorConfig,
        functions: Vec<FunctionConfig>,
        listen: Listen,
    ) -> anyhow::Result<Self> {
        let lambda_listener = TcpListener::bind(listen.lambda).await?;
        let http_listener = TcpListener::bind(listen.http).await?;
        let sqs = config
            .sqs_endpoint
            .as_deref()
            .map(|endpoint| sqs::client(endpoint, &config.region));
        let shared = Arc::new(Shared {
            registry: Registry::new(config.region.clone()),
            logs: Arc::new(
                LogSink::new(config.log_dir.clone())
                    .forwarding_to_stderr(config.function_output_to_stderr),
            ),
            config: Arc::new(config),
            sqs,
            api_calls: ApiCalls::default(),
        });
        let lambda_addr = lambda_listener.local_addr()?;
        let http_addr = http_listener.local_addr()?;
        let lambda_app = api::router(shared.clone());
        let http_app = http_api::router(shared.clone());
        let mut tasks = vec![
            tokio::spawn(async move {
                if let Err(error) = axum::serve(lambda_listener.tap_io(no_delay), lambda_app).await
                {
                    tracing::error!(%error, "Lambda API server stopped");
                }
            }),
            tokio::spawn(async move {
                let app = http_app.into_make_service_with_connect_info::<SocketAddr>();
                if let Err(error) = axum::serve(http_listener.tap_io(no_delay), app).await {
                    tracing::error!(%error, "HTTP API server stopped");
                }
            }),
            tokio::spawn(housekeeping(shared.clone())),
        ];
        let mut emulator = Self {
            shared,
            lambda_addr,
            http_addr,
            tasks: Vec::new(),
        };
        for function in functions {
            emulator.register(function);
        }
        emulator.tasks.append(&mut tasks);
        Ok(emulator)
    }

    /// Adds (or replaces) a function and starts its SQS event sources. Returns its ARN.
    ///
    /// A relative binary path is resolved against the current directory now: the function's
    /// process starts in its task root, where the same relative path would name nothing.
    pub fn register(&mut self, mut function: FunctionConfig) -> String {
        match std::path::absolute(&function.binary) {
            Ok(binary) => function.binary = binary,
            Err(error) => {
                tracing::warn!(function = %function.name, binary = %function.binary.display(), %error, "cannot make the binary's path absolute")
            }
        }
        let arn = function_arn(&self.shared.config.region, &function.name);
        let pool = Arc::new(FunctionPool::new(
            function,
            self.shared.config.clone(),
            self.shared.logs.clone(),
        ));
        if let Some(previous) = self.shared.registry.insert(pool.clone()) {
            tokio::spawn(async move { previous.close().await });
        }
        for source in pool.config().sqs_sources.iter().filter(|s| s.enabled) {
            match &self.shared.sqs {
                Some(client) => {
                    let poller = sqs::Poller::new(
                        client.clone(),
                        pool.clone(),
                        source.clone(),
                        self.shared.clone(),
                    );
                    self.tasks.push(tokio::spawn(poller.run()));
                }
                None => tracing::warn!(
                    function = %pool.config().name,
                    queue = %source.queue_name,
                    "no SQS endpoint configured; this SQS event source is not polled"
                ),
            }
        }
        arn
    }

    /// The Lambda API's base URL (what `AWS_ENDPOINT_URL_LAMBDA` should point at).
    pub fn lambda_url(&self) -> String {
        format!("http://{}", self.lambda_addr)
    }

    /// The HTTP API's base URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    pub fn lambda_addr(&self) -> SocketAddr {
        self.lambda_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The full ARN of a function served here.
    pub fn function_arn(&self, name: &str) -> String {
        function_arn(&self.shared.config.region, name)
    }

    /// Invokes a function synchronously without HTTP (benchmarks, embedding).
    /// `name` is any form the Invoke API accepts; the function sees it as its invoked ARN.
    pub async fn invoke(
        &self,
        name: &str,
        payload: impl Into<axum::body::Bytes>,
    ) -> Result<InvokeResult, InvokeError> {
        let (pool, reference) = self.resolve(name).ok_or(InvokeError::UnknownFunction)?;
        pool.invoke(InvokeInput::new(
            payload.into(),
            self.shared.registry.invoked_arn(&reference),
        ))
        .await
    }

    /// A function's counters, if it exists.
    pub fn stats(&self, name: &str) -> Option<FunctionStats> {
        self.pool(name).map(|p| p.metrics().stats())
    }

    /// A function's per-second series, if it exists.
    pub fn series(&self, name: &str) -> Option<Vec<Sample>> {
        self.pool(name).map(|p| p.metrics().series())
    }

    /// How many requests a Lambda API operation has received: `GetFunction`, `Invoke`, and
    /// `Invoke:RequestResponse` / `Invoke:Event` / `Invoke:DryRun` by invocation type.
    pub fn api_calls(&self, operation: &str) -> u64 {
        self.shared.api_calls.get(operation)
    }

    /// Process ids of a function's idle (warm) environments.
    pub fn idle_pids(&self, name: &str) -> Vec<u32> {
        self.pool(name).map(|p| p.idle_pids()).unwrap_or_default()
    }

    fn pool(&self, name: &str) -> Option<Arc<FunctionPool>> {
        self.resolve(name).map(|(pool, _)| pool)
    }

    fn resolve(&self, name: &str) -> Option<(Arc<FunctionPool>, crate::registry::FunctionRef)> {
        let reference = crate::registry::FunctionRef::parse(name).ok()?;
        Some((self.shared.registry.resolve(&reference)?, reference))
    }

    /// Stops serving and shuts every idle environment down (SIGTERM, grace, SIGKILL).
    pub async fn shutdown(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        for pool in self.shared.registry.all() {
            pool.close().await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for pool in self.shared.registry.all() {
            pool.kill_idle();
        }
    }
}

/// Reaps idle environments often enough to honour short idle timeouts, and closes one second of
/// the metrics series every second.
async fn housekeeping(shared: Arc<Shared>) {
    let reap_every =
        (shared.config.idle_timeout / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(reap_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_sample = Instant::now() + Duration::from_secs(1);
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let pools = shared.registry.all();
        for pool in &pools {
            pool.reap(now);
        }
        if now >= next_sample {
            next_sample += Duration::from_secs(1);
            for pool in &pools {
                pool.metrics().tick();
            }
        }
    }
}

/// Every server of the emulator sets TCP_NODELAY on its connections: a response written in two
/// parts (head, then body) would otherwise wait for the client's delayed ACK on a kept-alive
/// connection — ~40 ms per Runtime API or Invoke round trip.
pub(crate) fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}
