//! `lambda-emulator`: a local AWS Lambda that the real Temporal server (through
//! `AWS_ENDPOINT_URL_LAMBDA`) and the AWS SDKs can call.
//!
//! It serves the Lambda API (Invoke — `RequestResponse`, `Event`, `DryRun` — and GetFunction),
//! runs each function as real execution environments (child processes speaking the Lambda
//! Runtime API) with Lambda's lifecycle — timeouts, warm reuse, concurrency limits and throttling,
//! idle reaping — and feeds functions from an HTTP API (API Gateway payload 2.0) and SQS event
//! source mappings. Functions come from a SAM template ([`template`]) or are registered in code.
//! It knows nothing about the functions it runs.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use lambda_emulator::{EmulatorConfig, FunctionConfig, Listen, RunningEmulator};
//! let function = FunctionConfig::new("hello", "target/debug/hello");
//! let emulator = RunningEmulator::start(EmulatorConfig::default(), vec![function], Listen::ephemeral()).await?;
//! println!("AWS_ENDPOINT_URL_LAMBDA={}", emulator.lambda_url());
//! # Ok(()) }
//! ```

mod api;
mod async_queue;
pub mod config;
mod emulator;
pub mod env_vars;
mod environment;
mod extensions_api;
pub mod invoke;
mod logs;
pub mod metrics;
mod pool;
mod readiness;
pub mod registry;
mod runtime_api;
mod sandbox;
mod sqs;
pub mod template;
pub mod variables;

mod http_api;

pub use config::EmulatorConfig;
pub use emulator::{Listen, RunningEmulator};
pub use invoke::{InvokeError, InvokeOutcome, InvokeResult};
pub use registry::{FunctionConfig, FunctionRef, HttpRoute, SqsSource, function_arn, queue_arn};
pub use sqs::client as sqs_client;
