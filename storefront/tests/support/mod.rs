//! One real ShopFlow behind the storefront's web endpoints, per test: the Temporal dev server
//! (the one `cargo xtask test` shares, or a private one), the real `ingest-fn` binary in the
//! Lambda emulator behind its HTTP API (it checks the storefront's HMAC signature with its own
//! code), the storefront itself (in process, built exactly like `main` builds it) and a real
//! `local-worker` on a task queue and Worker Deployment of this run's own, so orders complete.
//!
//! `cargo xtask test` builds the workspace's binaries first; run alone, this needs
//! `cargo build -p ingest-fn -p local-worker` (the error says so).

#![allow(dead_code)]

use std::time::Duration;

use devstack::apps::{LocalWorker, WorkerSetup};
use devstack::temporal::TemporalDevServer;
use lambda_emulator::{EmulatorConfig, FunctionConfig, HttpRoute, Listen, RunningEmulator};
use serde_json::{Value, json};
use storefront::web::{IngestTarget, TemporalTarget, WebSettings, parse_http_url};
use storefront::{Application, Config, Settings};

/// The name the emulator runs ingest-fn under.
pub const INGEST_FUNCTION: &str = "ingest-fn";

/// A storefront app in this process, on a free port with its own database.
pub struct Shop {
    pub url: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Shop {
    pub async fn start(web: WebSettings) -> Shop {
        Self::start_on(web, 0).await
    }

    /// On `port` (0: any free one).
    pub async fn start_on(web: WebSettings, port: u16) -> Shop {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings {
            shop_token: None,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            db_path: dir.path().join("shop.db"),
            config: Config::default(),
            web,
        };
        let app = Application::build(settings)
            .await
            .expect("storefront builds");
        let url = format!("http://{}", app.local_addr().unwrap());
        tokio::spawn(app.run_until(std::future::pending()));
        Shop {
            url,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET");
        read(response).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, "application/json", body.to_string())
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// What the page sends for a cart of two mugs and a sticker pack, for `customer`.
pub fn place_order_body(customer: &str) -> Value {
    json!({
        "customer": { "id": customer, "email": "ada@example.com" },
        "items": [ { "sku": "MUG-CLASSIC", "quantity": 2 }, { "sku": "STICKER-PACK", "quantity": 1 } ],
        "shippingAddress": {
            "name": "Ada Lovelace", "line1": "Unter den Linden 1", "line2": "",
            "city": "Berlin", "postalCode": "10117", "country": "DE"
        }
    })
}

/// Everything running: Temporal, ingest-fn in the emulator, the storefront, a local worker —
/// and, when asked, the Lambda worker (`worker-fn`) in the same emulator.
pub struct Stack {
    pub shop: Shop,
    pub emulator: RunningEmulator,
    pub worker: Option<LocalWorker>,
    pub setup: WorkerSetup,
    pub temporal: TemporalDevServer,
    pub secret: String,
    pub run_id: String,
}

/// How the storefront signs: with the secret ingest-fn has, or a wrong one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Right,
    Wrong,
}

/// What a test needs besides the defaults.
#[derive(Clone, Copy)]
pub struct StackOptions {
    pub signing: Signing,
    /// Run `worker-fn` as `template.yaml`'s `shopflow-worker` in the emulator, registered as the
    /// compute config of this run's deployment version, on a private Temporal server whose
    /// Worker Controller calls this emulator (the shared server calls a fixed endpoint).
    pub lambda_worker: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            signing: Signing::Right,
            lambda_worker: false,
        }
    }
}

