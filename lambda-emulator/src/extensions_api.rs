//! The Lambda Extensions API (`/2020-01-01/extension/…`), served on each environment's Runtime
//! API listener as Lambda serves it on `AWS_LAMBDA_RUNTIME_API`.
//!
//! It matters beyond extensions themselves: Lambda sends SIGTERM to a runtime at shutdown only
//! when an extension is registered, so `lambda_runtime`'s graceful-shutdown helper (and our
//! Temporal worker) register a no-op extension during init and fail when this API is missing.
//!
//! What is emulated, following Lambda's documentation and its Runtime Interface Emulator:
//! `register` (name header, `{"events": [...]}`, an identifier back, registration closed once the
//! runtime asks for its first invocation, at most 10, unique names), `event/next` (a long poll
//! that yields the `INVOKE` and `SHUTDOWN` events the extension subscribed to — forever nothing
//! for an extension subscribed to none), `init/error` and `exit/error` (accepted and logged), and
//! Lambda's `403` error documents for missing, malformed or unknown identifiers. When init ends,
//! each extension is logged to the function's log as Lambda logs it
//! (`EXTENSION\tName: …\tState: Ready\tEvents: [INVOKE,SHUTDOWN]`).
//!
//! Extensions hold the environment's phases up as on Lambda (see [`crate::readiness`]): the first
//! event goes to the runtime only once every registered extension called `event/next`, and an
//! environment stays busy after an invocation until the extensions subscribed to `INVOKE` called
//! it again.
//!
//! **Every extension here is internal.** Lambda calls an extension *external* when it is an
//! executable it found in a layer's `/opt/extensions` and started itself; anything else that
//! registers — a thread or child of the runtime — is *internal*, and internal extensions may not
//! subscribe to `SHUTDOWN` (AWS "Lambda Extensions API": "Internal extensions ... can't register
//! for the Shutdown event"; the runtime interface emulator refuses it with
//! `Extension.InvalidEventType` in `rapid/handlers.go`'s agent registration). The emulator runs
//! no layers, so every registration is internal and a `SHUTDOWN` subscription is refused with
//! that 403, as Lambda would refuse it from the same function.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::config::ACCOUNT_ID;
use crate::logs::LogSink;
use crate::readiness::{Parked, Readiness};
use crate::runtime_api::{accepted, error_response};

const NAME_HEADER: &str = "lambda-extension-name";
const ID_HEADER: &str = "lambda-extension-identifier";
const ERROR_TYPE_HEADER: &str = "lambda-extension-function-error-type";
const ACCEPT_FEATURE_HEADER: &str = "lambda-extension-accept-feature";

/// Lambda's limit on extensions per function.
const MAX_EXTENSIONS: usize = 10;

/// How long Lambda's shutdown phase may take for a function whose extensions are all internal
/// (AWS "Lambda execution environment lifecycle", Shutdown phase: 0 ms with no registered
/// extension, 500 ms with internal ones, 2,000 ms with external ones).
pub(crate) const INTERNAL_EXTENSIONS_SHUTDOWN: Duration = Duration::from_millis(500);

/// Why an environment shuts down (Lambda's `shutdownReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShutdownReason {
    /// A normal end: the environment was idle, or the emulator stops.
    Spindown,
    /// An invocation ran out of time.
    Timeout,
    /// Anything else that made the environment unusable (a crash, a broken init).
    Failure,
}

/// The events an extension may subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum EventType {
    Invoke,
    Shutdown,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "INVOKE",
            Self::Shutdown => "SHUTDOWN",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "INVOKE" => Some(Self::Invoke),
            "SHUTDOWN" => Some(Self::Shutdown),
            _ => None,
        }
    }
}

/// One registered extension: what it subscribed to and the events waiting for its `next`.
struct Registered {
    name: String,
    events: BTreeSet<EventType>,
    queue_tx: mpsc::UnboundedSender<Value>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    /// In `event/next` right now, waiting.
    parked: AtomicBool,
    /// Events published to it and not yet handed out by `event/next`.
    undelivered: AtomicUsize,
}

