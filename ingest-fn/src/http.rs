//! `POST /orders` through API Gateway's HTTP API (payload format 2.0), on `lambda_http`.
//!
//! [`handle`] is a plain async function from an `http::Request` to an `http::Response`, tested
//! with `http::Request::builder()` and no network. [`invoke`] is the Lambda side: it hands the
//! API Gateway event to `lambda_http`'s `Adapter` (what `lambda_http::run` uses), which converts
//! it to the request — setting the X-Ray trace header and the Lambda context
//! (`RequestExt::lambda_context_ref`) — and converts the answer back to the 2.0 response. The
//! function does not use `lambda_http::run` because the same runtime loop also takes SQS batches
//! ([`crate::app`]).
//!
//! One thing is checked on the raw event first ([`screen`]): `lambda_http` decodes a base64 body
//! while converting, before any size check, and panics on invalid base64. So a base64 body longer
//! than the encoded limit, or one that is not base64, is set aside before the conversion and the
//! verdict reaches [`handle`] as a request extension ([`RefusedBody`]); hostile input never
//! panics the function and an enormous body is never decoded.
//!
//! Checks run cheapest-first and an unauthenticated caller learns nothing about validation:
//! route (404/405) → body size (413) → signature (401) → content type (415) → order (400) →
//! start (202 new, 200 duplicate, 409 conflict, 503 Temporal unavailable with `Retry-After`).
//! Every answer carries the request's `ingestId` (a ULID), and every request is logged under it
//! once: a refusal here with its problem type, an order in [`crate::ingest`].

use std::convert::Infallible;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::http::uri::PathAndQuery;
use lambda_http::http::{HeaderMap, Method, header};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, Context, LambdaEvent, Request, RequestExt, Response, Service};
use serde_json::{Value, json};
use ulid::Ulid;

use crate::config::{Auth, IngestConfig, MAX_BODY_BYTES};
use crate::ingest::{Ingested, Rejection, RejectionKind, Source, ingest, reason};
use crate::problem::{Problem, ProblemKind, json_response};
use crate::starter::OrderStarter;
use shared::signing::{self as auth, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The one route this function serves.
pub const ORDERS_PATH: &str = "/orders";

/// The longest base64 text that can decode to at most [`MAX_BODY_BYTES`].
pub const MAX_ENCODED_BODY_BYTES: usize = MAX_BODY_BYTES.div_ceil(3) * 4;

/// One HTTP API invocation: the API Gateway event in, the payload 2.0 response out (as JSON).
pub async fn invoke(
    config: &IngestConfig,
    starter: &impl OrderStarter,
    mut event: ApiGatewayV2httpRequest,
    context: Context,
) -> Value {
    let mut refused = screen(&mut event);
    let service = lambda_http::service_fn(|mut request: Request| {
        if let Some(refused) = refused.take() {
            request.extensions_mut().insert(refused);
        }
        async move { Ok::<_, Infallible>(handle(config, starter, request).await) }
    });
    let answer = Adapter::from(service)
        .call(LambdaEvent::new(
            LambdaRequest::ApiGatewayV2(event),
            context,
        ))
        .await;
    let Ok(answer) = answer;
    // The 2.0 response is plain data; serializing it cannot fail.
    serde_json::to_value(answer).expect("the HTTP API response serializes")
}

/// A body set aside by [`screen`] before `lambda_http` would have decoded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBody {
    /// Base64 text longer than [`MAX_ENCODED_BODY_BYTES`]: 413.
    TooLarge,
    /// Marked base64 but is not: 400 (API Gateway encodes bodies itself, so this is a broken
    /// integration rather than a client, but it must not take the function down).
    NotBase64,
}

/// Readies a raw event for `lambda_http`'s conversion, which unwraps on input API Gateway
/// itself never sends but a hostile caller of a looser front (or a hand-made event) can: sets
/// aside a base64 body it must not decode (and says why), and keeps only the path of the URI.
pub fn screen(event: &mut ApiGatewayV2httpRequest) -> Option<RefusedBody> {
    keep_only_the_path(event);
    if !event.is_base64_encoded {
        return None;
    }
    let text = event.body.as_deref().unwrap_or_default();
    let refused = if text.len() > MAX_ENCODED_BODY_BYTES {
        RefusedBody::TooLarge
    } else if BASE64.decode(text).is_err() {
        // The same engine `Body::from_maybe_encoded` decodes with (and unwraps).
        RefusedBody::NotBase64
    } else {
        return None;
    };
    event.body = None;
    event.is_base64_encoded = false;
    Some(refused)
}

