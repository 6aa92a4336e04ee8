//! `POST /orders` through API Gateway's HTTP API (payload format 2.0): a plain async function
//! from the request event to the response event, so it is tested without any network.
//!
//! Checks run cheapest-first and an unauthenticated caller learns nothing about validation:
//! route (404/405) → body size (413) → signature (401) → content type (415) → order (400) →
//! start (202 new, 200 duplicate, 409 conflict, 503 Temporal unavailable with `Retry-After`).
//! Every answer carries the request's `ingestId` (a ULID, also in the logs).

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderMap, Method};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;
use ulid::Ulid;

use crate::auth::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::config::{Auth, IngestConfig, MAX_BODY_BYTES};
use crate::ingest::{Ingested, Source, field_errors, ingest};
use crate::problem::{Problem, ProblemKind, json_response};
use crate::starter::OrderStarter;

/// The one route this function serves.
pub const ORDERS_PATH: &str = "/orders";

/// Answers one HTTP API request.
pub async fn handle(
    config: &IngestConfig,
    starter: &impl OrderStarter,
    request: &ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let ingest_id = Ulid::new();
    match accept(config, starter, request, ingest_id).await {
        Ok(response) => response,
        Err(problem) => problem
            .with("ingestId", ingest_id.to_string())
            .into_response(),
    }
}