impl Registered {
    /// Done with everything it was given: waiting in `next` with nothing queued for it.
    fn is_ready(&self) -> bool {
        self.parked.load(Ordering::SeqCst) && self.undelivered.load(Ordering::SeqCst) == 0
    }
}

#[derive(Default)]
struct Registry {
    /// Set once the runtime asked for its first invocation: Lambda's init phase is over.
    closed: bool,
    extensions: Vec<(Uuid, Arc<Registered>)>,
}

/// The extensions of one execution environment.
pub(crate) struct Extensions {
    function_name: String,
    logs: Arc<LogSink>,
    registry: Mutex<Registry>,
    readiness: Readiness,
}

impl Extensions {
    pub(crate) fn new(function_name: impl Into<String>, logs: Arc<LogSink>) -> Self {
        Self {
            function_name: function_name.into(),
            logs,
            registry: Mutex::default(),
            readiness: Readiness::default(),
        }
    }

    /// The change counter shared with the runtime's own `next` (see [`crate::readiness`]).
    pub(crate) fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Every registered extension is waiting in `event/next` with no event pending: what Lambda
    /// waits for before it ends Init or an Invoke phase.
    pub(crate) fn all_ready(&self) -> bool {
        self.lock().extensions.iter().all(|(_, e)| e.is_ready())
    }

    /// Waits until [`Extensions::all_ready`] holds.
    pub(crate) async fn until_all_ready(&self) {
        self.readiness.until(|| self.all_ready()).await;
    }

    /// How long the shutdown phase may take: nothing without extensions (Lambda then sends no
    /// SIGTERM at all, only SIGKILL), [`INTERNAL_EXTENSIONS_SHUTDOWN`] with any.
    pub(crate) fn shutdown_budget(&self) -> Duration {
        if self.lock().extensions.is_empty() {
            Duration::ZERO
        } else {
            INTERNAL_EXTENSIONS_SHUTDOWN
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().expect("extensions lock")
    }

    /// Ends the init phase: later registrations are refused, as Lambda refuses them, and the
    /// registered extensions are logged (once) as Lambda logs them.
    pub(crate) fn close_registration(&self) {
        let mut registry = self.lock();
        if std::mem::replace(&mut registry.closed, true) {
            return;
        }
        for (_, extension) in &registry.extensions {
            let events: Vec<&str> = extension.events.iter().map(|e| e.as_str()).collect();
            let line = format!(
                "EXTENSION\tName: {}\tState: Ready\tEvents: [{}]",
                extension.name,
                events.join(",")
            );
            self.logs.line(&self.function_name, None, &line);
        }
    }

    /// Names of the registered extensions, in registration order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.lock()
            .extensions
            .iter()
            .map(|(_, e)| e.name.clone())
            .collect()
    }

    /// Tells subscribed extensions that invocation `request_id` starts.
    pub(crate) fn invoke(
        &self,
        request_id: &str,
        invoked_arn: &str,
        trace_id: &str,
        deadline_ms: u128,
    ) {
        self.publish(EventType::Invoke, || {
            json!({
                "eventType": "INVOKE",
                "deadlineMs": deadline_ms,
                "requestId": request_id,
                "invokedFunctionArn": invoked_arn,
                "tracing": { "type": "X-Amzn-Trace-Id", "value": trace_id },
            })
        });
    }

