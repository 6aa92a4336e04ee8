//! One real ShopFlow per test: the storefront on its own port and database, a local worker on its
//! own task queue under its own Worker Deployment (so tests running side by side never take each
//! other's tasks or flip each other's current version), and a Temporal client.
//!
//! The Temporal dev server is the one `cargo xtask test` started (`SHOPFLOW_TEMPORAL_ADDRESS`),
//! or a private one when the tests run on their own — and always a private one when the test
//! runs the Lambda worker: then the server's Worker Controller must call this test's own Lambda
//! emulator, which serves `worker-fn` as `template.yaml` declares it (with the test's timeout and
//! idle exit), and the deployment version carries that function as its compute config.

// Shared by several test binaries; each uses a subset.
#![allow(dead_code)]

use devstack::shop::EffectKind;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use devstack::apps::{LocalWorker, Storefront, WorkerSetup};
use devstack::shop::{Ledger, ShopAdmin};
use devstack::temporal::TemporalDevServer;
use shared::domain::{Order, parse_order, sample_order_json};
use shared::orders::{StartError, Started};
use shared::{OrderOutcome, OrderProgress};
use temporalio_client::Client;

/// What to run besides the storefront.
#[derive(Debug, Clone)]
pub struct Options {
    pub local_worker: bool,
    pub lambda: Option<LambdaOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            local_worker: true,
            lambda: None,
        }
    }
}

/// The emulated `shopflow-worker` function.
#[derive(Debug, Clone)]
pub struct LambdaOptions {
    pub timeout: Duration,
    /// `SHOPFLOW_IDLE_EXIT`: e.g. `"1s"` or `"off"`.
    pub idle_exit: &'static str,
}

/// The emulated Lambda beyond [`LambdaOptions`]: for benchmarks and the chaos test.
#[derive(Debug, Clone)]
pub struct EmulatorTuning {
    /// Where the functions' output goes (`<log_dir>/shopflow-worker.log`): a folder of one's own
    /// lets a test read its invocations' EMF records. Default: the shared logs folder.
    pub log_dir: PathBuf,
    /// An idle execution environment is reaped after this (default 30 s); short forces cold starts.
    pub environment_idle_timeout: Duration,
    /// Variables added to the worker function's environment (they win over the defaults).
    pub worker_env: Vec<(&'static str, String)>,
    /// Put a [`devstack::relay::Relay`] between the Lambda worker and Temporal
    /// ([`TestApp::relay`]), so a test can cut the worker's connections.
    pub temporal_relay: bool,
    /// Keep the (private) Temporal server's state in a SQLite file, so
    /// [`TestApp::restart_temporal`] can restart it on the same state (default: in memory).
    pub temporal_on_disk: bool,
    /// More dynamic-config values for the private Temporal server (after devstack's own), e.g.
    /// [`devstack::WORKER_CONTROLLER_SERVER_DEFAULTS`] to meet the Worker Controller as a real
    /// server runs it.
    pub temporal_dynamic_config: Vec<String>,
}

impl Default for EmulatorTuning {
    fn default() -> Self {
        Self {
            log_dir: devstack::paths::logs_dir(),
            environment_idle_timeout: Duration::from_secs(30),
            worker_env: Vec::new(),
            temporal_relay: false,
            temporal_on_disk: false,
            temporal_dynamic_config: Vec::new(),
        }
    }
}

/// The function name of the Lambda worker in `template.yaml`.
pub const WORKER_FUNCTION: &str = "shopflow-worker";

pub struct TestApp {
    pub emulator: Option<lambda_emulator::RunningEmulator>,
    /// Kept alive for the test: dropping an owned server stops it.
    pub _temporal: TemporalDevServer,
    /// How the private server was started, for [`TestApp::restart_temporal`].
    temporal_options: Option<devstack::TemporalOptions>,
    pub client: Client,
    pub shop: Option<Storefront>,
    pub shop_url: String,
    pub worker: Option<LocalWorker>,
    pub setup: WorkerSetup,
    pub shop_admin: ShopAdmin,
    pub run_id: String,
    pub dir: PathBuf,
    /// Between the Lambda worker and Temporal when [`EmulatorTuning::temporal_relay`] asked for it.
    pub relay: Option<devstack::relay::Relay>,
}

impl TestApp {
    /// Storefront + local worker + client, all on a fresh task queue and deployment.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> TestApp {
        Self::spawn_tuned(options, EmulatorTuning::default()).await
    }

