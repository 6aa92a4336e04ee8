//! The shop's web face: a storefront page at `/` (browse the catalog, place an order, watch it
//! move step by step) and a live dashboard at `/dashboard` (recent orders, which worker ran
//! their last step — local or Lambda — and Lambda invocations over time).
//!
//! The pages are static files compiled into the binary ([`assets`]); everything they show comes
//! from JSON endpoints here, so the browser never holds a secret or talks to Temporal:
//! - `POST /shop/orders` builds the order and forwards it, signed, to the ingest API ([`shop`]);
//! - `GET /shop/orders/{orderId}/status` and `GET /dashboard/api/orders` ask Temporal
//!   ([`order_view`], over a lazily made connection: [`temporal`]);
//! - `GET /dashboard/api/lambda` relays the Lambda emulator's metrics ([`dashboard`]).
//!
//! Each dependency is optional: without it the endpoint that needs it answers 503 with a
//! problem saying what to configure, and the rest of the storefront works as before.

mod assets;
mod dashboard;
mod ingest;
mod order_view;
mod settings;
mod shop;
mod temporal;

use std::sync::Arc;

use axum::Router;

use crate::AppState;
pub use settings::{IngestTarget, TemporalTarget, WebSettings, parse_http_url};

/// What the web endpoints share: the settings and the connections made from them.
pub struct WebState {
    pub settings: WebSettings,
    pub temporal: temporal::TemporalLink,
    pub ingest: ingest::IngestForwarder,
    pub http: reqwest::Client,
    pub closed_orders: order_view::ClosedOrders,
}

impl WebState {
    pub fn new(settings: WebSettings) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a reqwest client with rustls builds");
        Arc::new(Self {
            temporal: temporal::TemporalLink::new(settings.temporal.clone()),
            ingest: ingest::IngestForwarder::new(settings.ingest.clone(), http.clone()),
            http,
            closed_orders: order_view::ClosedOrders::default(),
            settings,
        })
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(assets::router())
        .merge(shop::router())
        .merge(dashboard::router())
}
