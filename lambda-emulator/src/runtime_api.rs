//! The Lambda Runtime API one execution environment talks to (`AWS_LAMBDA_RUNTIME_API`).
//!
//! Each environment gets its own loopback listener, as each Lambda sandbox has its own endpoint:
//! no routing by environment is needed, and a runtime can only ever see its own invocations.
//! The runtime long-polls `GET /next`; the emulator hands it one [`Invocation`] at a time and the
//! runtime answers on `/response` or `/error`. `/init/error` reports a failed initialisation.
//! The same listener serves the Extensions API ([`crate::extensions_api`]), as Lambda's does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::SYNC_PAYLOAD_LIMIT;
use crate::extensions_api::{self, Extensions};
use crate::invoke::{InvokeInput, platform_error};
use crate::readiness::Parked;

/// An invocation waiting for (or being run by) the runtime.
pub(crate) struct Invocation {
    pub input: InvokeInput,
    pub timeout: Duration,
    /// Told the deadline once the runtime has taken the invocation.
    pub picked: oneshot::Sender<Instant>,
    pub reply: oneshot::Sender<RuntimeReply>,
}

/// What the runtime posted for an invocation.
#[derive(Debug)]
pub(crate) enum RuntimeReply {
    Response(Bytes),
    Error(Bytes),
}

/// The state one environment's Runtime API shares with the emulator.
pub(crate) struct RuntimeChannel {
    queue_tx: mpsc::Sender<Invocation>,
    queue_rx: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<Option<(String, oneshot::Sender<RuntimeReply>)>>,
    /// The request the environment's output belongs to; it stays set after the response so
    /// that lines still in the pipe are attributed to the right invocation.
    last_request: Mutex<Option<String>>,
    init_error: watch::Sender<Option<Bytes>>,
    extensions: Arc<Extensions>,
    /// The runtime is waiting in `GET /next` (see [`crate::readiness`]).
    runtime_parked: AtomicBool,
}

impl RuntimeChannel {
    pub(crate) fn new(extensions: Extensions) -> Self {
        let (queue_tx, queue_rx) = mpsc::channel(1);
        Self {
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            in_flight: Mutex::default(),
            last_request: Mutex::default(),
            init_error: watch::Sender::new(None),
            extensions: Arc::new(extensions),
            runtime_parked: AtomicBool::new(false),
        }
    }

    /// Queues an invocation for the runtime's next `GET /next`.
    pub(crate) async fn submit(&self, invocation: Invocation) -> Result<(), Invocation> {
        self.queue_tx
            .send(invocation)
            .await
            .map_err(|error| error.0)
    }

    pub(crate) fn last_request(&self) -> Option<String> {
        self.last_request.lock().expect("runtime lock").clone()
    }

    pub(crate) fn init_error(&self) -> watch::Receiver<Option<Bytes>> {
        self.init_error.subscribe()
    }

    pub(crate) fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Waits until the invoke phase is over: the runtime is back in `GET /next` and every
    /// extension in `event/next` with nothing pending — only then does Lambda freeze the
    /// environment or give it another event.
    pub(crate) async fn until_settled(&self) {
        let settled = || self.runtime_parked.load(Ordering::SeqCst) && self.extensions.all_ready();
        self.extensions.readiness().until(settled).await;
    }
}

pub(crate) fn router(channel: Arc<RuntimeChannel>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(channel.clone())
        .merge(extensions_api::router(channel.extensions.clone()))
}

async fn next(State(channel): State<Arc<RuntimeChannel>>) -> Response {
    // The runtime asking for work ends Lambda's init phase, and with it extension registration.
    channel.extensions.close_registration();
    let invocation = {
        let _parked = Parked::new(&channel.runtime_parked, channel.extensions.readiness());
        // The runtime gets an event only once every extension is in `event/next` too: after
        // registering, for the first event (Init ends there), and after handling the previous
        // `INVOKE` for the others.
        channel.extensions.until_all_ready().await;
        channel.queue_rx.lock().await.recv().await
    };
    let Some(Invocation {
        input,
        timeout,
        picked,
        reply,
    }) = invocation
    else {
        return (StatusCode::GONE, "environment shut down").into_response();
    };
    let deadline = Instant::now() + timeout;
    let deadline_ms = (SystemTime::now() + timeout)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    *channel.in_flight.lock().expect("runtime lock") = Some((input.request_id.clone(), reply));
    *channel.last_request.lock().expect("runtime lock") = Some(input.request_id.clone());
    let _ = picked.send(deadline);
    channel.extensions.invoke(
        &input.request_id,
        &input.invoked_arn,
        &input.trace_id,
        deadline_ms,
    );
    let mut response = Response::new(Body::from(input.payload));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &input.request_id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &input.invoked_arn);
    set("lambda-runtime-trace-id", &input.trace_id);
    response
}

async fn response(
    State(channel): State<Arc<RuntimeChannel>>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    match axum::body::to_bytes(body, SYNC_PAYLOAD_LIMIT).await {
        Ok(bytes) => complete(&channel, &id, RuntimeReply::Response(bytes)),
        Err(_) => {
            // Lambda fails the invocation, not the runtime, when the response is too large.
            let document = platform_error(
                "Function.ResponseSizeTooLarge",
                &id,
                &format!(
                    "Response payload size exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes)."
                ),
            );
            let answer = complete(&channel, &id, RuntimeReply::Error(document));
            if answer.status().is_success() {
                error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestTooLarge",
                    "RequestTooLarge",
                )
            } else {
                answer
            }
        }
    }
}

