//! The HTTP API event source: an API Gateway HTTP API (payload format 2.0) in front of the
//! functions, on its own loopback listener. Routes come from the functions' `HttpApi` events;
//! a request becomes an `ApiGatewayV2httpRequest`, is invoked synchronously, and the function's
//! answer is mapped back — a structured `{statusCode, headers, body, isBase64Encoded, cookies}`
//! response, or, for any other JSON, API Gateway's 2.0 inference rule (200, `application/json`,
//! the JSON as body). A function slower than the integration timeout (30 s) gets the client a
//! 503, as API Gateway does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as EventBody;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::config::{ACCOUNT_ID, SYNC_PAYLOAD_LIMIT};
use crate::emulator::Shared;
use crate::invoke::{InvokeInput, InvokeOutcome};
use crate::pool::FunctionPool;
use crate::registry::{HttpRoute, function_arn};

/// The API id reported in `requestContext.apiId`.
const API_ID: &str = "local";

/// API Gateway HTTP API's request payload limit (AWS "Amazon API Gateway quotas": 10 MB).
const HTTP_API_PAYLOAD_LIMIT: usize = 10 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let pools = shared.registry.all();
    let Some(matched) = match_route(&pools, &parts.method, parts.uri.path()) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    // Two limits, as on AWS: API Gateway takes requests up to 10 MB, and the event built from
    // one (a base64 body is a third larger) must still fit Lambda's 6 MB invoke payload.
    let Ok(body) = axum::body::to_bytes(body, HTTP_API_PAYLOAD_LIMIT).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = build_event(&parts, body, &matched, peer, &request_id);
    let Ok(payload) = serde_json::to_vec(&event) else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    if payload.len() > SYNC_PAYLOAD_LIMIT {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    // The integration SAM creates for an `HttpApi` event names the unqualified function ARN
    // (no alias here), and that is the ARN Lambda passes on.
    let invoked_arn = function_arn(shared.registry.region(), &matched.pool.config().name);
    let mut input = InvokeInput::new(Bytes::from(payload), invoked_arn);
    input.request_id = request_id.clone();
    // Past the integration timeout the client gets its 503 while the invocation runs to its
    // end (`invoke` runs it in its own task), as API Gateway leaves the Lambda call running.
    let invoked = tokio::time::timeout(
        shared.config.http_integration_timeout,
        matched.pool.invoke(input),
    )
    .await;
    let mut response = match invoked {
        Ok(Ok(result)) => match result.outcome {
            InvokeOutcome::Success(payload) => map_response(&payload),
            InvokeOutcome::FunctionError(_) => {
                message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        },
        // API Gateway answers a throttled integration with a 5xx; 503 tells clients to retry.
        Ok(Err(_)) => message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Err(_) => {
            tracing::info!(function = %matched.pool.config().name, %request_id, timeout = ?shared.config.http_integration_timeout,
                "HTTP API integration timed out; 503 to the client, the invocation runs on");
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

/// A route that matched a request.
pub(crate) struct Matched {
    pool: Arc<FunctionPool>,
    route_key: String,
    path_parameters: HashMap<String, String>,
}

/// API Gateway's route selection: the most specific path wins (no variables, then variables,
/// then a greedy `{proxy+}`, then `$default`); a route for the method beats `ANY`.
fn match_route(pools: &[Arc<FunctionPool>], method: &Method, path: &str) -> Option<Matched> {
    let mut best: Option<((u8, usize, bool), Matched)> = None;
    for pool in pools {
        for route in &pool.config().http_routes {
            let method_matches =
                route.method == "ANY" || route.method.eq_ignore_ascii_case(method.as_str());
            if !method_matches {
                continue;
            }
            let Some((rank, parameters)) = match_path(route, path) else {
                continue;
            };
            let score = (rank, route.path.len(), route.method != "ANY");
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                let route_key = if route.path == "$default" {
                    "$default".into()
                } else {
                    format!("{} {}", route.method, route.path)
                };
                best = Some((
                    score,
                    Matched {
                        pool: pool.clone(),
                        route_key,
                        path_parameters: parameters,
                    },
                ));
            }
        }
    }
    best.map(|(_, matched)| matched)
}

/// Matches `path` against a route's path; the rank orders specificity (3 = literal).
fn match_path(route: &HttpRoute, path: &str) -> Option<(u8, HashMap<String, String>)> {
    if route.path == "$default" {
        return Some((0, HashMap::new()));
    }
    let mut parameters = HashMap::new();
    let mut rank = 3;
    let mut actual = path.trim_start_matches('/').split('/');
    let mut pattern = route.path.trim_start_matches('/').split('/').peekable();
    while let Some(part) = pattern.next() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            let rest: Vec<&str> = actual.by_ref().collect();
            if pattern.peek().is_some() || rest.is_empty() || rest == [""] {
                return None;
            }
            parameters.insert(name.to_owned(), rest.join("/"));
            return Some((1, parameters));
        }
        let segment = actual.next()?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if segment.is_empty() {
                return None;
            }
            parameters.insert(name.to_owned(), segment.to_owned());
            rank = 2;
        } else if part != segment {
            return None;
        }
    }
    actual.next().is_none().then_some((rank, parameters))
}

