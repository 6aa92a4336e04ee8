//! Everything the demo runs, started in order and stopped in reverse: the Temporal dev server
//! (Worker Controller pointed at the emulator) and LocalStack, the Lambda emulator serving
//! `template.yaml` (the `ingest-fn` front door behind its HTTP API and the orders queue, and the
//! worker function), the shop's services with the storefront page wired to that front door, the
//! `shopflow` deployment registered with the emulated worker function, and the local worker.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use devstack::apps::{
    EmulatorSetup, LambdaEmulator, LocalWorker, Storefront, WorkerSetup, local_function_arn,
};
use devstack::{LocalStackOptions, TemporalOptions};

use crate::stack::{self, Stack};
use crate::ui;

/// The function name of the worker in `template.yaml`.
pub const WORKER_FUNCTION: &str = "shopflow-worker";
/// The function name of the front door (`ingest-fn`) in `template.yaml`.
pub const INGEST_FUNCTION: &str = "shopflow-ingest";

#[derive(Debug, Clone)]
pub struct Ports {
    pub temporal: u16,
    pub ui: u16,
    pub sqs: u16,
    pub lambda: u16,
    pub http_api: u16,
    pub shop: u16,
}

pub struct World {
    pub stack: Option<Stack>,
    pub emulator: Option<LambdaEmulator>,
    pub shop: Option<Storefront>,
    pub worker: Option<LocalWorker>,
    pub setup: WorkerSetup,
    pub ui_url: Option<String>,
    pub queues: Queues,
    /// The key `POST /orders` is signed with in this run.
    pub ingest_secret: shared::signing::Secret,
}

/// The orders queue `template.yaml` declares and its dead-letter queue, on LocalStack.
#[derive(Debug, Clone)]
pub struct Queues {
    pub endpoint: String,
    pub orders_url: String,
    pub dlq_url: String,
}

