//! OpenTelemetry for a Lambda worker (feature `otel`): traces of every workflow and activity, and
//! the SDK's metrics, over OTLP to the collector beside the function — what Go's
//! `lambdaworker/otel` package and the other SDKs' Lambda workers offer.
//!
//! [`apply_defaults`], called in `configure`:
//! - exports to `OTEL_EXPORTER_OTLP_ENDPOINT`, by default `http://localhost:4317`, where the AWS
//!   Distro for OpenTelemetry (ADOT) Lambda layer's collector listens; `OTEL_EXPORTER_OTLP_PROTOCOL`
//!   `grpc` (default) or `http/protobuf`;
//! - names the service `OTEL_SERVICE_NAME`, else the function (`AWS_LAMBDA_FUNCTION_NAME`);
//! - adds the SDK's `OpenTelemetryPlugin` to the client, so the workflow start's trace context,
//!   carried in the Temporal `_tracer-data` header, is the parent of the workflow's and its
//!   activities' spans, whichever process started it (ingest, another SDK, the CLI);
//! - sends the SDK runtime's metrics to the same collector, every second;
//! - flushes the spans when each invocation ends, inside the shutdown hooks' budget, because a
//!   frozen environment exports nothing.
//!
//! The tracer provider uses the SDK's `WorkflowIdGenerator`, so a workflow replayed on the next
//! invocation's worker produces the same span IDs and no duplicates.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::global;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use temporalio_client::ClientOptions;
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    OtelCollectorOptions, OtlpProtocol, TelemetryOptions, build_otlp_metric_exporter,
};
use temporalio_sdk::opentelemetry::{OpenTelemetryPlugin, WorkflowIdGenerator};
use temporalio_sdk::runtime::RuntimeOptions;

use crate::options::LambdaWorkerOptions;

/// Where the ADOT Lambda layer's collector listens for OTLP over gRPC.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4317";
/// The standard OpenTelemetry variables this module reads.
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `grpc` or `http/protobuf`.
pub const ENV_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// The service name on every span and metric.
pub const ENV_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Used when neither `OTEL_SERVICE_NAME` nor `AWS_LAMBDA_FUNCTION_NAME` is set.
pub const FALLBACK_SERVICE_NAME: &str = "temporal-lambda-worker";
/// How often the SDK's metrics are exported.
pub const METRIC_PERIOD: Duration = Duration::from_secs(1);

/// How the OTLP export is set up, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelSettings {
    /// The collector's base URL.
    pub endpoint: String,
    /// gRPC or HTTP with protobuf bodies.
    pub protocol: ExportProtocol,
    /// `service.name` of every span and metric.
    pub service_name: String,
}

/// The OTLP transports this module speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportProtocol {
    /// OTLP/gRPC (port 4317 by convention).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318 by convention).
    HttpProtobuf,
}

/// Why OpenTelemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol this module does not speak.
    #[error("{ENV_PROTOCOL}={0:?}: use \"grpc\" or \"http/protobuf\"")]
    Protocol(String),
    /// The endpoint is not a URL.
    #[error("{ENV_ENDPOINT}={0:?} is not a URL")]
    Endpoint(String),
    /// An exporter could not be built.
    #[error("building the OTLP {what} exporter: {message}")]
    Exporter {
        /// `span` or `metric`.
        what: &'static str,
        /// The exporter's error.
        message: String,
    },
}

impl OtelSettings {
    /// The settings `lookup` describes (see the module docs for the variables and defaults).
    pub fn from_env<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Result<Self, OtelError> {
        let protocol = match lookup(ENV_PROTOCOL) {
            None | Some("grpc") => ExportProtocol::Grpc,
            Some("http/protobuf") => ExportProtocol::HttpProtobuf,
            Some(other) => return Err(OtelError::Protocol(other.to_owned())),
        };
        let endpoint = lookup(ENV_ENDPOINT).unwrap_or(DEFAULT_ENDPOINT).to_owned();
        url::Url::parse(&endpoint).map_err(|_| OtelError::Endpoint(endpoint.clone()))?;
        let service_name = lookup(ENV_SERVICE_NAME)
            .or_else(|| lookup("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or(FALLBACK_SERVICE_NAME)
            .to_owned();
        Ok(Self {
            endpoint,
            protocol,
            service_name,
        })
    }
}

/// Set up traces and metrics over OTLP for this worker (see the module docs), and return the
/// tracer provider, also installed as OpenTelemetry's global one, for spans of your own.
pub fn apply_defaults(opts: &mut LambdaWorkerOptions) -> Result<SdkTracerProvider, OtelError> {
    let settings = OtelSettings::from_env(|name| opts.env(name))?;
    let provider = tracer_provider(&settings)?;
    global::set_tracer_provider(provider.clone());
    opts.client = with_plugin(&opts.client);
    opts.runtime = runtime_with_metrics(&settings)?;
    let flushing = provider.clone();
    opts.on_shutdown(move |context| {
        let provider = flushing.clone();
        async move {
            // `force_flush` blocks until the batch is exported: off the async threads, and no
            // longer than the hooks may take.
            let flush = tokio::task::spawn_blocking(move || provider.force_flush());
            match tokio::time::timeout_at(context.deadline, flush).await {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(e))) => Err(anyhow::anyhow!("flushing spans: {e}")),
                Ok(Err(e)) => Err(anyhow::anyhow!("flushing spans: {e}")),
                Err(_) => Err(anyhow::anyhow!(
                    "flushing spans did not finish within the hooks' budget"
                )),
            }
        }
    });
    Ok(provider)
}

