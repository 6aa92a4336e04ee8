//! `cargo xtask deploy`: ShopFlow onto AWS and Temporal Cloud (run by a person, never by CI).
//!
//! 1. `cargo xtask package` for the chosen architecture, then the two zips are staged where
//!    `template.yaml`'s `CodeUri`s point (`target/lambda/deploy/<binary>.zip`), so the code
//!    deployed always matches the `Architecture` parameter passed with it;
//! 2. `sam deploy` (guided the first time, when there is no `samconfig.toml`; it records the
//!    answers there) — no `sam build`, the zips are the build;
//! 3. the stack's outputs (`sam list stack-outputs`) give the worker's ARN and the invoke role;
//! 4. `temporal worker deployment create-version` registers this build (`shared::BUILD_ID`) of
//!    deployment `shopflow` with that function as its compute, and `set-current-version` routes
//!    new workflows to it. The Temporal CLI connects with `TEMPORAL_PROFILE` (default `cloud`)
//!    of `TEMPORAL_CONFIG_FILE` (default: the project's `temporal.toml`) and `TEMPORAL_API_KEY`.
//!
//! `--dry-run` prints every command instead of running it (with `<WorkerFunctionArn>`-style
//! placeholders for the stack outputs): the plan can be read, and tested, without an account.
//! The external ID is a secret-ish shared value: it is taken from `--external-id` or
//! `SHOPFLOW_TEMPORAL_EXTERNAL_ID` and printed masked.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::package::{self, Arch, FUNCTIONS};
use crate::tools::SAM_CLI;
use crate::ui;

/// Stack outputs the Temporal registration needs.
const OUTPUT_FUNCTION_ARN: &str = "WorkerFunctionArn";
const OUTPUT_ROLE_ARN: &str = "WorkerInvokeRoleArn";