/// The Lambda worker's function name in `template.yaml`.
pub const WORKER_FUNCTION: &str = "shopflow-worker";

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(StackOptions::default()).await
    }

    pub async fn start_signing(signing: Signing) -> Stack {
        Self::start_with(StackOptions {
            signing,
            ..StackOptions::default()
        })
        .await
    }

    pub async fn start_with(options: StackOptions) -> Stack {
        let run_id = ulid::Ulid::new().to_string().to_lowercase();
        let secret = format!("web-test-secret-{run_id}");
        // Everything must know everyone's address before it starts: the Lambda worker the shop's
        // and Temporal's, Temporal the emulator's, the shop the emulator's. Ports are picked first.
        let shop_port = devstack::ports::pick_free_port().expect("a free port");
        let private_temporal_port = options
            .lambda_worker
            .then(|| devstack::ports::pick_free_port().expect("a free port"));
        let shared_temporal = match private_temporal_port {
            Some(_) => None,
            None => Some(
                tokio::task::spawn_blocking(devstack::temporal::temporal_for_tests)
                    .await
                    .unwrap()
                    .expect("Temporal dev server"),
            ),
        };
        let temporal_address = match (&shared_temporal, private_temporal_port) {
            (Some(server), _) => server.address(),
            (None, Some(port)) => format!("127.0.0.1:{port}"),
            (None, None) => unreachable!("one of the two is set"),
        };
        let shop_url = format!("http://127.0.0.1:{shop_port}");
        let setup = WorkerSetup::isolated(&temporal_address, &run_id, shared::BUILD_ID, &shop_url);

        let mut functions = vec![ingest_function(&setup, &secret)];
        if options.lambda_worker {
            functions.push(lambda_worker_function(&setup));
        }
        let config = EmulatorConfig {
            idle_timeout: Duration::from_secs(30),
            log_dir: Some(devstack::paths::logs_dir().join(format!("web-test-{run_id}-lambda"))),
            ..EmulatorConfig::default()
        };
        let emulator = RunningEmulator::start(config, functions, Listen::ephemeral())
            .await
            .expect("emulator");
        let temporal = match (shared_temporal, private_temporal_port) {
            (Some(server), _) => server,
            (None, Some(port)) => {
                let options = devstack::TemporalOptions {
                    port,
                    lambda_endpoint: Some(emulator.lambda_url()),
                    ..Default::default()
                };
                tokio::task::spawn_blocking(move || devstack::TemporalDevServer::start(options))
                    .await
                    .unwrap()
                    .expect("private Temporal dev server")
            }
            (None, None) => unreachable!("one of the two is set"),
        };

        let signing_secret = match options.signing {
            Signing::Right => secret.clone(),
            Signing::Wrong => format!("not-{secret}"),
        };
        let web = WebSettings {
            ingest: Some(IngestTarget {
                url: parse_http_url(&format!("{}/orders", emulator.http_url())).unwrap(),
                secret: shared::signing::Secret::new(signing_secret).ok(),
            }),
            temporal: TemporalTarget::Address {
                address: setup.temporal_address.clone(),
                namespace: setup.namespace.clone(),
            },
            temporal_ui_url: Some(parse_http_url("http://127.0.0.1:8233").unwrap()),
            emulator_url: Some(parse_http_url(&emulator.lambda_url()).unwrap()),
            task_queue: Some(setup.task_queue.clone()),
            namespace: setup.namespace.clone(),
        };
        let shop = Shop::start_on(web, shop_port).await;

        let worker_setup = setup.clone();
        let arn = options
            .lambda_worker
            .then(|| emulator.function_arn(WORKER_FUNCTION));
        let worker = tokio::task::spawn_blocking(move || {
            // The version (with the Lambda compute config, if any) is current before the local
            // worker's first poll, which attaches the task queue to it: from then on, tasks that
            // wait with no poller make the Worker Controller invoke the Lambda worker.
            let s = &worker_setup;
            match arn.as_deref() {
                Some(arn) => devstack::register_lambda_version(
                    &s.temporal_address,
                    &s.deployment,
                    &s.build_id,
                    &s.task_queue,
                    arn,
                )?,
                None => devstack::create_deployment_version(
                    &s.temporal_address,
                    &s.deployment,
                    &s.build_id,
                    None,
                )?,
            }
            LocalWorker::start_current(&worker_setup)
        })
        .await
        .unwrap()
        .expect("local-worker");
        let stack = Stack {
            shop,
            emulator,
            worker: Some(worker),
            setup,
            temporal,
            secret,
            run_id,
        };
        if options.lambda_worker {
            stack.wait_for_lambda_worker_to_scale_to_zero().await;
        }
        stack
    }

    /// `create-version` invokes the Lambda worker once (its first poll registers the task queue
    /// with the version); while that worker still polls it competes with the local worker for
    /// tasks. Tests start from the quiet state the demo starts from: that invocation over.
    pub async fn wait_for_lambda_worker_to_scale_to_zero(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) = self.shop.get("/dashboard/api/lambda").await;
            assert_eq!(status, 200, "{body}");
            let functions = body["functions"].as_array().unwrap();
            let worker = functions
                .iter()
                .find(|f| f["name"] == WORKER_FUNCTION)
                .cloned();
            let worker = worker.expect("the Lambda worker function");
            if worker["invocations"].as_u64() >= Some(1) && worker["concurrentExecutions"] == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the Lambda worker never scaled to zero: {worker}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Ctrl+C on the local worker: it drains and exits; further tasks go to the Lambda worker.
    pub fn stop_local_worker(&mut self) {
        self.worker
            .take()
            .expect("the local worker runs")
            .interrupt()
            .expect("SIGINT local-worker");
    }

    /// Places an order through the page's endpoint; returns its order ID.
    pub async fn place(&self, customer: &str) -> String {
        let (status, body) = self
            .shop
            .post_json("/shop/orders", &place_order_body(customer))
            .await;
        assert_eq!(status, 202, "placing an order: {body}");
        body["orderId"].as_str().expect("orderId").to_owned()
    }

    /// Polls the status endpoint until the order's step is final (bounded: 90 s).
    pub async fn final_status(&self, order_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) = self
                .shop
                .get(&format!("/shop/orders/{order_id}/status"))
                .await;
            if status == 200 && matches!(body["step"].as_str(), Some("Completed" | "Compensated")) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{order_id} never finished; last answer {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// ingest-fn behind the emulator's HTTP API (`POST /orders`), starting orders on this run's queue.
fn ingest_function(setup: &WorkerSetup, secret: &str) -> FunctionConfig {
    let ingest_bin = devstack::apps::built_bin("ingest-fn").expect("ingest-fn binary");
    let mut function = FunctionConfig::new(INGEST_FUNCTION, ingest_bin);
    function.timeout = Duration::from_secs(30);
    function.http_routes = vec![HttpRoute {
        method: "POST".into(),
        path: "/orders".into(),
    }];
    function.environment.extend(temporal_env(setup));
    function
        .environment
        .insert("SHOPFLOW_INGEST_SECRET".into(), secret.to_owned());
    function
}

/// `worker-fn` as `template.yaml` declares `shopflow-worker`, wired to this run. It exits after
/// a second without work, so the chart shows concurrency falling back to zero.
fn lambda_worker_function(setup: &WorkerSetup) -> FunctionConfig {
    let template = devstack::workspace_root().join("template.yaml");
    let options = lambda_emulator::template::TemplateOptions::new(devstack::bin_dir());
    let mut worker = lambda_emulator::template::load(&template, &options)
        .expect("template.yaml loads")
        .into_iter()
        .find(|f| f.name == WORKER_FUNCTION)
        .expect("template.yaml declares shopflow-worker");
    worker.binary = devstack::apps::built_bin("worker-fn").expect("worker-fn binary");
    worker.timeout = Duration::from_secs(60);
    worker.environment.extend(temporal_env(setup));
    for (k, v) in [
        ("TEMPORAL_PROFILE", "default".to_owned()),
        ("SHOPFLOW_DEPLOYMENT_NAME", setup.deployment.clone()),
        ("SHOPFLOW_BUILD_ID", setup.build_id.clone()),
        ("SHOPFLOW_SHOP_URL", setup.shop_url.clone()),
        ("SHOPFLOW_IDLE_EXIT", "1s".to_owned()),
    ] {
        worker.environment.insert(k.to_owned(), v);
    }
    worker
}

fn temporal_env(setup: &WorkerSetup) -> impl Iterator<Item = (String, String)> {
    [
        (
            "TEMPORAL_CONFIG_FILE",
            devstack::workspace_root()
                .join("temporal.toml")
                .display()
                .to_string(),
        ),
        ("TEMPORAL_ADDRESS", setup.temporal_address.clone()),
        ("TEMPORAL_NAMESPACE", setup.namespace.clone()),
        ("TEMPORAL_TASK_QUEUE", setup.task_queue.clone()),
        ("SHOPFLOW_LOG_FORMAT", "json".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
}
