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
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
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

/// Everything running: Temporal, ingest-fn in the emulator, the storefront, a local worker.
pub struct Stack {
    pub shop: Shop,
    pub emulator: RunningEmulator,
    pub worker: LocalWorker,
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

impl Stack {
    pub async fn start() -> Stack {
        Self::start_signing(Signing::Right).await
    }

    pub async fn start_signing(signing: Signing) -> Stack {
        let temporal = tokio::task::spawn_blocking(devstack::temporal::temporal_for_tests)
            .await
            .unwrap()
            .expect("Temporal dev server");
        let run_id = ulid::Ulid::new().to_string().to_lowercase();
        let secret = format!("web-test-secret-{run_id}");
        // The worker needs the shop's URL and the shop needs the queue: the queue is named first.
        let mut setup = WorkerSetup::isolated(
            &temporal.address(),
            &run_id,
            shared::BUILD_ID,
            "http://127.0.0.1:9",
        );

        let ingest_bin = devstack::apps::built_bin("ingest-fn").expect("ingest-fn binary");
        let mut function = FunctionConfig::new(INGEST_FUNCTION, ingest_bin);
        function.timeout = Duration::from_secs(30);
        function.http_routes = vec![HttpRoute {
            method: "POST".into(),
            path: "/orders".into(),
        }];
        let environment = [
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
            ("SHOPFLOW_INGEST_SECRET", secret.clone()),
            ("SHOPFLOW_LOG_FORMAT", "json".into()),
        ];
        function
            .environment
            .extend(environment.map(|(k, v)| (k.to_owned(), v)));
        let config = EmulatorConfig {
            log_dir: Some(devstack::paths::logs_dir().join(format!("web-test-{run_id}-lambda"))),
            ..EmulatorConfig::default()
        };
        let emulator = RunningEmulator::start(config, vec![function], Listen::ephemeral())
            .await
            .expect("emulator");

        let signing_secret = match signing {
            Signing::Right => secret.clone(),
            Signing::Wrong => format!("not-{secret}"),
        };
        let web = WebSettings {
            ingest: Some(IngestTarget {
                url: parse_http_url(&format!("{}/orders", emulator.http_url())).unwrap(),
                secret: ingest_fn::auth::Secret::new(signing_secret),
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
        let shop = Shop::start(web).await;
        setup.shop_url = shop.url.clone();
        let worker_setup = setup.clone();
        let worker = tokio::task::spawn_blocking(move || LocalWorker::start_current(&worker_setup))
            .await
            .unwrap()
            .expect("local-worker");
        Stack {
            shop,
            emulator,
            worker,
            setup,
            temporal,
            secret,
            run_id,
        }
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