/// Whether API Gateway passes a body of this content type as text: `text/*`, JSON, XML and
/// JavaScript (with `+json`/`+xml` suffixes); everything else — form posts, octet streams,
/// images — arrives base64-encoded, and a function that reads `body` without checking
/// `isBase64Encoded` breaks on AWS. A request without a content type is passed as text when it is
/// UTF-8 (the emulator's choice; see the README's differences).
fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/javascript"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// The port the request came in on, from its `Host` header (the HTTP API listens on loopback).
fn local_port(parts: &axum::http::request::Parts) -> u16 {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|host| host.rsplit_once(':'))
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or(80)
}

/// Builds the 2.0 payload: lower-case headers with repeated values comma-joined, cookies in
/// their own list, query parameters decoded and comma-joined, text bodies as they are and other
/// bodies base64-encoded ([`is_text`]), and the headers API Gateway adds (`x-forwarded-for`,
/// `-proto`, `-port`, `x-amzn-trace-id`; AWS "Working with AWS Lambda proxy integrations for HTTP
/// APIs").
fn build_event(
    parts: &axum::http::request::Parts,
    body: Bytes,
    matched: &Matched,
    peer: SocketAddr,
    request_id: &str,
) -> Value {
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
        } else if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
            headers.insert(name.clone(), value);
        }
    }
    // The local connection's values (API Gateway's own are the client's address, `https`, 443).
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(chain) => format!("{chain}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    let added = [
        ("x-forwarded-for", forwarded_for),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-forwarded-port", local_port(parts).to_string()),
        ("x-amzn-trace-id", crate::invoke::new_trace_id()),
    ];
    for (name, value) in added {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        query
            .entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let now = chrono::Utc::now();

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_owned());
    http.protocol = Some(format!("{:?}", parts.version));
    http.source_ip = Some(peer.ip().to_string());
    http.user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(matched.route_key.clone());
    context.account_id = Some(ACCOUNT_ID.into());
    context.stage = Some("$default".into());
    context.request_id = Some(request_id.to_owned());
    context.apiid = Some(API_ID.into());
    context.domain_name = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    context.domain_prefix = context
        .domain_name
        .as_deref()
        .and_then(|d| d.split('.').next())
        .map(str::to_owned);
    context.time = Some(now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context.time_epoch = now.timestamp_millis();
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(matched.route_key.clone());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(raw_query.to_owned());
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.query_string_parameters = query.into();
    event.path_parameters = matched.path_parameters.clone();
    event.request_context = context;
    if !body.is_empty() {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        match std::str::from_utf8(&body) {
            Ok(text) if content_type.is_none_or(is_text) => event.body = Some(text.to_owned()),
            _ => {
                event.body = Some(BASE64.encode(&body));
                event.is_base64_encoded = true;
            }
        }
    }
    let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
    // The struct also models custom-authorizer v1 fields that a 2.0 HTTP payload does not have.
    if let Some(object) = value.as_object_mut() {
        for field in [
            "type",
            "methodArn",
            "httpMethod",
            "identitySource",
            "authorizationToken",
            "resource",
        ] {
            object.remove(field);
        }
        if object
            .get("stageVariables")
            .is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
        {
            object.remove("stageVariables");
        }
    }
    value
}