/// `lambda_http` builds the request URI as `{X-Forwarded-Proto}://{Host or domainName}`
/// `{stage}{rawPath}?{rawQueryString}` and unwraps parsing it. This function routes on the path
/// alone, so everything else of the URI is dropped before the conversion — whatever a caller
/// puts there cannot make it panic — and a path that does not parse as one becomes none (→ 404
/// for `/`).
fn keep_only_the_path(event: &mut ApiGatewayV2httpRequest) {
    event.headers.remove(header::HOST);
    event.headers.remove("x-forwarded-proto");
    event.request_context.domain_name = None;
    event.request_context.stage = None;
    event.raw_query_string = None;
    if event
        .raw_path
        .as_deref()
        .is_some_and(|p| !p.starts_with('/') || p.parse::<PathAndQuery>().is_err())
    {
        event.raw_path = None;
    }
}

/// Answers one `POST /orders` request.
pub async fn handle(
    config: &IngestConfig,
    starter: &impl OrderStarter,
    request: Request,
) -> Response<Body> {
    let ingest_id = Ulid::new();
    match accept(config, starter, &request, ingest_id).await {
        Ok(response) => response,
        Err(problem) => {
            // A 503 was logged by `ingest` with Temporal's error; every other refusal is logged
            // here, once, so that the ingest ID a caller got always leads to a log line.
            if problem.kind != ProblemKind::Unavailable {
                tracing::info!(
                    %ingest_id,
                    source = "http",
                    status = problem.kind.status(),
                    problem = problem.kind.slug(),
                    detail = %problem.detail,
                    errors = %reason(&problem.errors),
                    "request refused"
                );
            }
            problem
                .with("ingestId", ingest_id.to_string())
                .into_response()
        }
    }
}

async fn accept(
    config: &IngestConfig,
    starter: &impl OrderStarter,
    request: &Request,
    ingest_id: Ulid,
) -> Result<Response<Body>, Problem> {
    // The path the client asked for: API Gateway's `rawPath` (without the `/{stage}` prefix
    // `lambda_http` adds to the URI for a named stage); a request built by hand has only a URI.
    let path = match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    };
    if path != ORDERS_PATH {
        return Err(Problem::new(
            ProblemKind::NotFound,
            format!("{path} is not served here; orders go to POST {ORDERS_PATH}"),
        ));
    }
    if request.method() != Method::POST {
        let method = request.method();
        return Err(Problem::new(
            ProblemKind::MethodNotAllowed,
            format!("{method} {ORDERS_PATH} is not supported"),
        )
        .allow("POST"));
    }
    let body = body_bytes(request)?;
    if let Auth::Required(secret) = &config.auth {
        // Every value of a repeated header: a sender rotating its secret may send two signature
        // headers instead of one comma-separated list. Values that are not text are skipped
        // (a missing header is reported as missing).
        let header = |name: &str| {
            request
                .headers()
                .get_all(name)
                .into_iter()
                .filter_map(|v| v.to_str().ok())
        };
        auth::verify(
            secret,
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            body,
            auth::unix_now(),
        )
        .map_err(|e| Problem::new(ProblemKind::Unauthorized, e.to_string()))?;
    }
    check_content_type(request.headers())?;
    let accepted = |status: u16, started: shared::orders::Started, duplicate: bool| {
        let body = json!({
            "workflowId": started.workflow_id,
            "runId": started.run_id,
            "ingestId": ingest_id.to_string(),
            "duplicate": duplicate,
        });
        json_response(status, "application/json", &body, HeaderMap::new())
    };
    match ingest(starter, body, ingest_id, Source::Http).await {
        Ingested::Started(started) => Ok(accepted(202, started, false)),
        Ingested::Duplicate(started) => Ok(accepted(200, started, true)),
        Ingested::Rejected(Rejection { kind, errors }) => {
            let kind = match kind {
                RejectionKind::Malformed => ProblemKind::MalformedJson,
                RejectionKind::Invalid => ProblemKind::InvalidOrder,
            };
            let detail = match errors.len() {
                1 => "1 field error; see errors".to_owned(),
                n => format!("{n} field errors; see errors"),
            };
            Err(Problem::new(kind, detail).with_errors(errors))
        }
        Ingested::Conflict { workflow_id, run_id } => Err(Problem::new(
            ProblemKind::OrderConflict,
            format!("{workflow_id} was started with different order contents; use a new orderId for a different order"),
        )
        .with("workflowId", workflow_id)
        .with("runId", run_id.unwrap_or_default())),
        Ingested::Unavailable(_) => Err(Problem::new(
            ProblemKind::Unavailable,
            "the order could not be started; nothing was recorded, so the same request can be retried",
        )
        .retry_after(config.retry_after_secs)),
    }
}