#[derive(Args)]
pub struct DeployArgs {
    /// Architecture of both functions (passed as the `Architecture` parameter too).
    #[arg(long, value_enum, default_value = "x86_64")]
    arch: Arch,
    /// CloudFormation stack name.
    #[arg(long, default_value = "shopflow")]
    stack_name: String,
    /// AWS region (else sam's: samconfig.toml, AWS_REGION, your profile).
    #[arg(long)]
    region: Option<String>,
    /// The external ID Temporal presents when it assumes the invoke role (5-45 characters).
    #[arg(long, env = "SHOPFLOW_TEMPORAL_EXTERNAL_ID", hide_env_values = true)]
    external_id: String,
    /// More template parameters, e.g. `--parameter TemporalApiKeySecretArn=arn:...`.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    /// Ask sam's guided questions even when samconfig.toml exists.
    #[arg(long)]
    guided: bool,
    /// Cargo profile for the zips.
    #[arg(long, default_value = "lambda")]
    profile: String,
    /// Deploy the zips already in target/lambda instead of packaging first.
    #[arg(long)]
    no_package: bool,
    /// Print the commands instead of running them.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: DeployArgs) -> Result<ExitCode> {
    let external_id = args.external_id.trim().to_owned();
    if !(5..=45).contains(&external_id.len())
        || !external_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        bail!(
            "the external ID must be 5-45 characters of letters, digits and _+=,.@- (as the template's parameter requires)"
        );
    }
    for parameter in &args.parameters {
        if !parameter.contains('=') {
            bail!("--parameter {parameter:?}: expected NAME=VALUE");
        }
    }
    // The template's default extension layer is the x86_64 one (of us-east-1): an arm64
    // function with it would fail every cold start, so arm64 must name its own.
    if args.arch == Arch::Arm64
        && !args
            .parameters
            .iter()
            .any(|p| p.starts_with("SecretsExtensionLayerArn="))
    {
        bail!(
            "--arch arm64 needs --parameter SecretsExtensionLayerArn=<the AWS-Parameters-and-Secrets-Lambda-Extension-Arm64 layer of your region> (see docs/aws.md)"
        );
    }

    if !args.dry_run {
        if !args.no_package {
            package::package(args.arch, &args.profile)?;
        }
        stage_zips(args.arch)?;
    }

    let root = devstack::workspace_root();
    let sam = if args.dry_run {
        PathBuf::from("sam")
    } else {
        ui::step(&format!("{} ready", SAM_CLI.requirement), || {
            SAM_CLI.ensure()
        })?
        .join("bin/sam")
    };
    let guided = args.guided || !root.join("samconfig.toml").exists();
    let mut deploy = Command::new(&sam);
    deploy
        .current_dir(&root)
        .args([
            "deploy",
            "--template-file",
            "template.yaml",
            "--stack-name",
            &args.stack_name,
        ])
        .args([
            "--capabilities",
            "CAPABILITY_IAM",
            "--resolve-s3",
            "--no-fail-on-empty-changeset",
        ])
        .arg("--parameter-overrides")
        .arg(format!("Architecture={}", args.arch.lambda_name()))
        .arg(format!("TemporalInvokeExternalId={external_id}"))
        .args(&args.parameters);
    if guided {
        deploy.arg("--guided");
    }
    if let Some(region) = &args.region {
        deploy.args(["--region", region]);
    }
    run_or_print(deploy, args.dry_run, &[&external_id])?;

    let outputs = if args.dry_run {
        [OUTPUT_FUNCTION_ARN, OUTPUT_ROLE_ARN]
            .map(|k| (k.to_owned(), format!("<{k}>")))
            .into_iter()
            .collect()
    } else {
        stack_outputs(&sam, &args.stack_name, args.region.as_deref())?
    };
    let output = |key: &str| {
        outputs
            .get(key)
            .cloned()
            .with_context(|| format!("stack {} has no output {key}", args.stack_name))
    };
    let (function_arn, role_arn) = (output(OUTPUT_FUNCTION_ARN)?, output(OUTPUT_ROLE_ARN)?);

    let temporal = if args.dry_run {
        PathBuf::from("temporal")
    } else {
        devstack::ensure_temporal_cli()?
    };
    let temporal_command = |args: &[&str]| {
        let mut cmd = Command::new(&temporal);
        cmd.args(["worker", "deployment"]).args(args);
        if std::env::var_os("TEMPORAL_PROFILE").is_none() {
            cmd.env("TEMPORAL_PROFILE", "cloud");
        }
        if std::env::var_os("TEMPORAL_CONFIG_FILE").is_none() {
            cmd.env("TEMPORAL_CONFIG_FILE", root.join("temporal.toml"));
        }
        cmd
    };
    run_or_print(
        temporal_command(&[
            "create-version",
            "--deployment-name",
            shared::DEPLOYMENT_NAME,
            "--build-id",
            shared::BUILD_ID,
            "--aws-lambda-function-arn",
            &function_arn,
            "--aws-lambda-assume-role-arn",
            &role_arn,
            "--aws-lambda-assume-role-external-id",
            &external_id,
        ]),
        args.dry_run,
        &[&external_id],
    )?;
    run_or_print(
        temporal_command(&[
            "set-current-version",
            "--deployment-name",
            shared::DEPLOYMENT_NAME,
            "--build-id",
            shared::BUILD_ID,
            "--yes",
        ]),
        args.dry_run,
        &[],
    )?;
    if !args.dry_run {
        ui::ok(&format!(
            "{} {} is current; Temporal invokes {function_arn} when orders wait",
            shared::DEPLOYMENT_NAME,
            shared::BUILD_ID
        ));
        if let Some(url) = outputs.get("OrdersApiUrl") {
            ui::note(&format!("POST signed orders to {url}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies the packaged zips for `arch` to where the template's `CodeUri`s point.
fn stage_zips(arch: Arch) -> Result<()> {
    let staged = package::lambda_dir().join("deploy");
    std::fs::create_dir_all(&staged)?;
    for function in FUNCTIONS {
        let zip = package::zip_path(function, arch);
        if !zip.is_file() {
            bail!(
                "{} is missing: run `cargo xtask package --arch {}`",
                zip.display(),
                arch.lambda_name()
            );
        }
        std::fs::copy(&zip, staged.join(format!("{function}.zip")))
            .with_context(|| format!("staging {}", zip.display()))?;
    }
    Ok(())
}

/// Runs `cmd` in the foreground (sam's guided questions need the terminal), or prints it with
/// `masked` values hidden.
fn run_or_print(mut cmd: Command, dry_run: bool, masked: &[&str]) -> Result<()> {
    let shown = describe(&cmd, masked);
    if dry_run {
        println!("{shown}");
        return Ok(());
    }
    let finished = ui::streamed(&shown);
    let status = cmd.status().with_context(|| format!("running {shown}"))?;
    finished(status.success());
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// The command as a shell line: environment set on it, program name, arguments.
fn describe(cmd: &Command, masked: &[&str]) -> String {
    let mask = |s: &str| {
        masked
            .iter()
            .fold(s.to_owned(), |s, m| s.replace(m, "****"))
    };
    let env = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())));
    let program = PathBuf::from(cmd.get_program())
        .file_name()
        .map(OsString::from)
        .unwrap_or_default();
    let words = std::iter::once(program)
        .chain(cmd.get_args().map(OsString::from))
        .map(|w| {
            let w = w.to_string_lossy().into_owned();
            if w.contains(' ') { format!("'{w}'") } else { w }
        });
    mask(&env.chain(words).collect::<Vec<_>>().join(" "))
}

/// The stack's outputs, by key, from `sam list stack-outputs`.
fn stack_outputs(
    sam: &PathBuf,
    stack: &str,
    region: Option<&str>,
) -> Result<HashMap<String, String>> {
    #[derive(serde::Deserialize)]
    struct Output {
        #[serde(rename = "OutputKey")]
        key: String,
        #[serde(rename = "OutputValue")]
        value: String,
    }
    let mut cmd = Command::new(sam);
    cmd.args([
        "list",
        "stack-outputs",
        "--stack-name",
        stack,
        "--output",
        "json",
    ]);
    if let Some(region) = region {
        cmd.args(["--region", region]);
    }
    let out = cmd.output().context("running sam list stack-outputs")?;
    if !out.status.success() {
        bail!(
            "sam list stack-outputs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let outputs: Vec<Output> =
        serde_json::from_slice(&out.stdout).context("reading sam's stack outputs")?;
    Ok(outputs.into_iter().map(|o| (o.key, o.value)).collect())
}
