//! The pages and their scripts and styles, compiled into the binary (`include_str!`): the
//! storefront ships as one file with no build step for the front end.
//!
//! Every asset is served with a strict Content-Security-Policy (only this origin's scripts, no
//! inline script, no framing): order data shown on the pages comes from shoppers, so even if a
//! script slipped and rendered it as HTML, it could not run.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let asset = |body: &'static str, content_type: &'static str| {
        get(move || async move { serve(body, content_type) })
    };
    Router::new()
        .route(
            "/",
            asset(
                include_str!("../../web/index.html"),
                "text/html; charset=utf-8",
            ),
        )
        .route(
            "/dashboard",
            asset(
                include_str!("../../web/dashboard.html"),
                "text/html; charset=utf-8",
            ),
        )
        .route(
            "/assets/style.css",
            asset(
                include_str!("../../web/style.css"),
                "text/css; charset=utf-8",
            ),
        )
        .route(
            "/assets/api.js",
            asset(
                include_str!("../../web/api.js"),
                "text/javascript; charset=utf-8",
            ),
        )
        .route(
            "/assets/shop.js",
            asset(
                include_str!("../../web/shop.js"),
                "text/javascript; charset=utf-8",
            ),
        )
        .route(
            "/assets/dashboard.js",
            asset(
                include_str!("../../web/dashboard.js"),
                "text/javascript; charset=utf-8",
            ),
        )
}

fn serve(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The pages change with the binary; always revalidate so a rebuilt storefront is seen at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