async fn error(
    State(channel): State<Arc<RuntimeChannel>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    complete(&channel, &id, RuntimeReply::Error(error_document(body)))
}

async fn init_error(State(channel): State<Arc<RuntimeChannel>>, body: Bytes) -> Response {
    channel.init_error.send_replace(Some(error_document(body)));
    accepted()
}

/// Hands the runtime's answer to whoever waits for invocation `id`.
fn complete(channel: &RuntimeChannel, id: &str, reply: RuntimeReply) -> Response {
    let mut in_flight = channel.in_flight.lock().expect("runtime lock");
    match in_flight.take() {
        Some((current, sender)) if current == id => {
            let _ = sender.send(reply);
            accepted()
        }
        other => {
            *in_flight = other;
            error_response(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                "Invalid request ID",
            )
        }
    }
}

/// Runtimes should post a JSON error document; anything else is wrapped so callers always get
/// one.
fn error_document(body: Bytes) -> Bytes {
    if serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v.is_object()) {
        return body;
    }
    let message = String::from_utf8_lossy(&body).into_owned();
    Bytes::from(json!({ "errorType": "Runtime.Unknown", "errorMessage": message }).to_string())
}

pub(crate) fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

/// Lambda's error document for a refused Runtime or Extensions API call.
pub(crate) fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errorType": error_type, "errorMessage": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn serve(channel: Arc<RuntimeChannel>) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!(
            "http://{}/2018-06-01/runtime",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, router(channel)).await });
        url
    }

    fn invocation(
        id: &str,
    ) -> (
        Invocation,
        oneshot::Receiver<Instant>,
        oneshot::Receiver<RuntimeReply>,
    ) {
        let (picked, picked_rx) = oneshot::channel();
        let (reply, reply_rx) = oneshot::channel();
        let mut input = InvokeInput::new(
            Bytes::from_static(b"{\"k\":1}"),
            "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        );
        input.request_id = id.into();
        (
            Invocation {
                input,
                timeout: Duration::from_secs(3),
                picked,
                reply,
            },
            picked_rx,
            reply_rx,
        )
    }

    #[tokio::test]
    async fn next_hands_out_the_invocation_with_lambdas_headers() {
        let channel = Arc::new(RuntimeChannel::new(Extensions::new(
            "f",
            Arc::new(crate::logs::LogSink::new(None)),
        )));
        let url = serve(channel.clone()).await;
        let (invocation, picked, _reply) = invocation("req-1");
        channel.submit(invocation).await.ok().unwrap();
        let response = reqwest::get(format!("{url}/invocation/next"))
            .await
            .unwrap();
        let headers = response.headers().clone();
        assert_eq!(headers["lambda-runtime-aws-request-id"], "req-1");
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert!(
            headers["lambda-runtime-trace-id"]
                .to_str()
                .unwrap()
                .starts_with("Root=1-")
        );
        let deadline_ms: u128 = headers["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(deadline_ms > now_ms && deadline_ms <= now_ms + 3000);
        assert_eq!(&response.bytes().await.unwrap()[..], b"{\"k\":1}");
        picked.await.expect("the deadline is reported");
        assert_eq!(channel.last_request().as_deref(), Some("req-1"));
    }

    #[tokio::test]
    async fn answers_for_unknown_or_finished_invocations_are_refused() {
        let channel = Arc::new(RuntimeChannel::new(Extensions::new(
            "f",
            Arc::new(crate::logs::LogSink::new(None)),
        )));
        let url = serve(channel.clone()).await;
        let client = reqwest::Client::new();
        let (invocation, _picked, reply) = invocation("req-2");
        channel.submit(invocation).await.ok().unwrap();
        reqwest::get(format!("{url}/invocation/next"))
            .await
            .unwrap();

        let wrong = client
            .post(format!("{url}/invocation/other/response"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 400);
        let right = client
            .post(format!("{url}/invocation/req-2/response"))
            .body("{\"ok\":true}")
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 202);
        let duplicate = client
            .post(format!("{url}/invocation/req-2/response"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(duplicate.status(), 400, "an invocation is answered once");
        match reply.await.unwrap() {
            RuntimeReply::Response(body) => assert_eq!(&body[..], b"{\"ok\":true}"),
            RuntimeReply::Error(body) => panic!("unexpected error {body:?}"),
        }
    }

    #[tokio::test]
    async fn errors_that_are_not_json_documents_are_wrapped() {
        let channel = Arc::new(RuntimeChannel::new(Extensions::new(
            "f",
            Arc::new(crate::logs::LogSink::new(None)),
        )));
        let url = serve(channel.clone()).await;
        let (invocation, _picked, reply) = invocation("req-3");
        channel.submit(invocation).await.ok().unwrap();
        reqwest::get(format!("{url}/invocation/next"))
            .await
            .unwrap();
        let client = reqwest::Client::new();
        client
            .post(format!("{url}/invocation/req-3/error"))
            .body("plain text panic")
            .send()
            .await
            .unwrap();
        let RuntimeReply::Error(body) = reply.await.unwrap() else {
            panic!("expected an error")
        };
        let document: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(document["errorMessage"], "plain text panic");

        let mut init = channel.init_error();
        client
            .post(format!("{url}/init/error"))
            .body(r#"{"errorType":"Init","errorMessage":"no config"}"#)
            .send()
            .await
            .unwrap();
        let reported = init
            .wait_for(Option::is_some)
            .await
            .unwrap()
            .clone()
            .unwrap();
        assert_eq!(
            &reported[..],
            br#"{"errorType":"Init","errorMessage":"no config"}"#
        );
    }
}
