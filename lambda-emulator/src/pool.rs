//! The execution environments of one function and how invocations are scheduled onto them:
//! a warm idle environment when there is one (the most recently used first, so the others can
//! age out), a new one when all are busy and the concurrency limit allows, a throttle when it
//! does not. Idle environments are reaped after the idle timeout (scale to zero).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::EmulatorConfig;
use crate::environment::Environment;
use crate::invoke::{InvokeError, InvokeInput, InvokeOutcome, InvokeResult, platform_error};
use crate::logs::LogSink;
use crate::metrics::FunctionMetrics;
use crate::registry::FunctionConfig;

/// How long an answer waits for its environment to finish the invoke phase (see
/// [`FunctionPool::invoke`]).
const SETTLE_BEFORE_ANSWER: std::time::Duration = std::time::Duration::from_millis(100);

pub(crate) struct FunctionPool {
    function: Arc<FunctionConfig>,
    config: Arc<EmulatorConfig>,
    logs: Arc<LogSink>,
    metrics: FunctionMetrics,
    state: Mutex<PoolState>,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<(Arc<Environment>, Instant)>,
    /// Environments alive or starting (idle + busy).
    live: u32,
    closing: bool,
}

/// An environment taken for one invocation.
enum Slot {
    Warm(Arc<Environment>),
    /// Counted in `live`, to be spawned.
    Cold,
}

impl FunctionPool {
    pub(crate) fn new(
        function: FunctionConfig,
        config: Arc<EmulatorConfig>,
        logs: Arc<LogSink>,
    ) -> Self {
        Self {
            function: Arc::new(function),
            config,
            logs,
            metrics: FunctionMetrics::default(),
            state: Mutex::default(),
        }
    }

    pub(crate) fn config(&self) -> &Arc<FunctionConfig> {
        &self.function
    }

    pub(crate) fn metrics(&self) -> &FunctionMetrics {
        &self.metrics
    }

