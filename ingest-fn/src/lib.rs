//! `ingest-fn`: ShopFlow's front door, one Lambda function with two triggers — `POST /orders`
//! through API Gateway's HTTP API, and the orders SQS queue. It authenticates HTTP requests
//! (with `shared::signing`, the scheme the storefront signs with), validates orders with `shared`'s rules, starts `OrderWorkflow` exactly once per
//! order ID ([`starter`]) and answers in RFC 9457 problems ([`problem`]) or SQS batch item
//! failures ([`sqs`]), so that nothing is lost and nothing runs twice.
//!
//! The handlers are plain async functions — [`http::handle`] over `http` types (`lambda_http`
//! converts the API Gateway event, [`http::invoke`]), [`sqs::handle`] over the SQS event; `main`
//! only wires them to `lambda_runtime`. Its SQS client comes from `aws-clients`.

pub mod app;
pub mod config;
pub mod dead_letter;
pub mod event;
pub mod http;
pub mod ingest;
pub mod problem;
pub mod sqs;
pub mod starter;

pub use app::IngestFn;