    fn publish(&self, event_type: EventType, event: impl Fn() -> Value) {
        for (_, extension) in &self.lock().extensions {
            if extension.events.contains(&event_type) {
                // Counted before it is sent, so the extension is never seen ready in between.
                extension.undelivered.fetch_add(1, Ordering::SeqCst);
                if extension.queue_tx.send(event()).is_err() {
                    extension.undelivered.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        self.readiness.bump();
    }

    fn register(&self, name: String, events: BTreeSet<EventType>) -> Result<Uuid, Refusal> {
        let mut registry = self.lock();
        if registry.closed {
            return Err(Refusal::new(
                "Extension.RegistrationClosed",
                "Extension registration closed already",
            ));
        }
        if registry.extensions.len() >= MAX_EXTENSIONS {
            return Err(Refusal::new(
                "Extension.TooManyExtensions",
                &format!("Extension limit ({MAX_EXTENSIONS}) reached"),
            ));
        }
        if registry.extensions.iter().any(|(_, e)| e.name == name) {
            return Err(Refusal::new(
                "Extension.InvalidExtensionState",
                "Extension with this name already registered",
            ));
        }
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let id = Uuid::new_v4();
        let extension = Registered {
            name,
            events,
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            parked: AtomicBool::new(false),
            undelivered: AtomicUsize::new(0),
        };
        registry.extensions.push((id, Arc::new(extension)));
        drop(registry);
        // A new extension that has not called `next` yet holds Init up.
        self.readiness.bump();
        Ok(id)
    }

    /// The extension a request names in `Lambda-Extension-Identifier`, or Lambda's refusal.
    fn caller(&self, headers: &HeaderMap) -> Result<Arc<Registered>, Refusal> {
        let Some(value) = headers.get(ID_HEADER) else {
            return Err(Refusal::new(
                "Extension.MissingExtensionIdentifier",
                "Missing Lambda-Extension-Identifier header",
            ));
        };
        let Some(id) = value.to_str().ok().and_then(|v| Uuid::parse_str(v).ok()) else {
            return Err(Refusal::new(
                "Extension.InvalidExtensionIdentifier",
                "Invalid Lambda-Extension-Identifier",
            ));
        };
        let registry = self.lock();
        match registry.extensions.iter().find(|(known, _)| *known == id) {
            Some((_, extension)) => Ok(extension.clone()),
            None => Err(Refusal::new(
                "Extension.UnknownExtensionIdentifier",
                &format!("Unknown extension {id}"),
            )),
        }
    }
}

pub(crate) fn router(extensions: Arc<Extensions>) -> Router {
    Router::new()
        .route("/2020-01-01/extension/register", post(register))
        .route("/2020-01-01/extension/event/next", get(next))
        .route("/2020-01-01/extension/init/error", post(init_error))
        .route("/2020-01-01/extension/exit/error", post(exit_error))
        .with_state(extensions)
}

#[derive(Deserialize)]
struct RegisterRequest {
    /// Absent means no subscriptions, as in Lambda.
    #[serde(default)]
    events: Vec<String>,
}

async fn register(
    State(extensions): State<Arc<Extensions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = headers
        .get(NAME_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    if name.is_empty() {
        return forbidden("Extension.InvalidExtensionName", "Empty extension name");
    }
    let request: RegisterRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return forbidden("InvalidRequestFormat", &error.to_string()),
    };
    let mut events = BTreeSet::new();
    for event in &request.events {
        match EventType::parse(event) {
            Some(event_type) => events.insert(event_type),
            None => {
                return forbidden(
                    "Extension.InvalidEventType",
                    &format!("{event}: ErrorInvalidEventType"),
                );
            }
        };
    }
    if events.contains(&EventType::Shutdown) {
        // Every extension is internal here (see the module doc); Lambda refuses this for those.
        return forbidden(
            "Extension.InvalidEventType",
            "SHUTDOWN: ErrorInvalidEventType (internal extensions cannot subscribe to SHUTDOWN)",
        );
    }
    let id = match extensions.register(name.to_owned(), events) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    tracing::debug!(function = %extensions.function_name, extension = name, events = ?request.events, "extension registered");
    let mut document = json!({
        "functionName": extensions.function_name,
        "functionVersion": "$LATEST",
        "handler": "bootstrap",
    });
    let features = headers
        .get(ACCEPT_FEATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if features
        .split(',')
        .any(|feature| feature.trim() == "accountId")
    {
        document["accountId"] = json!(ACCOUNT_ID);
    }
    let mut response = (StatusCode::OK, Json(document)).into_response();
    response.headers_mut().insert(
        ID_HEADER,
        HeaderValue::from_str(&id.to_string()).expect("a UUID is a header value"),
    );
    response
}

async fn next(State(extensions): State<Arc<Extensions>>, headers: HeaderMap) -> Response {
    let extension = match extensions.caller(&headers) {
        Ok(extension) => extension,
        Err(refusal) => return refusal.into_response(),
    };
    // The sender lives in the registry as long as the environment does, so this waits until an
    // event comes — for an extension subscribed to nothing, until the environment is torn down.
    let mut queue = extension.queue_rx.lock().await;
    let event = match queue.try_recv() {
        Ok(event) => Some(event),
        Err(_) => {
            let _parked = Parked::new(&extension.parked, &extensions.readiness);
            queue.recv().await
        }
    };
    drop(queue);
    match event {
        Some(event) => {
            extension.undelivered.fetch_sub(1, Ordering::SeqCst);
            extensions.readiness.bump();
            let mut response = Json(event).into_response();
            let event_id = HeaderValue::from_str(&Uuid::new_v4().to_string())
                .expect("a UUID is a header value");
            response
                .headers_mut()
                .insert("lambda-extension-event-identifier", event_id);
            response
        }
        None => error_response(
            StatusCode::GONE,
            "Extension.EnvironmentGone",
            "the environment shut down",
        ),
    }
}

async fn init_error(
    State(extensions): State<Arc<Extensions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    report_error(&extensions, &headers, &body, "init")
}

async fn exit_error(
    State(extensions): State<Arc<Extensions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    report_error(&extensions, &headers, &body, "exit")
}

/// `init/error` and `exit/error`: Lambda records the error type; the emulator logs it.
fn report_error(
    extensions: &Extensions,
    headers: &HeaderMap,
    body: &[u8],
    phase: &str,
) -> Response {
    let extension = match extensions.caller(headers) {
        Ok(extension) => extension,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(error_type) = headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return forbidden(
            "Extension.MissingHeader",
            "Lambda-Extension-Function-Error-Type not found",
        );
    };
    tracing::warn!(
        function = %extensions.function_name,
        extension = %extension.name,
        error_type,
        detail = %String::from_utf8_lossy(body),
        "extension reported an {phase} error"
    );
    accepted()
}

/// A call Lambda refuses with `403` and an error document.
struct Refusal {
    error_type: &'static str,
    message: String,
}

impl Refusal {
    fn new(error_type: &'static str, message: &str) -> Self {
        Self {
            error_type,
            message: message.to_owned(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error_response(StatusCode::FORBIDDEN, self.error_type, &self.message)
    }
}

fn forbidden(error_type: &'static str, message: &str) -> Response {
    Refusal::new(error_type, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(function: &str) -> Extensions {
        Extensions::new(function, Arc::new(LogSink::new(None)))
    }

    async fn serve(extensions: Arc<Extensions>) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!(
            "http://{}/2020-01-01/extension",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, router(extensions)).await });
        url
    }

    async fn register_as(url: &str, name: &str, body: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{url}/register"))
            .header("Lambda-Extension-Name", name)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn error_type(response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        let document: Value = response.json().await.unwrap();
        (
            status,
            document["errorType"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    async fn next_event(url: &str, id: &str) -> Value {
        let response = reqwest::Client::new()
            .get(format!("{url}/event/next"))
            .header("Lambda-Extension-Identifier", id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response
                .headers()
                .contains_key("lambda-extension-event-identifier")
        );
        response.json().await.unwrap()
    }

    fn id_of(response: &reqwest::Response) -> String {
        response.headers()["lambda-extension-identifier"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn registration_returns_an_identifier_and_the_functions_metadata() {
        let url = serve(Arc::new(extensions("orders"))).await;
        let response = reqwest::Client::new()
            .post(format!("{url}/register"))
            .header("Lambda-Extension-Name", "agent")
            .header("Lambda-Extension-Accept-Feature", "accountId")
            .body(r#"{"events":["INVOKE"]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(Uuid::parse_str(&id_of(&response)).is_ok());
        let document: Value = response.json().await.unwrap();
        assert_eq!(
            document,
            json!({ "functionName": "orders", "functionVersion": "$LATEST", "handler": "bootstrap", "accountId": ACCOUNT_ID })
        );
        let without_feature: Value = register_as(&url, "other", r#"{"events":[]}"#)
            .await
            .json()
            .await
            .unwrap();
        assert!(
            without_feature.get("accountId").is_none(),
            "accountId only when asked for: {without_feature}"
        );
    }

    #[tokio::test]
    async fn bad_registrations_are_refused_like_lambda() {
        let extensions = Arc::new(extensions("f"));
        let url = serve(extensions.clone()).await;
        let cases = [
            ("", r#"{"events":[]}"#, "Extension.InvalidExtensionName"),
            ("x", "not json", "InvalidRequestFormat"),
            ("x", r#"{"events":"INVOKE"}"#, "InvalidRequestFormat"),
            (
                "x",
                r#"{"events":["INVOKE","REBOOT"]}"#,
                "Extension.InvalidEventType",
            ),
            (
                "x",
                r#"{"events":["invoke"]}"#,
                "Extension.InvalidEventType",
            ),
        ];
        for (name, body, expected) in cases {
            assert_eq!(
                error_type(register_as(&url, name, body).await).await,
                (403, expected.to_owned()),
                "{name:?} {body:?}"
            );
        }
        let padding = "x".repeat(3 * 1024 * 1024);
        let oversized = register_as(
            &url,
            "big",
            &format!(r#"{{"events":[],"padding":"{padding}"}}"#),
        )
        .await;
        assert_eq!(
            oversized.status(),
            413,
            "bodies beyond the request limit are refused"
        );
        assert!(extensions.names().is_empty(), "nothing was registered");

        assert_eq!(
            register_as(&url, "dup", "{}").await.status(),
            200,
            "no events field means no subscriptions"
        );
        assert_eq!(
            error_type(register_as(&url, "dup", "{}").await).await,
            (403, "Extension.InvalidExtensionState".to_owned())
        );
        for n in 1..MAX_EXTENSIONS {
            assert_eq!(
                register_as(&url, &format!("e{n}"), "{}").await.status(),
                200
            );
        }
        assert_eq!(
            error_type(register_as(&url, "eleventh", "{}").await).await,
            (403, "Extension.TooManyExtensions".to_owned())
        );
    }

    #[tokio::test]
    async fn registration_closes_with_the_init_phase() {
        let extensions = Arc::new(extensions("f"));
        let url = serve(extensions.clone()).await;
        assert_eq!(register_as(&url, "early", "{}").await.status(), 200);
        extensions.close_registration();
        assert_eq!(
            error_type(register_as(&url, "late", "{}").await).await,
            (403, "Extension.RegistrationClosed".to_owned())
        );
        assert_eq!(extensions.names(), ["early"]);
    }

    #[tokio::test]
    async fn next_delivers_only_subscribed_events_in_order() {
        let extensions = Arc::new(extensions("f"));
        let url = serve(extensions.clone()).await;
        let invoked = id_of(&register_as(&url, "invoked", r#"{"events":["INVOKE"]}"#).await);
        let nothing = id_of(&register_as(&url, "nothing", r#"{"events":[]}"#).await);

        extensions.invoke(
            "req-1",
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            "Root=1-abc",
            42,
        );
        extensions.invoke("req-2", "arn", "Root=1-def", 43);
        let invoke = next_event(&url, &invoked).await;
        assert_eq!(
            invoke,
            json!({
                "eventType": "INVOKE",
                "deadlineMs": 42,
                "requestId": "req-1",
                "invokedFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                "tracing": { "type": "X-Amzn-Trace-Id", "value": "Root=1-abc" },
            })
        );
        assert_eq!(next_event(&url, &invoked).await["requestId"], "req-2");
        // An extension subscribed to nothing was given nothing: its `next` would wait on.
        let registry = extensions.lock();
        let (_, quiet) = registry
            .extensions
            .iter()
            .find(|(id, _)| id.to_string() == nothing)
            .unwrap();
        assert!(
            quiet.queue_rx.try_lock().unwrap().try_recv().is_err(),
            "no event for an extension subscribed to none"
        );
    }

    #[tokio::test]
    async fn internal_extensions_may_not_subscribe_to_shutdown() {
        let extensions = Arc::new(extensions("f"));
        let url = serve(extensions.clone()).await;
        for body in [
            r#"{"events":["SHUTDOWN"]}"#,
            r#"{"events":["INVOKE","SHUTDOWN"]}"#,
        ] {
            assert_eq!(
                error_type(register_as(&url, "agent", body).await).await,
                (403, "Extension.InvalidEventType".to_owned()),
                "{body}"
            );
        }
        assert!(extensions.names().is_empty());
    }

    #[tokio::test]
    async fn extensions_are_ready_only_while_parked_in_next_with_nothing_pending() {
        let extensions = Arc::new(extensions("f"));
        let url = serve(extensions.clone()).await;
        assert!(extensions.all_ready(), "no extensions hold nothing up");
        assert_eq!(
            extensions.shutdown_budget(),
            Duration::ZERO,
            "no extension: SIGKILL at once"
        );
        let id = id_of(&register_as(&url, "agent", r#"{"events":["INVOKE"]}"#).await);
        assert!(
            !extensions.all_ready(),
            "registered but never called next: Init cannot end"
        );
        assert_eq!(extensions.shutdown_budget(), INTERNAL_EXTENSIONS_SHUTDOWN);

        let poll = {
            let (url, id) = (url.clone(), id.clone());
            tokio::spawn(async move { next_event(&url, &id).await })
        };
        tokio::time::timeout(Duration::from_secs(5), extensions.until_all_ready())
            .await
            .expect("parked in next");
        extensions.invoke("req-1", "arn", "Root=1-abc", 42);
        assert!(
            !extensions.all_ready(),
            "an INVOKE not yet taken back to next keeps the environment busy"
        );
        assert_eq!(poll.await.unwrap()["requestId"], "req-1");
        assert!(
            !extensions.all_ready(),
            "handed the event, not back in next yet"
        );
        let again = tokio::spawn(async move { next_event(&url, &id).await });
        tokio::time::timeout(Duration::from_secs(5), extensions.until_all_ready())
            .await
            .expect("back in next");
        again.abort();
    }

    #[tokio::test]
    async fn identifiers_that_are_missing_malformed_or_unknown_are_forbidden() {
        let extensions = Arc::new(extensions("f"));
        let url = serve(extensions.clone()).await;
        let client = reqwest::Client::new();
        let known = id_of(&register_as(&url, "known", "{}").await);
        for endpoint in ["event/next", "init/error", "exit/error"] {
            let request = |id: Option<&str>| {
                let builder = if endpoint == "event/next" {
                    client.get(format!("{url}/{endpoint}"))
                } else {
                    client.post(format!("{url}/{endpoint}"))
                };
                let builder =
                    builder.header("Lambda-Extension-Function-Error-Type", "Extension.Crash");
                match id {
                    Some(id) => builder.header("Lambda-Extension-Identifier", id),
                    None => builder,
                }
            };
            for (id, expected) in [
                (None, "Extension.MissingExtensionIdentifier"),
                (Some("not-a-uuid"), "Extension.InvalidExtensionIdentifier"),
                (
                    Some("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
                    "Extension.UnknownExtensionIdentifier",
                ),
            ] {
                assert_eq!(
                    error_type(request(id).send().await.unwrap()).await,
                    (403, expected.to_owned()),
                    "{endpoint} {id:?}"
                );
            }
            if endpoint != "event/next" {
                let accepted = request(Some(&known))
                    .body("{\"errorMessage\":\"boom\"}")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(accepted.status(), 202, "{endpoint}");
                let no_type = client
                    .post(format!("{url}/{endpoint}"))
                    .header("Lambda-Extension-Identifier", &known)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    error_type(no_type).await,
                    (403, "Extension.MissingHeader".to_owned())
                );
            }
        }
    }
}
