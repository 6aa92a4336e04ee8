//! The Python Temporal SDK's Lambda worker, in a venv of its own.
//!
//! The Lambda emulator is meant to run any `provided.al2023` function, not only this project's
//! Rust ones, and Temporal ships a Lambda worker for Python too
//! (`temporalio.contrib.aws.lambda_worker`). A test runs that worker as a function whose
//! `bootstrap` starts the venv's Python with `awslambdaric`, AWS's runtime interface client, so the
//! real Worker Controller drives real Python code through the emulator. On Lambda both packages
//! would sit in the deployment package; locally they live in `.shopflow/venvs/python-lambda-worker`,
//! installed once (CI does it in `cargo xtask test`'s tool step; a test run alone does it itself).

use std::path::PathBuf;

use crate::workspace_root;

use anyhow::{Result, bail};

use crate::venv::PinnedTool;

/// `temporalio` (the SDK, with `contrib.aws.lambda_worker`) and `awslambdaric`, exactly pinned;
/// the constraints file pins everything they pull in.
pub const PYTHON_LAMBDA_WORKER: PinnedTool = PinnedTool {
    venv: "python-lambda-worker",
    requirement: "temporalio==1.35.0 awslambdaric==4.2.2",
    constraints: Some(include_str!("../constraints/python-lambda-worker.txt")),
};

/// Installs the Python Lambda worker's venv if needed (a file comparison when it is there);
/// returns the venv's Python, which a function's `bootstrap` runs.
pub fn ensure_python_lambda_worker() -> Result<PathBuf> {
    let python = PYTHON_LAMBDA_WORKER.ensure()?.join("bin").join("python");
    if !python.exists() {
        bail!(
            "{} installed but has no {}",
            PYTHON_LAMBDA_WORKER.requirement,
            python.display()
        );
    }
    Ok(python)
}

/// The fixture function that runs the Python worker (the emulator's test and the serverless
/// benchmark both serve it): a SAM template whose parameters name the function, where it finds
/// Temporal and what it polls.
pub struct PythonWorkerFunction {
    pub function_name: String,
    pub temporal_address: String,
    pub task_queue: String,
    pub deployment: String,
    pub build_id: String,
    /// The venv's Python ([`ensure_python_lambda_worker`]).
    pub python: PathBuf,
}

impl PythonWorkerFunction {
    /// The function's logical ID in the template.
    pub const LOGICAL_ID: &'static str = "PythonWorkerFunction";

    /// The fixture's folder: `template.yaml` and `function/` (`bootstrap`, the Python modules).
    pub fn fixture_dir() -> PathBuf {
        workspace_root().join("lambda-emulator/tests/fixtures/python-worker")
    }

    pub fn template() -> PathBuf {
        Self::fixture_dir().join("template.yaml")
    }

    /// The function's entry point (the template's binary override for [`Self::LOGICAL_ID`]).
    pub fn bootstrap() -> PathBuf {
        Self::fixture_dir().join("function/bootstrap")
    }

    /// The template's parameter values.
    pub fn parameters(&self) -> Vec<(String, String)> {
        [
            ("FunctionName", self.function_name.clone()),
            ("TemporalAddress", self.temporal_address.clone()),
            ("TaskQueue", self.task_queue.clone()),
            ("DeploymentName", self.deployment.clone()),
            ("BuildId", self.build_id.clone()),
            ("Python", self.python.display().to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec()
    }
}