/// A batch-exporting tracer provider with the SDK's replay-safe IDs.
pub fn tracer_provider(settings: &OtelSettings) -> Result<SdkTracerProvider, OtelError> {
    let exporter = match settings.protocol {
        ExportProtocol::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&settings.endpoint)
            .build(),
        ExportProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.signal_url("traces"))
            .build(),
    }
    .map_err(|e| OtelError::Exporter {
        what: "span",
        message: e.to_string(),
    })?;
    Ok(SdkTracerProvider::builder()
        .with_id_generator(WorkflowIdGenerator::default())
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .with_batch_exporter(exporter)
        .build())
}

/// `client` with the SDK's OpenTelemetry plugin added (plugins can only be added while
/// building, so the options are rebuilt with everything else kept).
pub fn with_plugin(client: &ClientOptions) -> ClientOptions {
    ClientOptions::new(client.namespace.clone())
        .data_converter(client.data_converter.clone())
        .client_interceptors(client.client_interceptors.clone())
        .plugins(client.plugins().iter().cloned())
        .plugin(OpenTelemetryPlugin::builder().build())
        .build()
}

impl OtelSettings {
    /// Where a signal (`traces`, `metrics`) is sent: the endpoint itself over gRPC; over HTTP the
    /// signal's path under it, as the OTLP specification builds it from a base endpoint.
    pub fn signal_url(&self, signal: &str) -> String {
        match self.protocol {
            ExportProtocol::Grpc => self.endpoint.clone(),
            ExportProtocol::HttpProtobuf => {
                format!("{}/v1/{signal}", self.endpoint.trim_end_matches('/'))
            }
        }
    }
}

fn runtime_with_metrics(settings: &OtelSettings) -> Result<RuntimeOptions, OtelError> {
    let url = url::Url::parse(&settings.signal_url("metrics"))
        .map_err(|_| OtelError::Endpoint(settings.endpoint.clone()))?;
    let meter = build_otlp_metric_exporter(
        OtelCollectorOptions::builder()
            .url(url)
            .metric_periodicity(METRIC_PERIOD)
            .protocol(match settings.protocol {
                ExportProtocol::Grpc => OtlpProtocol::Grpc,
                ExportProtocol::HttpProtobuf => OtlpProtocol::Http,
            })
            .global_tags([("service_name".to_owned(), settings.service_name.clone())].into())
            .build(),
    )
    .map_err(|e| OtelError::Exporter {
        what: "metric",
        message: format!("{e:#}"),
    })?;
    let telemetry = TelemetryOptions::builder()
        .metrics(Arc::new(meter) as Arc<dyn CoreMeter>)
        .build();
    RuntimeOptions::builder()
        .telemetry_options(telemetry)
        .build()
        .map_err(|message| OtelError::Exporter {
            what: "metric",
            message,
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<OtelSettings, OtelError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        OtelSettings::from_env(|name| vars.get(name).copied())
    }

    #[test]
    fn defaults_are_the_adot_collector_and_the_function_name() {
        let s = settings(&[("AWS_LAMBDA_FUNCTION_NAME", "payments")]).unwrap();
        assert_eq!(s.endpoint, "http://localhost:4317");
        assert_eq!(s.protocol, ExportProtocol::Grpc);
        assert_eq!(s.service_name, "payments");
        assert_eq!(settings(&[]).unwrap().service_name, FALLBACK_SERVICE_NAME);
    }

    #[test]
    fn the_standard_variables_win() {
        let s = settings(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "payments"),
            ("OTEL_SERVICE_NAME", "billing"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(s.service_name, "billing");
        assert_eq!(s.endpoint, "http://127.0.0.1:4318");
        assert_eq!(s.protocol, ExportProtocol::HttpProtobuf);
    }

    #[test]
    fn over_http_each_signal_has_its_path_and_over_grpc_none() {
        let http = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(http.signal_url("traces"), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(
            http.signal_url("metrics"),
            "http://127.0.0.1:4318/v1/metrics"
        );
        let grpc = settings(&[]).unwrap();
        assert_eq!(grpc.signal_url("metrics"), "http://localhost:4317");
    }

    #[test]
    fn an_unknown_protocol_or_a_bad_endpoint_is_refused() {
        let err = settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).unwrap_err();
        assert!(err.to_string().contains("http/json"), "{err}");
        let err = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]).unwrap_err();
        assert!(matches!(err, OtelError::Endpoint(_)), "{err}");
    }
}
