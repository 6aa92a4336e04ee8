//! ShopFlow's storefront: the shop backend that the order pipeline's activities call over HTTP.
//!
//! Inventory, payments, shipments and notifications share one SQLite database and one rule set:
//! every mutating request carries an `Idempotency-Key` and is executed at most once
//! ([`pipeline`]), every error is RFC 9457 problem+json ([`problem`]), every real effect lands in
//! a ledger that tests read back ([`services::ledger`]), and faults can be injected on demand
//! ([`faults`]) to exercise the pipeline's retries and compensations. Cross-site browser requests
//! may not change state, and a shared token can be required of the service callers ([`guard`]).
//!
//! Layout: [`routes`] (HTTP) → [`pipeline`] (faults + idempotent transaction) → [`services`]
//! (SQL). [`app`] builds and serves it; `main` only wires the CLI to [`app`].

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod extract;
pub mod faults;
pub mod guard;
pub mod idempotency;
pub mod pipeline;
pub mod problem;
pub mod routes;
pub mod services;
pub mod telemetry;
pub mod web;

pub use app::{AppState, Application, Settings};
pub use config::Config;