/// Maps the function's answer to the HTTP response, per the 2.0 payload rules.
pub(crate) fn map_response(payload: &[u8]) -> Response {
    let Ok(mut value) = serde_json::from_slice::<Value>(payload) else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let structured = value
        .as_object()
        .is_some_and(|o| o.contains_key("statusCode"));
    if !structured {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            payload.to_vec(),
        )
            .into_response();
    }
    // `cookies` is optional on the wire but required by the struct.
    if let Some(object) = value.as_object_mut() {
        object.entry("cookies").or_insert_with(|| json!([]));
    }
    let Ok(answer) = serde_json::from_value::<ApiGatewayV2httpResponse>(value) else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let Some(status) = u16::try_from(answer.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
    else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let body = match answer.body {
        None | Some(EventBody::Empty) => Vec::new(),
        Some(EventBody::Text(text)) if answer.is_base64_encoded => match BASE64
            .decode(text.as_bytes())
        {
            Ok(bytes) => bytes,
            Err(_) => return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        },
        Some(EventBody::Text(text)) => text.into_bytes(),
        Some(EventBody::Binary(bytes)) => bytes,
        Some(_) => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in answer
        .multi_value_headers
        .iter()
        .chain(answer.headers.iter())
    {
        headers.append(name.clone(), value.clone());
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    for cookie in answer.cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(HeaderName::from_static("set-cookie"), value);
        }
    }
    response
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> HttpRoute {
        HttpRoute {
            method: method.into(),
            path: path.into(),
        }
    }

    #[test]
    fn paths_match_like_api_gateway() {
        let literal = route("POST", "/orders");
        assert_eq!(match_path(&literal, "/orders").map(|m| m.0), Some(3));
        assert!(match_path(&literal, "/orders/1").is_none());
        let variable = route("GET", "/orders/{id}");
        let (rank, params) = match_path(&variable, "/orders/42").unwrap();
        assert_eq!((rank, params["id"].as_str()), (2, "42"));
        assert!(match_path(&variable, "/orders/").is_none());
        let greedy = route("ANY", "/files/{proxy+}");
        assert_eq!(match_path(&greedy, "/files/a/b").unwrap().1["proxy"], "a/b");
        assert!(match_path(&greedy, "/files").is_none());
        assert_eq!(
            match_path(&route("ANY", "$default"), "/anything").map(|m| m.0),
            Some(0)
        );
    }

    #[tokio::test]
    async fn plain_json_is_inferred_as_a_200_json_body() {
        let response = map_response(br#"{"plain":true}"#);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"plain":true}"#);
    }

    #[tokio::test]
    async fn structured_responses_keep_status_headers_cookies_and_decode_base64() {
        let payload = json!({
            "statusCode": 201,
            "headers": { "x-one": "1" },
            "cookies": ["a=b"],
            "body": BASE64.encode(b"\x00\xffbinary"),
            "isBase64Encoded": true,
        });
        let response = map_response(payload.to_string().as_bytes());
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-one"], "1");
        assert_eq!(response.headers()["set-cookie"], "a=b");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"\x00\xffbinary");
    }

    #[tokio::test]
    async fn a_malformed_function_answer_is_a_500() {
        for payload in [
            &b"not json"[..],
            br#"{"statusCode":"abc"}"#,
            br#"{"statusCode":99999}"#,
        ] {
            assert_eq!(
                map_response(payload).status(),
                StatusCode::INTERNAL_SERVER_ERROR
            );
        }
    }
}
