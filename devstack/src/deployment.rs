//! Worker Deployment Versions, registered through the Temporal CLI.
//!
//! What the dev server (CLI 1.9.1, Server 1.32.0, Worker Controller on) was seen to do, checked
//! against a server started for the purpose (2026-11-25):
//!
//! - `create-version` **requires a compute config**: without `--aws-lambda-function-arn` it fails
//!   with "missing configuration for compute provider". With one, the server first calls
//!   GetFunction on the Lambda endpoint and fails (after ~3.4 s of retries) if nothing answers;
//!   then it sends one `Event` invoke so the Lambda's worker registers its task queues.
//!   Repeating it fails with "Worker Deployment Version ... already exists".
//! - `create` of an existing deployment fails with "... already exists" and is tolerated here.
//!   An existing *version* gets `update-version-compute-config` with the same flags instead
//!   ([`create_or_update_version`]): a version a versioned worker created by polling first has
//!   no compute config, and a redeploy may name another function, role or external ID — either
//!   way the version ends up with the config asked for, which makes [`create_deployment_version`]
//!   idempotent.
//! - `set-current-version` on a version with a compute config works **with no poller** and
//!   without `--allow-no-pollers`. On a version that does not exist it fails ("build ID not found
//!   in Worker Deployment") unless `--allow-no-pollers` is given; with that flag it creates the
//!   deployment and the version (no compute config, no task queues) and makes it current. So a
//!   version without Lambda comes into being through [`set_current_version`] (which passes the
//!   flag) or through the first versioned poll.
//! - A versioned worker that polls a task queue **not yet in the version** is not refused: its
//!   poll attaches the task queue to the version (`describe-version` then lists it), and if the
//!   version is current, workflows started on that queue run on it. If the version is *not*
//!   current (the poll alone also creates deployment and version), new workflows on that queue
//!   are unversioned and wait: no unversioned worker polls. Set the version current first.

use std::path::Path;

use anyhow::{Result, bail};

use crate::temporal::{cli_command, ensure_temporal_cli};

/// `temporal worker deployment <subcommand> --deployment-name <d> --build-id <b> <rest…>`'s
/// arguments: every version command names its version the same way.
pub fn version_args<'a>(
    subcommand: &'a str,
    deployment: &'a str,
    build_id: &'a str,
    rest: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "worker",
        "deployment",
        subcommand,
        "--deployment-name",
        deployment,
        "--build-id",
        build_id,
    ];
    args.extend_from_slice(rest);
    args
}

/// Ensures `deployment` exists and, with a Lambda ARN, that version `build_id` exists with that
/// function as its compute config (invoked without an IAM role, as the local stack needs).
///
/// Without an ARN only the deployment is created: the server refuses a version without a compute
/// config; [`set_current_version`] or the first versioned poll creates it.
pub fn create_deployment_version(
    server_address: &str,
    deployment: &str,
    build_id: &str,
    lambda_arn: Option<&str>,
) -> Result<()> {
    let cli = ensure_temporal_cli()?;
    run_tolerating_exists(
        &cli,
        server_address,
        &["worker", "deployment", "create", "--name", deployment],
    )?;
    if let Some(arn) = lambda_arn {
        create_or_update_version(
            &cli,
            server_address,
            deployment,
            build_id,
            &[
                "--aws-lambda-function-arn",
                arn,
                "--aws-lambda-skip-role-and-external-id",
            ],
        )?;
    }
    Ok(())
}

/// `temporal worker deployment create-version` of `deployment`:`build_id` with `compute_flags`;
/// if the version already exists, `update-version-compute-config` with the same flags (the two
/// take the same compute-config flags), so the version carries this compute config whether it
/// was new, created by a worker's first poll, or registered before with another function or role.
pub fn create_or_update_version(
    cli: &Path,
    address: &str,
    deployment: &str,
    build_id: &str,
    compute_flags: &[&str],
) -> Result<()> {
    let with = |subcommand| version_args(subcommand, deployment, build_id, compute_flags);
    match run(cli, address, &with("create-version")) {
        Err(err) if already_exists(&err) => {
            run(cli, address, &with("update-version-compute-config")).map(drop)
        }
        other => other.map(drop),
    }
}

/// Makes `build_id` the current version of `deployment`, so new workflows on its task queues go
/// to it. Passes `--allow-no-pollers`, so it works before any worker polled (and creates a
/// version that does not exist yet).
pub fn set_current_version(server_address: &str, deployment: &str, build_id: &str) -> Result<()> {
    let cli = ensure_temporal_cli()?;
    run(
        &cli,
        server_address,
        &version_args(
            "set-current-version",
            deployment,
            build_id,
            &["--allow-no-pollers", "--yes"],
        ),
    )
    .map(drop)
}

/// Waits until version `build_id` of `deployment` lists `task_queue` — i.e. a worker of that
/// version (for a Lambda compute config: the worker the registration invocation started) has
/// polled it, so tasks on the queue are routed to the version and its compute config.
pub fn wait_for_task_queue(
    server_address: &str,
    deployment: &str,
    build_id: &str,
    task_queue: &str,
    timeout: std::time::Duration,
) -> Result<()> {
    let cli = ensure_temporal_cli()?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let listed = run(
            &cli,
            server_address,
            &version_args("describe-version", deployment, build_id, &[]),
        )
        .is_ok_and(|out| out.contains(task_queue));
        if listed {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("no worker of {deployment}:{build_id} polled {task_queue} within {timeout:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Registers a Lambda-backed version and makes it current, ready for work: `create-version` with
/// the function's ARN (the controller calls GetFunction and invokes the function once), waits
/// until that invocation's worker has polled `task_queue`, then `set-current-version`.
///
/// An earlier version paused 3 s here because orders placed right after registration sometimes
/// got no invocation; the cause was the controller's held task-add signal, which the dev server
/// is now started to avoid (see `temporal.rs`).
pub fn register_lambda_version(
    server_address: &str,
    deployment: &str,
    build_id: &str,
    task_queue: &str,
    function_arn: &str,
) -> Result<()> {
    create_deployment_version(server_address, deployment, build_id, Some(function_arn))?;
    wait_for_task_queue(
        server_address,
        deployment,
        build_id,
        task_queue,
        std::time::Duration::from_secs(60),
    )?;
    set_current_version(server_address, deployment, build_id)?;
    Ok(())
}

/// Runs a CLI command; fails with its stderr. (Public for `cargo xtask deploy`, which runs the
/// cloud registration through the same code.)
pub fn run(cli: &Path, address: &str, args: &[&str]) -> Result<String> {
    let out = cli_command(cli, address).args(args).output()?;
    if !out.status.success() {
        bail!(
            "`temporal {}` against {address} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run`], with "already exists" (of a deployment or a version) counted as success.
pub fn run_tolerating_exists(cli: &Path, address: &str, args: &[&str]) -> Result<()> {
    match run(cli, address, args) {
        Err(err) if already_exists(&err) => Ok(()),
        other => other.map(drop),
    }
}

/// The CLI's answer for a deployment or version that is there already.
fn already_exists(err: &anyhow::Error) -> bool {
    err.to_string().contains("already exists")
}