    /// Like [`TestApp::spawn_with`], with the emulated Lambda tuned (benchmarks, chaos test).
    pub async fn spawn_tuned(options: Options, tuning: EmulatorTuning) -> TestApp {
        Self::try_spawn(options, tuning)
            .await
            .expect("spawning the test app")
    }

    /// Like [`TestApp::spawn_with`], but the emulated Lambda worker's output goes to
    /// `<lambda_log_dir>/shopflow-worker.log` instead of the shared logs folder: a file only this
    /// test's invocations write, so the test can read their end-of-invocation (EMF) records.
    pub async fn spawn_with_lambda_log_dir(options: Options, lambda_log_dir: PathBuf) -> TestApp {
        Self::spawn_tuned(
            options,
            EmulatorTuning {
                log_dir: lambda_log_dir,
                ..EmulatorTuning::default()
            },
        )
        .await
    }

    async fn try_spawn(options: Options, mut tuning: EmulatorTuning) -> Result<TestApp> {
        let run_id = ulid::Ulid::new().to_string().to_lowercase();
        let dir = devstack::paths::shopflow_home()
            .join("test-runs")
            .join(&run_id);
        let shop = Storefront::start(&dir, &[])?;
        let isolated =
            |address: &str| WorkerSetup::isolated(address, &run_id, shared::BUILD_ID, shop.url());
        let mut relay = None;
        let mut temporal_options_kept = None;
        let (temporal, emulator, setup) = match &options.lambda {
            None => {
                let temporal = devstack::temporal::temporal_for_tests()?;
                let setup = isolated(&temporal.address());
                (temporal, None, setup)
            }
            Some(lambda) => {
                // The emulator must know the server's address and the server the emulator's.
                let port = devstack::ports::pick_free_port()?;
                let setup = isolated(&format!("127.0.0.1:{port}"));
                if tuning.temporal_relay {
                    let started =
                        devstack::relay::Relay::start(setup.temporal_address.clone()).await?;
                    tuning
                        .worker_env
                        .push(("TEMPORAL_ADDRESS", started.address()));
                    relay = Some(started);
                }
                let on_disk = tuning.temporal_on_disk;
                let dynamic_config = tuning.temporal_dynamic_config.clone();
                let emulator = start_emulator(lambda, &setup, tuning).await?;
                let temporal_options = devstack::TemporalOptions {
                    port,
                    lambda_endpoint: Some(emulator.lambda_url()),
                    db_file: on_disk.then(|| dir.join("temporal.db")),
                    dynamic_config,
                    ..Default::default()
                };
                temporal_options_kept = Some(temporal_options.clone());
                let temporal = devstack::TemporalDevServer::start(temporal_options)?;
                (temporal, Some(emulator), setup)
            }
        };
        match &emulator {
            Some(emulator) => devstack::register_lambda_version(
                &setup.temporal_address,
                &setup.deployment,
                &setup.build_id,
                &setup.task_queue,
                &emulator.function_arn(WORKER_FUNCTION),
            )?,
            // Current before the first poll, so the first workflow is routed to this version.
            None => devstack::set_current_version(
                &setup.temporal_address,
                &setup.deployment,
                &setup.build_id,
            )?,
        }
        let worker = if options.local_worker {
            Some(LocalWorker::start(&setup)?)
        } else {
            None
        };
        let client =
            shared::connection::connect_to(&setup.temporal_address, &setup.namespace).await?;
        Ok(TestApp {
            _temporal: temporal,
            temporal_options: temporal_options_kept,
            emulator,
            client,
            shop_admin: ShopAdmin::new(shop.url()),
            shop_url: shop.url().to_owned(),
            shop: Some(shop),
            worker,
            relay,
            setup,
            run_id,
            dir,
        })
    }

