//! One real ShopFlow front door per test: `ingest-fn` (the real binary) in the Lambda emulator
//! behind its HTTP API (`POST /orders`) and, when asked, an SQS event source mapping on
//! LocalStack; the real Temporal dev server; and a storefront + local worker on a task queue and
//! Worker Deployment of this run's own, so orders really complete.
//!
//! Temporal and LocalStack are the ones `cargo xtask test` shares, or private ones. Waiting is
//! bounded polling (a broken test fails instead of hanging), never an assertion on time.

#![allow(dead_code)]

use std::time::Duration;

use aws_sdk_sqs::types::{Message, SendMessageBatchRequestEntry};
use devstack::apps::{LocalWorker, Storefront, WorkerSetup};
use devstack::temporal::TemporalDevServer;
use lambda_emulator::{
    EmulatorConfig, FunctionConfig, HttpRoute, Listen, RunningEmulator, SqsSource,
};
use serde_json::Value;
use shared::signing::{Secret, signed_headers};
use temporalio_client::errors::WorkflowInteractionError;
use temporalio_client::{Client, WorkflowCountOptions, WorkflowDescribeOptions};

pub const FUNCTION: &str = "ingest-fn";
/// The `eventSourceARN` of the sample SQS event in `events/`.
pub const SAMPLE_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:shopflow-orders";

/// What a test needs besides the defaults.
pub struct StackOptions {
    /// Poll an SQS queue (with a DLQ) on LocalStack.
    pub sqs: bool,
    /// Use this Temporal server instead of the shared/private default one.
    pub temporal: Option<TemporalDevServer>,
    /// `SHOPFLOW_INGEST_START_TIMEOUT_MS` of the function.
    pub start_timeout_ms: u64,
    /// Visibility timeout of the orders queue (how soon a failed record returns). With `sqs`, the
    /// function's timeout is set to it: Lambda refuses an SQS mapping whose function may run
    /// longer than the queue hides a message (and so does the emulator), so it must exceed the
    /// start timeout.
    pub visibility_timeout_secs: u32,
    /// Concurrency the function may use (the emulator starts environments up to it).
    pub reserved_concurrency: Option<u32>,
    /// Start a storefront and a local worker, so orders run to completion (benchmarks that only
    /// measure starting leave them out).
    pub shop: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            sqs: false,
            temporal: None,
            start_timeout_ms: 5000,
            visibility_timeout_secs: 6,
            reserved_concurrency: None,
            shop: true,
        }
    }
}

/// The orders queue, its DLQ and the LocalStack they live on.
pub struct Queues {
    pub _localstack: devstack::LocalStack,
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub name: String,
    pub dlq_url: String,
}

