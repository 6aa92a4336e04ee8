//! One trace, end to end, with the `otel` feature: a client with the SDK's OpenTelemetry plugin
//! starts the example's workflow; the Worker Controller invokes the example under the Lambda
//! emulator; the worker's spans of the workflow and its activity reach a real OTLP receiver
//! (OTLP/HTTP, the official protobuf messages from `opentelemetry-proto`) with the trace ID of
//! the start, and they arrive before the invocation's environment is frozen, because the
//! shutdown hook flushed them. The SDK's metrics reach the same receiver.

#![cfg(feature = "otel")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use temporal_lambda_worker::otel::{self, ExportProtocol, OtelSettings};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, UntypedWorkflow, Url,
    WorkflowGetResultOptions, WorkflowStartOptions,
};
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;

mod support;

use support::{ExampleStack, FUNCTION};

/// A span as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    service: String,
    name: String,
    trace_id: Vec<u8>,
}

/// What the receiver got: spans, and the names of metrics.
#[derive(Default)]
struct Received {
    spans: Vec<Seen>,
    metrics: Vec<String>,
}

type Collected = Arc<Mutex<Received>>;

/// `POST /v1/metrics`: keep the metric names.
async fn receive_metrics(State(collected): State<Collected>, body: Bytes) -> Vec<u8> {
    let request = ExportMetricsServiceRequest::decode(body).expect("an OTLP metrics export");
    let names = request
        .resource_metrics
        .into_iter()
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
        .map(|m| m.name);
    collected.lock().unwrap().metrics.extend(names);
    ExportMetricsServiceResponse::default().encode_to_vec()
}

/// `POST /v1/traces`: decode with the OTLP protobuf messages and keep every span.
async fn receive(State(collected): State<Collected>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let spans = &mut collected.lock().unwrap().spans;
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(Seen {
                    service: service.clone(),
                    name: span.name,
                    trace_id: span.trace_id,
                });
            }
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

/// The receiver on a free port: its base URL and what it received.
async fn otlp_receiver() -> (String, Collected) {
    let collected = Collected::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .route("/v1/metrics", post(receive_metrics))
        .with_state(collected.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, collected)
}

fn json_payload(value: &str) -> Payload {
    Payload {
        metadata: HashMap::from([("encoding".to_owned(), b"json/plain".to_vec())]),
        data: serde_json::to_vec(value).unwrap(),
        ..Default::default()
    }
}

/// Start the example's `Greeting` for "Lambda" on `stack` with a client built from
/// `client_options`, and wait (at most 60 s) for its result.
async fn greet(stack: &ExampleStack, client_options: ClientOptions, id: &str) -> String {
    let address = stack.temporal.address();
    let connection = Connection::connect(
        ConnectionOptions::new(Url::parse(&format!("http://{address}")).unwrap()).build(),
    )
    .await
    .unwrap();
    let client = Client::new(connection, client_options).unwrap();
    let workflow_id = format!("{id}-{}", std::process::id());
    let handle = client
        .start_workflow(
            UntypedWorkflow::new("Greeting"),
            RawValue::new(vec![json_payload("Lambda")]),
            WorkflowStartOptions::new(stack.task_queue.clone(), workflow_id)
                .execution_timeout(Duration::from_secs(60))
                .build(),
        )
        .await
        .unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the workflow completes within 60 s")
    .unwrap();
    serde_json::from_slice(&result.payloads[0].data).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_workflow_is_one_trace_from_the_start_to_the_activity_in_lambda() {
    let (collector, received) = otlp_receiver().await;

    let stack = ExampleStack::start(
        "hello-otel",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ],
    )
    .await;

    // The starter: its own service name, the same collector, the same plugin.
    let starter = otel::tracer_provider(&OtelSettings {
        endpoint: collector.clone(),
        protocol: ExportProtocol::HttpProtobuf,
        service_name: "starter".into(),
    })
    .unwrap();
    opentelemetry::global::set_tracer_provider(starter.clone());
    let client_options = otel::with_plugin(&ClientOptions::new("default").build());
    let greeting = greet(&stack, client_options, "greeting-otel").await;
    assert_eq!(greeting, "Hello, Lambda!");
    starter.force_flush().unwrap();

    // The worker's spans arrive when its invocation ends (idle exit, 2 s) and flushes them.
    let deadline = Instant::now() + Duration::from_secs(30);
    let wanted = [
        "RunWorkflow:Greeting",
        "StartActivity:Greet",
        "RunActivity:Greet",
    ];
    let seen = loop {
        let seen = received.lock().unwrap().spans.clone();
        let has = |name: &str| seen.iter().any(|s| s.name == name);
        if wanted.iter().all(|name| has(name)) || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let start = seen
        .iter()
        .find(|s| s.name == "StartWorkflow:Greeting")
        .unwrap_or_else(|| panic!("no StartWorkflow span: {seen:?}"));
    assert_eq!(start.service, "starter");
    for name in wanted {
        let span = seen
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} span: {seen:?}"));
        assert_eq!(span.service, FUNCTION, "{name} came from the Lambda worker");
        assert_eq!(
            span.trace_id, start.trace_id,
            "{name} is in the start's trace: {seen:?}"
        );
    }

    // The SDK's own metrics went to the same collector, named as the SDK names them.
    let metrics = received.lock().unwrap().metrics.clone();
    assert!(
        metrics.iter().any(|m| m.starts_with("temporal_")),
        "no SDK metric reached the collector: {metrics:?}"
    );

    stack.stop().await;
}

/// A collector that is not there costs the invocation nothing but a logged failure: the
/// workflow still completes on the Lambda worker, and no invocation fails.
#[tokio::test(flavor = "multi_thread")]
async fn with_no_collector_listening_the_workflow_still_completes() {
    let nowhere = format!(
        "http://127.0.0.1:{}",
        devstack::ports::pick_free_port().unwrap()
    );
    let stack = ExampleStack::start(
        "hello-no-collector",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", nowhere.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ],
    )
    .await;
    let greeting = greet(
        &stack,
        ClientOptions::new("default").build(),
        "greeting-no-collector",
    )
    .await;
    assert_eq!(greeting, "Hello, Lambda!");
    // The invocation ends after its idle exit, with a flush that cannot reach the collector.
    let deadline = Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let stats = stack.emulator.stats(FUNCTION).unwrap();
        if stats.concurrent_executions == 0 || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(stats.concurrent_executions, 0, "the invocation ended");
    assert!(stats.invocations >= 1);
    assert_eq!(
        stats.errors, 0,
        "no invocation failed for the missing collector"
    );
    stack.stop().await;
}
