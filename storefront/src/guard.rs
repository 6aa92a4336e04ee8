//! Who may change the shop's state.
//!
//! Two checks on every state-changing request (any method but GET, HEAD and OPTIONS):
//!
//! 1. **No cross-site requests.** A page on any other site can make a visitor's browser send
//!    `POST /admin/reset` or `PUT /admin/faults` here with a plain HTML form — no credentials are
//!    involved, and the shop usually runs on localhost, which the browser reaches. Browsers say
//!    where a request comes from: one whose `Sec-Fetch-Site` is neither `same-origin` nor `none`,
//!    or (browsers without Fetch Metadata) whose `Origin` is not this host, is refused with 403
//!    `cross-site-request`. A request with neither header is not from a browser (the worker's
//!    activities, curl) and passes. This is the algorithm of Go's
//!    `net/http.CrossOriginProtection` (Go 1.25), after the Fetch Metadata guidance (web.dev,
//!    "Protect your resources from web attacks with Fetch Metadata").
//! 2. **A shared token, when configured.** With `SHOPFLOW_SHOP_TOKEN` set, every state-changing
//!    request outside the public checkout (`/shop/…`) needs `Authorization: Bearer <token>`
//!    (compared in constant time), else 401 `unauthorized`; the worker's shop client sends the
//!    token from the same variable. Unset, the shop is open as before — a local mock on loopback.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::problem::{Problem, ProblemKind};

pub use shared::activities::shop_client::ENV_SHOP_TOKEN;

/// Shortest accepted token: guessing one must be out of reach (the same bar as the ingest key).
pub const MIN_TOKEN_BYTES: usize = 32;

/// The shared token. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ShopToken(String);

impl ShopToken {
    /// Refuses blank and short tokens.
    pub fn new(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.len() < MIN_TOKEN_BYTES {
            return Err(format!(
                "{ENV_SHOP_TOKEN} has {} bytes; at least {MIN_TOKEN_BYTES} are needed (e.g. `openssl rand -hex 32`)",
                value.len()
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

impl std::fmt::Debug for ShopToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShopToken(..)")
    }
}

/// Requests under this path are the public checkout: no token, only the cross-site check.
const PUBLIC_PREFIX: &str = "/shop/";

/// The middleware: both checks, in order.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    if let Err(why) = same_origin(request.headers()) {
        return Problem::new(ProblemKind::CrossSiteRequest, why).into_response();
    }
    if let Some(token) = &state.shop_token
        && !request.uri().path().starts_with(PUBLIC_PREFIX)
        && !bearer_matches(request.headers(), &token.0)
    {
        return Problem::new(
            ProblemKind::Unauthorized,
            format!("this shop requires Authorization: Bearer <{ENV_SHOP_TOKEN}>"),
        )
        .into_response();
    }
    next.run(request).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Check 1 of the module doc.
pub fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)"))
    };
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(format!(
                "a {other} request may not change the shop (Sec-Fetch-Site)"
            )),
        };
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return Ok(());
    };
    let host = text(header::HOST.as_str()).unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(format!(
            "a request from {origin} may not change the shop at {host}"
        ))
    }
}

/// Whether `Authorization: Bearer <token>` carries `token` (constant-time comparison).
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // `subtle` (the crate `hmac` uses for the ingest signatures) compares in constant time.
    subtle::ConstantTimeEq::ct_eq(given.trim().as_bytes(), token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn browsers_from_other_sites_are_refused_and_non_browsers_pass() {
        let host = ("host", "127.0.0.1:8080");
        let allowed = [
            vec![],
            vec![host],
            vec![host, ("sec-fetch-site", "same-origin")],
            vec![host, ("sec-fetch-site", "none")],
            vec![host, ("origin", "http://127.0.0.1:8080")],
            // Fetch Metadata wins over Origin when both are sent.
            vec![
                host,
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://evil.example"),
            ],
        ];
        for case in allowed {
            assert_eq!(same_origin(&headers(&case)), Ok(()), "{case:?}");
        }
        let refused = [
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
            vec![host, ("origin", "http://evil.example")],
            vec![host, ("origin", "null")],
            vec![host, ("origin", "http://127.0.0.1:8081")],
            vec![("origin", "http://127.0.0.1:8080")],
        ];
        for case in refused {
            assert!(same_origin(&headers(&case)).is_err(), "{case:?}");
        }
    }

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let token = "shop-token-0123456789";
        assert!(bearer_matches(
            &headers(&[("authorization", "Bearer shop-token-0123456789")]),
            token
        ));
        for wrong in [
            "",
            "Bearer",
            "Bearer shop-token-012345678",
            "Basic shop-token-0123456789",
            "Bearer shop-token-01234567890",
            "bearer shop-token-0123456789",
        ] {
            assert!(
                !bearer_matches(&headers(&[("authorization", wrong)]), token),
                "{wrong}"
            );
        }
        assert!(!bearer_matches(&HeaderMap::new(), token));
    }

    #[test]
    fn short_tokens_are_refused_and_debug_hides_them() {
        assert!(ShopToken::new("short").unwrap_err().contains("at least 32"));
        let token = ShopToken::new(&"t".repeat(32)).unwrap();
        assert_eq!(format!("{token:?}"), "ShopToken(..)");
    }
}