    /// The sample order under a fresh, test-unique ID; `edit` tweaks its JSON.
    pub fn order(&self, edit: impl FnOnce(&mut serde_json::Value)) -> Order {
        let id = format!(
            "{}-{}",
            &self.run_id[16..],
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json(&id)).unwrap();
        edit(&mut v);
        parse_order(v.to_string().as_bytes()).expect("test order must be valid")
    }

    pub async fn start(&self, order: &Order) -> Result<Started, StartError> {
        shared::orders::start_order(&self.client, &self.setup.task_queue, order).await
    }

    /// [`TestApp::start`] with the order's own takeover settings in its memo.
    pub async fn start_with_takeover(
        &self,
        order: &Order,
        takeover: shared::workflow::Takeover,
    ) -> Result<Started, StartError> {
        shared::orders::start_order_with_takeover(
            &self.client,
            &self.setup.task_queue,
            order,
            takeover,
        )
        .await
    }

    /// Start and wait for the outcome (at most 90 s).
    pub async fn run(&self, order: &Order) -> OrderOutcome {
        let started = self.start(order).await.expect("start order");
        self.outcome(&started.workflow_id).await
    }

    pub async fn outcome(&self, workflow_id: &str) -> OrderOutcome {
        tokio::time::timeout(
            Duration::from_secs(90),
            shared::orders::outcome(&self.client, workflow_id),
        )
        .await
        .unwrap_or_else(|_| panic!("{workflow_id} did not finish within 90 s"))
        .unwrap_or_else(|e| panic!("{workflow_id} ended badly: {e}"))
    }

    /// The emulated Lambda worker's counters (the app must run it).
    pub fn lambda_stats(&self) -> lambda_emulator::metrics::FunctionStats {
        self.emulator
            .as_ref()
            .expect("the app runs the Lambda worker")
            .stats(WORKER_FUNCTION)
            .expect("the worker function is registered")
    }

