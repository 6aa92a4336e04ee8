//! `cargo xtask demo`: the order pipeline end to end on the local stack.
//!
//! Not written yet. The plan: start the stack with [`crate::stack::start`] (Lambda endpoint = the
//! emulator's), start the Lambda emulator and the storefront, register the `shopflow` deployment
//! with `devstack::create_deployment_version(.., Some(worker ARN))` and
//! `devstack::set_current_version`, then push orders and show them flow.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

#[derive(Args)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> Result<ExitCode> {
    // TODO(demo): implement on the devstack API (see the module doc).
    bail!("`cargo xtask demo` is not implemented yet")
}
