//! End-to-end tests of OrderWorkflow with the real Temporal dev server, the real storefront and
//! the real local-worker binary. One test binary (`orders`) so the modules share one build.

#[path = "../support/app.rs"]
mod helpers;

mod compensation;
mod crash_recovery;
mod duplicates;
mod happy_path;
mod history;
mod replay;
mod transient_faults;
mod worker_dependencies;