    /// Polls the Lambda worker's counters until `done` holds; `false` if it did not within
    /// `within` (the caller decides whether that is a failure).
    pub async fn lambda_settles(
        &self,
        done: impl Fn(&lambda_emulator::metrics::FunctionStats) -> bool,
        within: Duration,
    ) -> bool {
        let deadline = Instant::now() + within;
        while !done(&self.lambda_stats()) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    pub async fn progress(&self, workflow_id: &str) -> Result<OrderProgress> {
        Ok(shared::orders::progress(&self.client, workflow_id).await?)
    }

    /// Wait until the order's progress query reports `step` (polls; at most 60 s).
    pub async fn wait_for_step(&self, workflow_id: &str, step: shared::OrderStep) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(p) = self.progress(workflow_id).await
                && p.step == step
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{workflow_id} never reached {step:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for `workflow_id` to complete, then checks the shop's ledger for the effects a
    /// retried or moved activity must never repeat: one charge, one shipment, one notification
    /// and one reservation per line item. Returns the ledger for further checks.
    pub async fn completes_with_each_effect_once(
        &self,
        workflow_id: &str,
        order: &Order,
    ) -> Ledger {
        let outcome = self.outcome(workflow_id).await;
        assert!(
            matches!(outcome, OrderOutcome::Completed { .. }),
            "{workflow_id}: {outcome:?}"
        );
        let ledger = self.ledger(order).await;
        for kind in [EffectKind::Charge, EffectKind::Ship, EffectKind::Notify] {
            assert_eq!(ledger.count(kind), 1, "{workflow_id} {kind}: {ledger:?}");
        }
        assert_eq!(
            ledger.count(EffectKind::Reserve),
            order.items.len(),
            "{workflow_id}: {ledger:?}"
        );
        ledger
    }

    pub async fn ledger(&self, order: &Order) -> Ledger {
        self.shop_admin
            .ledger(Some(order.order_id.as_str()))
            .await
            .expect("reading the ledger")
    }

    pub async fn stock(&self) -> HashMap<String, i64> {
        self.shop_admin.stock().await.expect("reading stock")
    }

    pub async fn set_faults(&self, faults: serde_json::Value) {
        self.shop_admin
            .set_faults(faults)
            .await
            .expect("setting faults");
    }

    pub async fn set_stock(&self, sku: &str, available: i64) {
        self.shop_admin
            .set_stock(sku, available)
            .await
            .expect("setting stock");
    }

    /// Stops the private Temporal server and starts it again on the same port and database file
    /// (`EmulatorTuning::temporal_on_disk`): every client must ride it out. Blocking.
    pub fn restart_temporal(&mut self) -> Duration {
        let options = self
            .temporal_options
            .clone()
            .filter(|o| o.db_file.is_some())
            .expect("restart_temporal needs a private server with temporal_on_disk");
        let began = std::time::Instant::now();
        self._temporal
            .restart(options)
            .expect("restarting the Temporal dev server");
        began.elapsed()
    }

    pub fn kill_worker(&mut self) {
        self.worker
            .take()
            .expect("worker running")
            .kill()
            .expect("SIGKILL local-worker");
    }

    pub fn interrupt_worker(&mut self) {
        self.worker
            .take()
            .expect("worker running")
            .interrupt()
            .expect("SIGINT local-worker");
    }

    pub fn start_worker(&mut self) {
        self.start_worker_with_env(&[]);
    }

    /// Starts `local-worker` with extra variables (its settings, e.g. `SHOPFLOW_WORKFLOW_POLLERS`).
    pub fn start_worker_with_env(&mut self, env: &[(&str, String)]) {
        assert!(self.worker.is_none(), "worker already running");
        self.worker =
            Some(LocalWorker::start_with_env(&self.setup, env).expect("(re)start local-worker"));
    }

    /// Identities of the workers that completed the workflow's tasks, from its history.
    pub async fn task_identities(&self, workflow_id: &str) -> Vec<String> {
        use temporalio_client::WorkflowFetchHistoryOptions;
        use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
        let events = shared::orders::handle(&self.client, workflow_id)
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .into_events()
            .await
            .expect("history");
        events
            .into_iter()
            .filter_map(|e| match e.attributes? {
                Attributes::WorkflowTaskCompletedEventAttributes(a) => Some(a.identity),
                Attributes::ActivityTaskStartedEventAttributes(a) => Some(a.identity),
                _ => None,
            })
            .collect()
    }
}

/// The emulated Lambda worker: `shopflow-worker` as `template.yaml` declares it, running the
/// built `worker-fn`, wired to this test's Temporal server, task queue, deployment and shop.
async fn start_emulator(
    lambda: &LambdaOptions,
    setup: &WorkerSetup,
    tuning: EmulatorTuning,
) -> Result<lambda_emulator::RunningEmulator> {
    let template = devstack::workspace_root().join("template.yaml");
    let functions = lambda_emulator::template::load(
        &template,
        &lambda_emulator::template::TemplateOptions::new(devstack::bin_dir()),
    )?;
    let mut worker = functions
        .into_iter()
        .find(|f| f.name == WORKER_FUNCTION)
        .ok_or_else(|| anyhow::anyhow!("template.yaml has no {WORKER_FUNCTION}"))?;
    worker.binary = devstack::apps::built_bin("worker-fn")?;
    worker.timeout = lambda.timeout;
    let extra = [
        ("TEMPORAL_PROFILE", "default".to_owned()),
        ("SHOPFLOW_IDLE_EXIT", lambda.idle_exit.to_owned()),
    ];
    for (k, v) in setup
        .worker_env()
        .into_iter()
        .chain(extra)
        .chain(tuning.worker_env)
    {
        worker.environment.insert(k.to_owned(), v);
    }
    let config = lambda_emulator::EmulatorConfig {
        idle_timeout: tuning.environment_idle_timeout,
        log_dir: Some(tuning.log_dir),
        ..Default::default()
    };
    lambda_emulator::RunningEmulator::start(
        config,
        vec![worker],
        lambda_emulator::Listen::ephemeral(),
    )
    .await
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Workers first (they would log errors once the shop is gone), then the shop.
        drop(self.worker.take());
        if let Some(emulator) = self.emulator.take() {
            // Drop stops the environments' process groups too; an orderly shutdown is nicer.
            let handle = tokio::runtime::Handle::current();
            tokio::task::block_in_place(|| handle.block_on(emulator.shutdown()));
        }
        drop(self.shop.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