    /// Process ids of the idle environments (most recently used last).
    pub(crate) fn idle_pids(&self) -> Vec<u32> {
        self.lock().idle.iter().map(|(env, _)| env.pid()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().expect("pool lock")
    }

    fn limit(&self) -> u32 {
        self.function
            .reserved_concurrency
            .unwrap_or(self.config.account_concurrency)
    }

    /// Runs one invocation. It runs in its own task, so a caller that goes away (a closed HTTP
    /// connection) does not abandon an environment mid-invocation — Lambda finishes it too.
    ///
    /// The environment goes back to the pool only once its invoke phase is over
    /// ([`Environment::settle`]). A runtime is back in `next` within microseconds of its answer,
    /// so the answer waits up to [`SETTLE_BEFORE_ANSWER`] for that: a caller that invokes again
    /// as soon as it has its answer then finds the environment warm, as it would on Lambda,
    /// where the answer's trip over the network takes longer than that. An environment that
    /// takes longer (an extension still working on the `INVOKE`) stays busy after the answer.
    pub(crate) async fn invoke(
        self: &Arc<Self>,
        input: InvokeInput,
    ) -> Result<InvokeResult, InvokeError> {
        let pool = self.clone();
        let (result_tx, result) = tokio::sync::oneshot::channel();
        tokio::spawn(async move { pool.run(input, result_tx).await });
        result.await.unwrap_or(Err(InvokeError::ShuttingDown))
    }

    async fn run(
        &self,
        input: InvokeInput,
        answer: tokio::sync::oneshot::Sender<Result<InvokeResult, InvokeError>>,
    ) {
        let slot = match self.take_slot() {
            Ok(slot) => slot,
            Err(error) => {
                let _ = answer.send(Err(error));
                return;
            }
        };
        let request_id = input.request_id.clone();
        let started = Instant::now();
        self.metrics.invocation_started(matches!(slot, Slot::Cold));
        let mut env = match slot {
            Slot::Warm(env) => Some(env),
            Slot::Cold => {
                match Environment::spawn(self.function.clone(), &self.config, self.logs.clone())
                    .await
                {
                    Ok(env) => Some(Arc::new(env)),
                    Err(error) => {
                        tracing::warn!(function = %self.function.name, binary = %self.function.binary.display(), %error, "cannot start the function");
                        None
                    }
                }
            }
        };
        let mut result = match &env {
            Some(env) => Some(env.invoke(input.clone()).await),
            None => None,
        };
        if let (Some(first), Some(timed_out)) = (&env, &result)
            && timed_out.init_timed_out
        {
            // Lambda retries a timed-out Init once, in a new environment, within this invocation
            // and under the function's timeout ("suppressed init"); the new environment takes the
            // old one's place in the concurrency count.
            let old = first.clone();
            tokio::spawn(async move { old.shutdown().await });
            env = Environment::spawn(self.function.clone(), &self.config, self.logs.clone())
                .await
                .ok()
                .map(|retry| Arc::new(retry.suppressed_init()));
            result = match &env {
                Some(retry) => {
                    let mut retried = retry.invoke(input).await;
                    retried.duration = started.elapsed();
                    Some(retried)
                }
                None => None,
            };
        }
        let (outcome, reusable, duration, init) = match result {
            Some(result) => (
                result.outcome,
                result.reusable,
                result.duration,
                result.init,
            ),
            None => {
                let detail = format!(
                    "fork/exec {}: cannot start the function's binary",
                    self.function.binary.display()
                );
                let error = platform_error("Runtime.InvalidEntrypoint", &request_id, &detail);
                (
                    InvokeOutcome::FunctionError(error),
                    false,
                    started.elapsed(),
                    None,
                )
            }
        };
        self.metrics.invocation_finished(
            duration,
            init,
            outcome.is_error(),
            self.function.memory_mb,
        );
        let result = Ok(InvokeResult {
            request_id,
            outcome,
        });
        match env {
            Some(env) if reusable => {
                let limit = self.function.timeout;
                if tokio::time::timeout(SETTLE_BEFORE_ANSWER, env.settle(limit))
                    .await
                    .is_ok()
                {
                    self.give_back(Some(env), true);
                    let _ = answer.send(result);
                } else {
                    // Still in its invoke phase: the caller has its answer, the environment stays
                    // busy until the phase ends (within what is left of the same limit).
                    let _ = answer.send(result);
                    env.settle(limit.saturating_sub(SETTLE_BEFORE_ANSWER)).await;
                    self.give_back(Some(env), true);
                }
            }
            env => {
                let _ = answer.send(result);
                self.give_back(env, false);
            }
        }
    }

    fn take_slot(&self) -> Result<Slot, InvokeError> {
        let mut state = self.lock();
        if state.closing {
            return Err(InvokeError::ShuttingDown);
        }
        while let Some((env, _)) = state.idle.pop() {
            if env.is_usable() {
                return Ok(Slot::Warm(env));
            }
            state.live -= 1;
        }
        if state.live >= self.limit() {
            drop(state);
            self.metrics.throttled();
            return Err(InvokeError::Throttled);
        }
        state.live += 1;
        self.metrics.set_environments(state.live);
        Ok(Slot::Cold)
    }

    fn give_back(&self, env: Option<Arc<Environment>>, reusable: bool) {
        let mut state = self.lock();
        match env {
            Some(env) if reusable && env.is_usable() && !state.closing => {
                state.idle.push((env, Instant::now()))
            }
            env => {
                state.live -= 1;
                if let Some(env) = env {
                    // A healthy environment only ends here because the emulator is closing.
                    tokio::spawn(async move { env.shutdown().await });
                }
            }
        }
        self.metrics.set_environments(state.live);
    }

    /// Shuts down environments idle for longer than the idle timeout, and forgets dead ones.
    pub(crate) fn reap(&self, now: Instant) {
        let expired: Vec<_> = {
            let mut state = self.lock();
            let idle_timeout = self.config.idle_timeout;
            let (expired, kept) =
                std::mem::take(&mut state.idle)
                    .into_iter()
                    .partition(|(env, since)| {
                        !env.is_usable() || now.duration_since(*since) >= idle_timeout
                    });
            state.idle = kept;
            state.live -= expired.len() as u32;
            self.metrics.set_environments(state.live);
            expired
        };
        for (env, _) in expired {
            tokio::spawn(async move { env.shutdown().await });
        }
    }

    /// Refuses new invocations and shuts down idle environments; busy ones end when their
    /// invocation does.
    pub(crate) async fn close(&self) {
        let idle = {
            let mut state = self.lock();
            state.closing = true;
            state.live -= state.idle.len() as u32;
            std::mem::take(&mut state.idle)
        };
        let mut shutdowns = tokio::task::JoinSet::new();
        for (env, _) in idle {
            shutdowns.spawn(async move { env.shutdown().await });
        }
        shutdowns.join_all().await;
    }

    /// Kills every idle environment at once (used when the emulator is dropped without
    /// `shutdown`).
    pub(crate) fn kill_idle(&self) {
        let mut state = self.lock();
        state.closing = true;
        let idle = std::mem::take(&mut state.idle);
        state.live -= idle.len() as u32;
        drop(state);
        for (env, _) in idle {
            env.kill();
        }
    }
}