async fn accept(
    config: &IngestConfig,
    starter: &impl OrderStarter,
    request: &ApiGatewayV2httpRequest,
    ingest_id: Ulid,
) -> Result<ApiGatewayV2httpResponse, Problem> {
    let path = request
        .raw_path
        .as_deref()
        .or(request.request_context.http.path.as_deref())
        .unwrap_or("/");
    if path != ORDERS_PATH {
        return Err(Problem::new(
            ProblemKind::NotFound,
            format!("{path} is not served here; orders go to POST {ORDERS_PATH}"),
        ));
    }
    if request.request_context.http.method != Method::POST {
        let method = &request.request_context.http.method;
        return Err(Problem::new(
            ProblemKind::MethodNotAllowed,
            format!("{method} {ORDERS_PATH} is not supported"),
        )
        .allow("POST"));
    }
    let body = body_bytes(request)?;
    if let Auth::Required(secret) = &config.auth {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        auth::verify(
            secret,
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            &body,
            auth::unix_now(),
        )
        .map_err(|e| Problem::new(ProblemKind::Unauthorized, e.to_string()))?;
    }
    check_content_type(&request.headers)?;
    let accepted = |status: u16, started: shared::orders::Started, duplicate: bool| {
        let body = json!({
            "workflowId": started.workflow_id,
            "runId": started.run_id,
            "ingestId": ingest_id.to_string(),
            "duplicate": duplicate,
        });
        json_response(status, "application/json", &body, HeaderMap::new())
    };
    match ingest(starter, &body, ingest_id, Source::Http).await {
        Ingested::Started(started) => Ok(accepted(202, started, false)),
        Ingested::Duplicate(started) => Ok(accepted(200, started, true)),
        Ingested::Rejected(rejection) => {
            let kind = match rejection {
                shared::OrderRejection::Malformed { .. } => ProblemKind::MalformedJson,
                shared::OrderRejection::Invalid(_) => ProblemKind::InvalidOrder,
            };
            let errors = field_errors(&rejection);
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

/// The body as bytes: API Gateway base64-encodes bodies that are not text. Too large → 413.
fn body_bytes(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, Problem> {
    let too_large = || {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
        .with("limit", MAX_BODY_BYTES)
    };
    let text = request.body.as_deref().unwrap_or_default();
    if !request.is_base64_encoded {
        return if text.len() > MAX_BODY_BYTES {
            Err(too_large())
        } else {
            Ok(text.as_bytes().to_vec())
        };
    }
    // Checked before decoding, so an enormous body is never decoded.
    if text.len() > MAX_BODY_BYTES.div_ceil(3) * 4 {
        return Err(too_large());
    }
    let bytes = BASE64
        .decode(text)
        .map_err(|_| Problem::new(ProblemKind::MalformedJson, "the body is not valid base64"))?;
    if bytes.len() > MAX_BODY_BYTES {
        Err(too_large())
    } else {
        Ok(bytes)
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
    use aws_lambda_events::encodings::Body;
    use serde_json::Value;
    use shared::domain::sample_order_json;

    use super::*;
    use crate::auth::Secret;
    use crate::starter::fake::FakeStarter;

    fn secret() -> Secret {
        Secret::new("unit-secret").unwrap()
    }

    fn config() -> IngestConfig {
        IngestConfig::with_secret(secret())
    }

    fn event(
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
        base64: bool,
    ) -> ApiGatewayV2httpRequest {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone().into()))
            .collect();
        serde_json::from_value(json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": { "http": { "method": method, "path": path }, "requestId": "r", "timeEpoch": 0 },
            "body": body,
            "isBase64Encoded": base64,
        }))
        .unwrap()
    }

    /// A signed `POST /orders` with a JSON content type.
    fn post(body: &str) -> ApiGatewayV2httpRequest {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        headers.extend(auth::signed_headers(&secret(), body.as_bytes()).map(|(k, v)| (k, v)));
        event("POST", ORDERS_PATH, &headers, body, false)
    }

    fn json_body(response: &ApiGatewayV2httpResponse) -> Value {
        match &response.body {
            Some(Body::Text(text)) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    fn problem_type(response: &ApiGatewayV2httpResponse) -> String {
        assert_eq!(response.headers["content-type"], "application/problem+json");
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
        let first = handle(&config(), &starter, &post(&body)).await;
        assert_eq!(first.status_code, 202);
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
            &post(&serde_json::to_string_pretty(&same).unwrap()),
        )
        .await;
        assert_eq!(again.status_code, 200);
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
        let conflict = handle(&config(), &starter, &post(&changed.to_string())).await;
        assert_eq!(conflict.status_code, 409);
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
        let response = handle(&config(), &starter, &post(&v.to_string())).await;
        assert_eq!(response.status_code, 400);
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
            let response = handle(&config(), &starter, &post(bad)).await;
            assert_eq!(
                (response.status_code, problem_type(&response)),
                (400, "malformed-json".into()),
                "{bad:?}"
            );
            assert_eq!(json_body(&response)["errors"][0]["rule"], rule, "{bad:?}");
        }
        v = serde_json::from_str(&sample_order_json("A-3")).unwrap();
        v["discount"] = 100.into();
        let unknown = handle(&config(), &starter, &post(&v.to_string())).await;
        assert_eq!(unknown.status_code, 400);
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
                h.extend(auth::signed_headers(
                    &Secret::new("other").unwrap(),
                    body.as_bytes(),
                ));
                h
            },
        ];
        for headers in cases {
            let response = handle(
                &config(),
                &starter,
                &event("POST", ORDERS_PATH, &headers, &body, false),
            )
            .await;
            assert_eq!(
                (response.status_code, problem_type(&response)),
                (401, "unauthorized".into()),
                "{headers:?}"
            );
            assert!(response.headers.contains_key("www-authenticate"));
        }
        // A signature over other bytes (the body was changed in transit):
        let mut tampered = post(&body);
        tampered.body = Some(body.replace("Berlin", "Paris"));
        assert_eq!(
            handle(&config(), &starter, &tampered).await.status_code,
            401
        );
        assert_eq!(starter.count(), 0);

        let open = IngestConfig {
            auth: Auth::Off,
            ..config()
        };
        let unsigned = handle(
            &open,
            &starter,
            &event("POST", ORDERS_PATH, &[json_type], &body, false),
        )
        .await;
        assert_eq!(unsigned.status_code, 202);
    }

    #[tokio::test]
    async fn content_type_size_route_and_method_are_checked() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-5");
        let with_type = |content_type: Option<&str>| {
            let mut request = post(&body);
            request.headers.remove("content-type");
            if let Some(t) = content_type {
                request.headers.insert("content-type", t.parse().unwrap());
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
            let response = handle(&config(), &starter, &with_type(bad)).await;
            assert_eq!(
                (response.status_code, problem_type(&response)),
                (415, "unsupported-media-type".into()),
                "{bad:?}"
            );
        }
        let ok = handle(
            &config(),
            &starter,
            &with_type(Some("Application/JSON; charset=\"UTF-8\"")),
        )
        .await;
        assert_eq!(ok.status_code, 202);

        let huge = format!("{{\"orderId\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let response = handle(&config(), &starter, &post(&huge)).await;
        assert_eq!(
            (response.status_code, problem_type(&response)),
            (413, "payload-too-large".into())
        );
        let mut encoded = post("");
        encoded.body = Some(BASE64.encode(vec![b' '; MAX_BODY_BYTES + 1]));
        encoded.is_base64_encoded = true;
        assert_eq!(handle(&config(), &starter, &encoded).await.status_code, 413);

        let not_found = handle(
            &config(),
            &starter,
            &event("POST", "/orders/1", &[], "", false),
        )
        .await;
        assert_eq!(
            (not_found.status_code, problem_type(&not_found)),
            (404, "not-found".into())
        );
        let method = handle(
            &config(),
            &starter,
            &event("GET", ORDERS_PATH, &[], "", false),
        )
        .await;
        assert_eq!(
            (
                method.status_code,
                method.headers["allow"].to_str().unwrap()
            ),
            (405, "POST")
        );
    }

    #[tokio::test]
    async fn base64_bodies_are_decoded_before_the_signature_is_checked() {
        let starter = FakeStarter::default();
        let body = sample_order_json("A-6");
        let mut request = post(&body);
        request.body = Some(BASE64.encode(body.as_bytes()));
        request.is_base64_encoded = true;
        assert_eq!(handle(&config(), &starter, &request).await.status_code, 202);
        // API Gateway itself encodes, so broken base64 is a broken integration, not a client.
        request.body = Some("***not base64***".into());
        assert_eq!(handle(&config(), &starter, &request).await.status_code, 400);
    }

    #[tokio::test]
    async fn temporal_down_is_a_503_with_retry_after_and_a_retry_succeeds() {
        let starter = FakeStarter::default();
        starter.set_down(true);
        let body = sample_order_json("A-7");
        let response = handle(&config(), &starter, &post(&body)).await;
        assert_eq!(
            (response.status_code, problem_type(&response)),
            (503, "temporarily-unavailable".into())
        );
        assert_eq!(response.headers["retry-after"], "5");
        starter.set_down(false);
        assert_eq!(
            handle(&config(), &starter, &post(&body)).await.status_code,
            202
        );
    }
}