pub struct Stack {
    pub temporal: Option<TemporalDevServer>,
    pub shop: Option<Storefront>,
    pub worker: Option<LocalWorker>,
    pub setup: WorkerSetup,
    pub client: Client,
    pub emulator: RunningEmulator,
    pub queues: Option<Queues>,
    pub secret: Secret,
    pub run_id: String,
    pub http: reqwest::Client,
    dir: std::path::PathBuf,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Stack {
        let temporal = match options.temporal {
            Some(server) => server,
            None => tokio::task::spawn_blocking(devstack::temporal_for_tests)
                .await
                .unwrap()
                .expect("Temporal dev server"),
        };
        let run_id = ulid::Ulid::new().to_string().to_lowercase();
        let dir = devstack::paths::shopflow_home()
            .join("test-runs")
            .join(&run_id);
        let shop = options
            .shop
            .then(|| Storefront::start(&dir, &[]).expect("storefront"));
        let shop_url = shop
            .as_ref()
            .map_or("http://127.0.0.1:9", |s| s.url())
            .to_owned();
        let setup =
            WorkerSetup::isolated(&temporal.address(), &run_id, shared::BUILD_ID, &shop_url);
        let worker = options
            .shop
            .then(|| LocalWorker::start_current(&setup).expect("local-worker"));
        let client = shared::connection::connect_to(&setup.temporal_address, &setup.namespace)
            .await
            .expect("Temporal client");
        let secret = Secret::new(format!("test-secret-{run_id}")).unwrap();

        let mut function = FunctionConfig::new(FUNCTION, env!("CARGO_BIN_EXE_ingest-fn"));
        function.timeout = Duration::from_secs(30);
        function.reserved_concurrency = options.reserved_concurrency;
        function.http_routes = vec![HttpRoute {
            method: "POST".into(),
            path: "/orders".into(),
        }];
        let workspace = devstack::workspace_root();
        let environment = [
            (
                "TEMPORAL_CONFIG_FILE",
                workspace.join("temporal.toml").display().to_string(),
            ),
            ("TEMPORAL_ADDRESS", setup.temporal_address.clone()),
            ("TEMPORAL_NAMESPACE", setup.namespace.clone()),
            ("TEMPORAL_TASK_QUEUE", setup.task_queue.clone()),
            ("SHOPFLOW_INGEST_SECRET", format!("test-secret-{run_id}")),
            (
                "SHOPFLOW_INGEST_START_TIMEOUT_MS",
                options.start_timeout_ms.to_string(),
            ),
            ("SHOPFLOW_LOG_FORMAT", "json".into()),
            // The queue `events/sqs-orders-batch.json` names; with `sqs`, this run's queue.
            ("SHOPFLOW_INGEST_QUEUE_ARN", SAMPLE_QUEUE_ARN.into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ];
        function
            .environment
            .extend(environment.map(|(k, v)| (k.to_owned(), v)));

        let mut config = EmulatorConfig {
            sqs_wait_time: Duration::from_secs(1),
            log_dir: Some(dir.join("lambda-logs")),
            ..EmulatorConfig::default()
        };
        let queues = if options.sqs {
            function.timeout = Duration::from_secs(options.visibility_timeout_secs.into());
            let queues = create_queues(&run_id, options.visibility_timeout_secs).await;
            config.sqs_endpoint = Some(queues._localstack.endpoint());
            function
                .environment
                .insert("AWS_ENDPOINT_URL_SQS".into(), queues._localstack.endpoint());
            function
                .environment
                .insert("SHOPFLOW_INGEST_DLQ_URL".into(), queues.dlq_url.clone());
            function.environment.insert(
                "SHOPFLOW_INGEST_QUEUE_ARN".into(),
                lambda_emulator::queue_arn(&config.region, &queues.name),
            );
            let mut source = SqsSource::new(&queues.name);
            source.report_batch_item_failures = true;
            source.maximum_batching_window = Duration::from_secs(1);
            function.sqs_sources = vec![source];
            Some(queues)
        } else {
            None
        };
        let emulator = RunningEmulator::start(config, vec![function], Listen::ephemeral())
            .await
            .expect("emulator");
        Stack {
            temporal: Some(temporal),
            shop,
            worker,
            setup,
            client,
            emulator,
            queues,
            secret,
            run_id,
            http: reqwest::Client::new(),
            dir,
        }
    }

    /// What the function wrote (the emulator's per-function log file).
    pub fn log_file(&self) -> std::path::PathBuf {
        self.dir.join("lambda-logs").join(format!("{FUNCTION}.log"))
    }

    /// The one line of the function's log that carries `ingest_id` (waits for it to be
    /// forwarded; fails if there is more than one).
    pub async fn logged_once(&self, ingest_id: &str) -> String {
        let lines = eventually(&format!("{ingest_id} in the function's log"), async || {
            let log = std::fs::read_to_string(self.log_file()).ok()?;
            let lines: Vec<String> = log
                .lines()
                .filter(|l| l.contains(ingest_id))
                .map(str::to_owned)
                .collect();
            (!lines.is_empty()).then_some(lines)
        })
        .await;
        assert_eq!(
            lines.len(),
            1,
            "{ingest_id} logged more than once: {lines:#?}"
        );
        lines.into_iter().next().unwrap()
    }

    pub fn orders_url(&self) -> String {
        format!("{}/orders", self.emulator.http_url())
    }

    /// A unique order ID for this run.
    pub fn order_id(&self, tag: &str) -> String {
        format!("{tag}-{}", ulid::Ulid::new().to_string().to_lowercase())
    }

    /// The sample order under `order_id`, as JSON.
    pub fn order_json(&self, order_id: &str) -> String {
        shared::domain::sample_order_json(order_id)
    }

    /// A correctly signed `POST /orders`.
    pub async fn post(&self, body: &str) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.orders_url())
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in signed_headers(&self.secret, body.as_bytes()) {
            request = request.header(name, value);
        }
        request.send().await.expect("POST /orders")
    }

    /// Whether a workflow with this ID exists (strongly consistent: a describe).
    pub async fn workflow_exists(&self, workflow_id: &str) -> bool {
        match shared::orders::handle(&self.client, workflow_id)
            .describe(WorkflowDescribeOptions::default())
            .await
        {
            Ok(_) => true,
            Err(WorkflowInteractionError::NotFound(_)) => false,
            Err(other) => panic!("describing {workflow_id}: {other}"),
        }
    }

    /// Workflows on this run's task queue, per the visibility store (eventually consistent).
    pub async fn workflow_count(&self) -> usize {
        let query = format!("TaskQueue = '{}'", self.setup.task_queue);
        self.client
            .count_workflows(query, WorkflowCountOptions::default())
            .await
            .expect("count workflows")
            .count()
    }

    /// Waits for an order's outcome (bounded).
    pub async fn completes(&self, workflow_id: &str) -> shared::OrderOutcome {
        tokio::time::timeout(
            Duration::from_secs(90),
            shared::orders::outcome(&self.client, workflow_id),
        )
        .await
        .unwrap_or_else(|_| panic!("{workflow_id} did not finish within 90 s"))
        .unwrap_or_else(|e| panic!("{workflow_id} ended badly: {e}"))
    }

    /// How many charges the shop recorded for an order: the real effect that must happen once.
    pub async fn charges(&self, order_id: &str) -> usize {
        self.effects(order_id)
            .await
            .iter()
            .filter(|e| e["kind"] == "charge")
            .count()
    }

    /// Every effect the shop's ledger holds for an order.
    pub async fn effects(&self, order_id: &str) -> Vec<Value> {
        let url = format!("{}/ledger?orderId={order_id}", self.setup.shop_url);
        let ledger: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        ledger["effects"].as_array().unwrap().clone()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        drop(self.worker.take());
        drop(self.shop.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn create_queues(run_id: &str, visibility_timeout_secs: u32) -> Queues {
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests)
        .await
        .unwrap()
        .expect("LocalStack");
    let client = aws_clients::sqs_client(Some(&localstack.endpoint()), Some("us-east-1")).await;
    let name = format!("orders-{run_id}");
    let queues = devstack::sqs::OrdersQueues {
        name: name.clone(),
        visibility_timeout_secs,
        // SQS never redrives within a test: what reaches the DLQ, ingest-fn put there.
        max_receive_count: 1000,
        dlq_name: format!("orders-dlq-{run_id}"),
        dlq_retention_secs: 1_209_600,
    };
    let urls = devstack::sqs::create_orders_queues(&client, &queues)
        .await
        .expect("create queues");
    let (url, dlq_url) = (urls.orders, urls.dlq);
    Queues {
        _localstack: localstack,
        client,
        url,
        name,
        dlq_url,
    }
}

impl Queues {
    /// Sends `bodies` to the orders queue in one batch; every entry must be accepted.
    pub async fn send(&self, bodies: &[String]) {
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("send batch");
        assert!(sent.failed.is_empty(), "{:?}", sent.failed);
    }

    /// Visible + in-flight messages.
    pub async fn depth(&self, url: &str) -> u64 {
        devstack::sqs::queue_depth(&self.client, url)
            .await
            .expect("queue depth")
    }

    /// Takes everything off the DLQ (with message attributes).
    pub async fn drain_dlq(&self) -> Vec<Message> {
        let mut all = Vec::new();
        loop {
            let answer = self
                .client
                .receive_message()
                .queue_url(&self.dlq_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive from DLQ");
            let messages = answer.messages.unwrap_or_default();
            if messages.is_empty() {
                return all;
            }
            for message in &messages {
                self.client
                    .delete_message()
                    .queue_url(&self.dlq_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            all.extend(messages);
        }
    }
}

/// Polls `probe` until it returns `Some`, failing the test after a generous bound.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
