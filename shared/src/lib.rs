//! ShopFlow's shared core: the order domain, the names every binary agrees on, `OrderWorkflow`
//! and its activities, and how a worker is assembled from them.
//!
//! Nothing here does I/O when imported; the binaries (`local-worker`, `worker-fn`, `ingest-fn`)
//! wire these pieces to their hosts.

pub mod activities;
pub mod connection;
pub mod domain;
pub mod idempotency;
pub mod names;
pub mod orders;
pub mod shop_api;
pub mod signing;
pub mod telemetry;
pub mod worker;
pub mod workflow;

pub use domain::{Order, OrderRejection, parse_order};
pub use names::{BUILD_ID, DEPLOYMENT_NAME, TASK_QUEUE, workflow_id};
pub use workflow::{OrderOutcome, OrderProgress, OrderStep, OrderWorkflow};