impl World {
    pub fn start(ports: &Ports, idle_timeout: Duration) -> Result<World> {
        stack::ensure_tools()?;
        let lambda_endpoint = format!("http://127.0.0.1:{}", ports.lambda);
        let stack = stack::start(
            TemporalOptions {
                port: ports.temporal,
                ui_port: Some(ports.ui),
                lambda_endpoint: Some(lambda_endpoint),
                ..TemporalOptions::default()
            },
            LocalStackOptions {
                port: ports.sqs,
                ..LocalStackOptions::default()
            },
        )?;
        let queues = ui::step("Creating the orders queue and its DLQ", || {
            let urls = stack::create_orders_queues(&stack.localstack)?;
            Ok(Queues {
                endpoint: stack.localstack.endpoint(),
                orders_url: urls.orders,
                dlq_url: urls.dlq,
            })
        })?;
        let address = stack.temporal.address();
        let ui_url = stack.temporal.ui_url();
        let data = devstack::paths::data_dir().join("demo");
        std::fs::create_dir_all(&data)?;
        let db = data.join("shop.db");
        // A fresh shop each run: the ledger check counts this run's effects only.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let setup = WorkerSetup {
            temporal_address: address.clone(),
            namespace: "default".to_owned(),
            task_queue: shared::TASK_QUEUE.to_owned(),
            deployment: shared::DEPLOYMENT_NAME.to_owned(),
            build_id: shared::BUILD_ID.to_owned(),
            shop_url: format!("http://127.0.0.1:{}", ports.shop),
        };
        let emulator_url = format!("http://127.0.0.1:{}", ports.lambda);
        let ingest_url = format!("http://127.0.0.1:{}/orders", ports.http_api);
        // The page forwards orders to ingest-fn behind the emulator's HTTP API, charts the
        // emulator's metrics and links into the Temporal UI; it asks the demo's Temporal.
        let mut shop_args = vec!["--ingest-url", &ingest_url, "--emulator-url", &emulator_url];
        if let Some(url) = &ui_url {
            shop_args.extend(["--temporal-ui-url", url.as_str()]);
        }
        // Signatures on, as in production: one random key per run, given to the storefront (which
        // signs what it forwards), ingest-fn (which checks) and the demo's own front door.
        let ingest_secret = shared::signing::Secret::random();
        let temporal_env: Vec<(&str, String)> = setup
            .worker_env()
            .into_iter()
            .filter(|(k, _)| k.starts_with("TEMPORAL_"))
            .chain([("SHOPFLOW_INGEST_SECRET", ingest_secret.expose().to_owned())])
            .collect();
        let shop = ui::step("Starting the shop's services and storefront page", || {
            Storefront::start_with_env(&db, ports.shop, &shop_args, &temporal_env)
        })?;
        let sqs = stack.localstack.endpoint();
        let emulator = ui::step(
            "Starting the Lambda emulator (template.yaml: ingest + worker)",
            || {
                LambdaEmulator::start(&EmulatorSetup {
                    lambda_port: ports.lambda,
                    http_port: ports.http_api,
                    sqs_endpoint: Some(sqs.clone()),
                    idle_timeout_secs: idle_timeout.as_secs().max(1),
                    env: setup
                        .worker_env()
                        .into_iter()
                        .chain([
                            ("SHOPFLOW_INGEST_SECRET", ingest_secret.expose().to_owned()),
                            ("AWS_ENDPOINT_URL_SQS", sqs.clone()),
                            // The template's DLQ URL is the AWS one; never-valid messages go to
                            // LocalStack's.
                            ("SHOPFLOW_INGEST_DLQ_URL", queues.dlq_url.clone()),
                        ])
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                    parameters: vec![("TemporalProfile".into(), "default".into())],
                })
            },
        )?;
        let mut world = World {
            stack: Some(stack),
            emulator: Some(emulator),
            shop: Some(shop),
            worker: None,
            setup,
            ui_url,
            queues,
            ingest_secret,
        };
        world.register_deployment()?;
        Ok(world)
    }

    /// `create-version` with the emulated worker's ARN makes the Worker Controller call
    /// GetFunction and invoke the function once, whose first poll attaches `shopflow-orders` to
    /// the version; then the version becomes current.
    fn register_deployment(&mut self) -> Result<()> {
        let s = self.setup.clone();
        let arn = local_function_arn(WORKER_FUNCTION);
        ui::step(
            &format!(
                "Registering deployment {}:{} → {arn}",
                s.deployment, s.build_id
            ),
            || {
                devstack::register_lambda_version(
                    &s.temporal_address,
                    &s.deployment,
                    &s.build_id,
                    &s.task_queue,
                    &arn,
                )
            },
        )?;
        // The registration invocation idles out after a couple of seconds; the story starts
        // with no Lambda running.
        let emulator = self.emulator_url();
        ui::step("Waiting for the registration invocation to end", || {
            wait_for_no_invocations(&emulator)
        })
    }

    pub fn start_local_worker(&mut self) -> Result<()> {
        let setup = self.setup.clone();
        self.worker = Some(ui::step("Starting local-worker", || {
            LocalWorker::start(&setup)
        })?);
        Ok(())
    }

    pub fn shop_url(&self) -> String {
        self.shop
            .as_ref()
            .map(|s| s.url().to_owned())
            .unwrap_or_default()
    }

    /// `POST /orders` of the HTTP API, served by `ingest-fn`.
    pub fn ingest_url(&self) -> String {
        self.emulator
            .as_ref()
            .map(|e| format!("{}/orders", e.http_api_url()))
            .unwrap_or_default()
    }

    pub fn emulator_url(&self) -> String {
        self.emulator
            .as_ref()
            .map(|e| e.lambda_url())
            .unwrap_or_default()
    }

    pub fn stop(mut self) -> Result<()> {
        drop(self.worker.take());
        if let Some(e) = self.emulator.take() {
            ui::step("Stopping the Lambda emulator", || e.stop())?;
        }
        if let Some(s) = self.shop.take() {
            s.stop()?;
        }
        if let Some(stack) = self.stack.take() {
            stack.stop()?;
        }
        Ok(())
    }
}

fn wait_for_no_invocations(emulator_url: &str) -> Result<()> {
    let url = format!("{emulator_url}/_emulator/metrics");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = ureq::get(&url)
            .call()
            .context("reading emulator metrics")?
            .into_body()
            .read_to_string()?;
        let metrics: serde_json::Value = serde_json::from_str(&body)?;
        if metrics["functions"][WORKER_FUNCTION]["stats"]["concurrent_executions"].as_u64()
            == Some(0)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the registration invocation of {WORKER_FUNCTION} did not end");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