/// The body's bytes (`lambda_http` decoded a base64 body already). Too large → 413.
fn body_bytes(request: &Request) -> Result<&[u8], Problem> {
    let too_large = || {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
        .with("limit", MAX_BODY_BYTES)
    };
    match request.extensions().get::<RefusedBody>() {
        Some(RefusedBody::TooLarge) => return Err(too_large()),
        Some(RefusedBody::NotBase64) => {
            return Err(Problem::new(
                ProblemKind::MalformedJson,
                "the body is not valid base64",
            ));
        }
        None => {}
    }
    let body: &[u8] = request.body();
    if body.len() > MAX_BODY_BYTES {
        Err(too_large())
    } else {
        Ok(body)
    }
}

/// `application/json`, optionally with `charset=utf-8` (JSON is UTF-8 by definition, RFC 8259).
fn check_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let unsupported = |what: &str| {
        Problem::new(
            ProblemKind::UnsupportedMediaType,
            format!("{what}; send Content-Type: application/json"),
        )
    };
    let Some(value) = headers.get("content-type") else {
        return Err(unsupported("the Content-Type header is missing"));
    };
    let value = value
        .to_str()
        .map_err(|_| unsupported("the Content-Type header is not ASCII"))?;
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(unsupported(&format!("{essence:?} is not supported")));
    }
    for parameter in parts.filter(|p| !p.is_empty()) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim_matches('"');
        if !(name.trim().eq_ignore_ascii_case("charset") && value.eq_ignore_ascii_case("utf-8")) {
            return Err(unsupported(&format!(
                "the parameter {parameter:?} is not supported"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use shared::domain::sample_order_json;

    use super::*;
    use crate::starter::fake::FakeStarter;
    use shared::signing::Secret;

    fn secret() -> Secret {
        Secret::new("unit-secret-unit-secret-unit-secret!").unwrap()
    }

    fn config() -> IngestConfig {
        IngestConfig::with_secret(secret())
    }

    /// A request as `lambda_http` hands it over.
    fn request(method: &str, path: &str, headers: &[(&str, String)], body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://api.example.com{path}"));
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        builder.body(Body::from(body)).unwrap()
    }

    /// A signed `POST /orders` with a JSON content type.
    fn post(body: &str) -> Request {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        headers.extend(auth::signed_headers(&secret(), body.as_bytes()));
        request("POST", ORDERS_PATH, &headers, body)
    }

    fn json_body(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    fn problem_type(response: &Response<Body>) -> String {
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        json_body(response)["type"]
            .as_str()
            .unwrap()
            .trim_start_matches(crate::problem::PROBLEM_BASE)
            .to_owned()
    }

    #[tokio::test]
    async fn a_valid_order_starts_once_a_duplicate_points_at_it_and_a_changed_one_conflicts() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-1");
        let first = handle(&config(), &starter, post(&body)).await;
        assert_eq!(first.status(), 202);
        let first = json_body(&first);
        assert_eq!(
            (first["workflowId"].as_str(), first["duplicate"].as_bool()),
            (Some("order-A-1"), Some(false))
        );
        assert!(first["ingestId"].as_str().unwrap().parse::<Ulid>().is_ok());
        assert!(!first["runId"].as_str().unwrap().is_empty());

        // Same order, other key order and spacing: still the same order.
        let same: Value = serde_json::from_str(&body).unwrap();
        let again = handle(
            &config(),
            &starter,
            post(&serde_json::to_string_pretty(&same).unwrap()),
        )
        .await;
        assert_eq!(again.status(), 200);
        let again = json_body(&again);
        assert_eq!(
            (
                again["workflowId"].clone(),
                again["runId"].clone(),
                again["duplicate"].as_bool()
            ),
            (
                first["workflowId"].clone(),
                first["runId"].clone(),
                Some(true)
            )
        );
        assert_ne!(
            again["ingestId"], first["ingestId"],
            "each request has its own ingest ID"
        );

        let mut changed = same.clone();
        changed["items"][0]["quantity"] = 3.into();
        let conflict = handle(&config(), &starter, post(&changed.to_string())).await;
        assert_eq!(conflict.status(), 409);
        assert_eq!(problem_type(&conflict), "order-conflict");
        assert_eq!(json_body(&conflict)["workflowId"], "order-A-1");
        assert_eq!(starter.count(), 1);
    }

    #[tokio::test]
    async fn invalid_orders_list_every_field_error_and_start_nothing() {
        let starter = FakeStarter::default();
        let mut v: Value = serde_json::from_str(&sample_order_json("A-2")).unwrap();
        v["currency"] = "usd".into();
        v["customer"]["email"] = "nope".into();
        v["items"][1]["quantity"] = 0.into();
        let response = handle(&config(), &starter, post(&v.to_string())).await;
        assert_eq!(response.status(), 400);
        assert_eq!(problem_type(&response), "invalid-order");
        let body = json_body(&response);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["currency", "customer.email", "items[1].quantity"]);
        assert!(
            body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["rule"].is_string() && e["message"].is_string())
        );

        for (bad, rule) in [("{", "syntax"), ("[]", "type"), ("", "syntax")] {
            let response = handle(&config(), &starter, post(bad)).await;
            assert_eq!(
                (response.status().as_u16(), problem_type(&response)),
                (400, "malformed-json".into()),
                "{bad:?}"
            );
            assert_eq!(json_body(&response)["errors"][0]["rule"], rule, "{bad:?}");
        }
        v = serde_json::from_str(&sample_order_json("A-3")).unwrap();
        v["discount"] = 100.into();
        let unknown = handle(&config(), &starter, post(&v.to_string())).await;
        assert_eq!(unknown.status(), 400);
        assert_eq!(json_body(&unknown)["errors"][0]["rule"], "unknownField");
        assert_eq!(starter.count(), 0);
    }

    #[tokio::test]
    async fn signatures_are_required_unless_auth_is_off() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-4");
        let json_type = ("content-type", "application/json".to_owned());
        let stale = auth::unix_now() - auth::MAX_SKEW_SECS - 5;
        let cases = [
            vec![json_type.clone()],
            vec![
                json_type.clone(),
                (TIMESTAMP_HEADER, auth::unix_now().to_string()),
            ],
            vec![
                json_type.clone(),
                (TIMESTAMP_HEADER, auth::unix_now().to_string()),
                (SIGNATURE_HEADER, "v1=00".into()),
            ],
            vec![
                json_type.clone(),
                (TIMESTAMP_HEADER, stale.to_string()),
                (
                    SIGNATURE_HEADER,
                    auth::sign(&secret(), stale, body.as_bytes()),
                ),
            ],
            {
                let mut h = vec![json_type.clone()];
                h.extend(auth::signed_headers(&Secret::random(), body.as_bytes()));
                h
            },
        ];
        for headers in cases {
            let response = handle(
                &config(),
                &starter,
                request("POST", ORDERS_PATH, &headers, &body),
            )
            .await;
            assert_eq!(
                (response.status().as_u16(), problem_type(&response)),
                (401, "unauthorized".into()),
                "{headers:?}"
            );
            assert!(response.headers().contains_key("www-authenticate"));
        }
        // A signature over other bytes (the body was changed in transit):
        let mut tampered = post(&body);
        *tampered.body_mut() = Body::from(body.replace("Berlin", "Paris"));
        assert_eq!(handle(&config(), &starter, tampered).await.status(), 401);
        assert_eq!(starter.count(), 0);

        let open = IngestConfig {
            auth: Auth::Off,
            ..config()
        };
        let unsigned = handle(
            &open,
            &starter,
            request("POST", ORDERS_PATH, &[json_type], &body),
        )
        .await;
        assert_eq!(unsigned.status(), 202);
    }

    #[tokio::test]
    async fn during_a_rotation_either_of_two_signature_headers_may_match() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-6");
        let now = auth::unix_now();
        let old = auth::sign(&Secret::random(), now, body.as_bytes());
        let new = auth::sign(&secret(), now, body.as_bytes());
        let signed_by = |signatures: &[&String]| {
            let mut headers = vec![
                ("content-type", "application/json".to_owned()),
                (TIMESTAMP_HEADER, now.to_string()),
            ];
            headers.extend(signatures.iter().map(|s| (SIGNATURE_HEADER, (*s).clone())));
            request("POST", ORDERS_PATH, &headers, &body)
        };
        assert_eq!(
            handle(&config(), &starter, signed_by(&[&old, &old]))
                .await
                .status(),
            401
        );
        assert_eq!(starter.count(), 0);
        assert_eq!(
            handle(&config(), &starter, signed_by(&[&old, &new]))
                .await
                .status(),
            202
        );
        assert_eq!(
            handle(&config(), &starter, signed_by(&[&new, &old]))
                .await
                .status(),
            200
        );
        assert_eq!(starter.count(), 1);
    }

    #[tokio::test]
    async fn content_type_size_route_and_method_are_checked() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-5");
        let with_type = |content_type: Option<&str>| {
            let mut request = post(&body);
            request.headers_mut().remove("content-type");
            if let Some(t) = content_type {
                request
                    .headers_mut()
                    .insert("content-type", t.parse().unwrap());
            }
            request
        };
        for bad in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/json; charset=latin1"),
            Some("application/jsonx"),
        ] {
            let response = handle(&config(), &starter, with_type(bad)).await;
            assert_eq!(
                (response.status().as_u16(), problem_type(&response)),
                (415, "unsupported-media-type".into()),
                "{bad:?}"
            );
        }
        let ok = handle(
            &config(),
            &starter,
            with_type(Some("Application/JSON; charset=\"UTF-8\"")),
        )
        .await;
        assert_eq!(ok.status(), 202);

        let huge = format!("{{\"orderId\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let response = handle(&config(), &starter, post(&huge)).await;
        assert_eq!(
            (response.status().as_u16(), problem_type(&response)),
            (413, "payload-too-large".into())
        );
        let not_found = handle(&config(), &starter, request("POST", "/orders/1", &[], "")).await;
        assert_eq!(
            (not_found.status().as_u16(), problem_type(&not_found)),
            (404, "not-found".into())
        );
        let method = handle(&config(), &starter, request("GET", ORDERS_PATH, &[], "")).await;
        assert_eq!(
            (
                method.status().as_u16(),
                method.headers()["allow"].to_str().unwrap()
            ),
            (405, "POST")
        );
    }

    /// An HTTP API event as API Gateway sends it, for the [`invoke`] tests.
    fn event(
        method: &str,
        path: &str,
        request: &Request,
        body: &str,
        base64: bool,
    ) -> ApiGatewayV2httpRequest {
        let headers: serde_json::Map<String, Value> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().into()))
            .collect();
        serde_json::from_value(json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": { "http": { "method": method, "path": path }, "requestId": "r", "timeEpoch": 0, "stage": "$default" },
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    async fn invoke_event(starter: &FakeStarter, event: ApiGatewayV2httpRequest) -> Value {
        invoke(&config(), starter, event, Context::default()).await
    }

    #[tokio::test]
    async fn lambda_http_converts_the_event_and_the_answer() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-6");
        let signed = post(&body);
        let answer =
            invoke_event(&starter, event("POST", ORDERS_PATH, &signed, &body, false)).await;
        assert_eq!(answer["statusCode"], 202, "{answer}");
        assert_eq!(answer["headers"]["content-type"], "application/json");
        assert_eq!(answer["isBase64Encoded"], false);
        let accepted: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(accepted["workflowId"], "order-A-6");

        // A named stage: lambda_http prefixes it to the URI; the route is the raw path.
        let mut staged = event("POST", ORDERS_PATH, &post(&body), &body, false);
        staged.request_context.stage = Some("prod".into());
        let answer = invoke_event(&starter, staged).await;
        assert_eq!(answer["statusCode"], 200, "{answer}");

        let answer = invoke_event(&starter, event("GET", ORDERS_PATH, &signed, "", false)).await;
        assert_eq!(answer["statusCode"], 405);
        assert_eq!(answer["headers"]["allow"], "POST");
        assert_eq!(
            answer["headers"]["content-type"],
            "application/problem+json"
        );
    }

    #[tokio::test]
    async fn base64_bodies_are_decoded_before_the_signature_and_hostile_ones_never_panic() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-8");
        let signed = post(&body);
        let encoded = BASE64.encode(body.as_bytes());
        let answer = invoke_event(
            &starter,
            event("POST", ORDERS_PATH, &signed, &encoded, true),
        )
        .await;
        assert_eq!(answer["statusCode"], 202, "{answer}");

        // Not base64: lambda_http would panic decoding it; a 400 problem instead.
        let answer = invoke_event(
            &starter,
            event("POST", ORDERS_PATH, &signed, "***not base64***", true),
        )
        .await;
        assert_eq!(answer["statusCode"], 400, "{answer}");
        // Over the encoded limit: 413 without decoding (even if the rest is not base64).
        let huge = format!("{}!", BASE64.encode(vec![b' '; MAX_BODY_BYTES + 3]));
        assert!(huge.len() > MAX_ENCODED_BODY_BYTES);
        let answer = invoke_event(&starter, event("POST", ORDERS_PATH, &signed, &huge, true)).await;
        assert_eq!(answer["statusCode"], 413, "{answer}");
        // Within the encoded limit but decoding to more than the limit: 413 too.
        let just_over = BASE64.encode(vec![b' '; MAX_BODY_BYTES + 1]);
        assert!(just_over.len() <= MAX_ENCODED_BODY_BYTES);
        let answer = invoke_event(
            &starter,
            event("POST", ORDERS_PATH, &signed, &just_over, true),
        )
        .await;
        assert_eq!(answer["statusCode"], 413, "{answer}");
        // The route is still checked first.
        let answer = invoke_event(&starter, event("POST", "/other", &signed, &huge, true)).await;
        assert_eq!(answer["statusCode"], 404, "{answer}");
        assert_eq!(starter.count(), 1);
    }

    #[tokio::test]
    async fn hostile_uri_parts_never_panic() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-9");
        for (name, value) in [
            ("host", "a b"),
            ("host", "example.com:99999"),
            ("host", "[::1"),
            ("host", "exa mple.com/../x?y#z"),
            ("host", "999.1.1.1"),
            ("host", "example.com:0x50"),
            ("x-forwarded-proto", "a b"),
            ("x-forwarded-proto", "1http"),
            ("x-forwarded-proto", ""),
        ] {
            let mut signed = post(&body);
            signed.headers_mut().insert(name, value.parse().unwrap());
            let answer =
                invoke_event(&starter, event("POST", ORDERS_PATH, &signed, &body, false)).await;
            assert!(
                matches!(answer["statusCode"].as_u64(), Some(200 | 202)),
                "{name}: {value}: {answer}"
            );
        }
        // A rawPath that is not a path, a query that is not a query: no panic either.
        let mut odd = event("POST", ORDERS_PATH, &post(&body), &body, false);
        odd.raw_path = Some(":99999".into());
        odd.headers.remove("host");
        let answer = invoke_event(&starter, odd).await;
        assert_eq!(answer["statusCode"], 404, "{answer}");
        let mut odd = event("POST", ORDERS_PATH, &post(&body), &body, false);
        odd.request_context.domain_name = Some("a b".into());
        let answer = invoke_event(&starter, odd).await;
        assert_eq!(answer["statusCode"], 200, "{answer}");
        let mut odd = event("POST", ORDERS_PATH, &post(&body), &body, false);
        odd.raw_query_string = Some("a=\"b c\"".into());
        let answer = invoke_event(&starter, odd).await;
        assert_eq!(answer["statusCode"], 200, "{answer}");
        let mut odd = event("POST", ORDERS_PATH, &post(&body), &body, false);
        odd.request_context.stage = Some("a b".into());
        let answer = invoke_event(&starter, odd).await;
        assert_eq!(answer["statusCode"], 200, "{answer}");
        let mut odd = event("POST", ORDERS_PATH, &post(&body), &body, false);
        odd.raw_path = Some("/orders x".into());
        let answer = invoke_event(&starter, odd).await;
        assert_eq!(answer["statusCode"], 404, "{answer}");
    }

    #[tokio::test]
    async fn temporal_down_is_a_503_with_retry_after_and_a_retry_succeeds() {
        let starter = FakeStarter::default();
        starter.set_down(true);
        let body = sample_order_json("A-7");
        let response = handle(&config(), &starter, post(&body)).await;
        assert_eq!(
            (response.status().as_u16(), problem_type(&response)),
            (503, "temporarily-unavailable".into())
        );
        assert_eq!(response.headers()["retry-after"], "5");
        starter.set_down(false);
        assert_eq!(handle(&config(), &starter, post(&body)).await.status(), 202);
    }
}
