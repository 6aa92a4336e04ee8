//! The pinned PyPI tools behind `cargo xtask package` and `deploy` (and their tests).
//!
//! Each installs into its own venv under `.shopflow/venvs/` through devstack's helper, with exact
//! pins: a new release of zig can change how the SDK's C dependencies (ring) link, and a new
//! cfn-lint can fail a template that passed yesterday. This file depends on nothing but devstack,
//! so xtask's integration tests compile it in (`#[path]`) and install the very same pins.

use devstack::venv::PinnedTool;

/// cargo-lambda, with the zig linker it drives (the `ziglang` wheel).
pub const CARGO_LAMBDA: PinnedTool = PinnedTool {
    venv: "cargo-lambda",
    requirement: "cargo-lambda==1.9.2",
    constraints: Some("ziglang==0.17.1\n"),
};

/// The AWS SAM CLI, with the cfn-lint and SAM translator it validates with.
pub const SAM_CLI: PinnedTool = PinnedTool {
    venv: "aws-sam-cli",
    requirement: "aws-sam-cli==1.170.0",
    constraints: Some("cfn-lint==1.58.0\naws-sam-translator==1.115.0\n"),
};
