//! `cargo xtask deploy`: ShopFlow onto AWS and Temporal Cloud (run by a person, never by CI).
//!
//! 0. Before anything is built or deployed, what would make the deploy fail half-way is refused:
//!    an external ID AWS would reject, a region the template's default Secrets extension layer
//!    (us-east-1's, x86_64) does not exist in, and a Temporal `cloud` profile that still has the
//!    placeholder address or gives the Temporal CLI no credentials;
//! 1. `cargo xtask package` for the chosen architecture, then the two zips are staged where
//!    `template.yaml`'s `CodeUri`s point (`target/lambda/deploy/<binary>.zip`), so the code
//!    deployed always matches the `Architecture` parameter passed with it;
//! 2. `sam deploy` (guided the first time, when there is no `samconfig.toml`; it records the
//!    answers there) — no `sam build`, the zips are the build;
//! 3. the stack's outputs (`sam list stack-outputs`) give the worker's ARN and the invoke role;
//! 4. the Worker Deployment Version, in the order Temporal documents (see
//!    `local-serverless-workers.md`): `temporal worker deployment create` (a fresh namespace has
//!    no deployment `shopflow`, and `create-version` needs one), `create-version` of this build
//!    (`shared::BUILD_ID`) with that function as its compute, a wait until the version lists
//!    `shopflow-orders` — the worker Temporal invoked at `create-version` reached Temporal Cloud
//!    and polled, which proves function, role, external ID and credentials work together and
//!    routes the queue to the version — then `set-current-version`. These run through the same
//!    code as the local stack's registration (`devstack::deployment`): an existing deployment is
//!    fine, and an existing version gets `update-version-compute-config` with the same flags, so
//!    deploying the same build again works and points the version at this stack's function and
//!    role. The Temporal CLI connects with
//!    `TEMPORAL_PROFILE` (default `cloud`) of `TEMPORAL_CONFIG_FILE` (default: the project's
//!    `temporal.toml`) and `TEMPORAL_API_KEY` or `TEMPORAL_TLS_CLIENT_CERT_PATH`/`_KEY_PATH`.
//!
//! `--dry-run` prints every command instead of running it (with `<WorkerFunctionArn>`-style
//! placeholders for the stack outputs): the plan can be read, and tested, without an account.
//! The external ID is a secret-ish shared value: it is taken from `--external-id` or
//! `SHOPFLOW_TEMPORAL_EXTERNAL_ID` and printed masked.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use temporalio_common::envconfig::{LoadClientConfigProfileOptions, load_client_config_profile};

use crate::package::{self, Arch, FUNCTIONS};
use crate::tools::SAM_CLI;
use crate::ui;

/// Stack outputs the Temporal registration needs.
const OUTPUT_FUNCTION_ARN: &str = "WorkerFunctionArn";
const OUTPUT_ROLE_ARN: &str = "WorkerInvokeRoleArn";

/// The template parameter naming the Secrets extension layer, and the one region its default
/// (an x86_64 layer) exists in: a layer must be in the function's region.
const LAYER_PARAMETER: &str = "SecretsExtensionLayerArn";
pub const DEFAULT_LAYER_REGION: &str = "us-east-1";

/// What the Temporal CLI uses unless the person set them.
const TEMPORAL_PROFILE: &str = "cloud";

/// How long the worker Temporal invokes at `create-version` gets to poll: a cold start with its
/// secret reads takes seconds; a minute and more means it cannot reach Temporal Cloud (or was
/// never invoked), and setting the version current would only hide that.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Args)]
pub struct DeployArgs {
    /// Architecture of both functions (passed as the `Architecture` parameter too).
    #[arg(long, value_enum, default_value = "x86_64")]
    arch: Arch,
    /// CloudFormation stack name.
    #[arg(long, default_value = "shopflow")]
    stack_name: String,
    /// AWS region (else AWS_REGION / AWS_DEFAULT_REGION). Outside us-east-1, also give
    /// `--parameter SecretsExtensionLayerArn=` for your region.
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

#[expect(
    unsafe_code,
    reason = "set_var before any thread exists, for the Temporal CLI children (to be replaced by passing the environment to each command)"
)]
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
    let region = args.region.clone().or_else(|| {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|k| std::env::var(k).ok().filter(|r| !r.trim().is_empty()))
    });
    check_extension_layer(args.arch, region.as_deref(), &args.parameters)?;

    let root = devstack::workspace_root();
    // The Temporal CLI (run by devstack's helpers, which build their own commands) and the
    // profile check below both read these from the environment. Set before any thread exists.
    let temporal_env = temporal_defaults(&root);
    for (key, value) in &temporal_env {
        if std::env::var_os(key).is_none() {
            // SAFETY: xtask is still single-threaded here (no spinner, no child yet).
            unsafe { std::env::set_var(key, value) };
        }
    }
    let address = match cloud_address() {
        Ok(address) => Some(address),
        Err(why) if args.dry_run => {
            ui::note(&format!("a real deploy would stop here: {why:#}"));
            None
        }
        Err(why) => return Err(why),
    };

    if !args.dry_run {
        if !args.no_package {
            package::package(args.arch, &args.profile)?;
        }
        stage_zips(args.arch)?;
    }

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
    // Always explicit once known, so the region checked above is the one deployed to.
    if let Some(region) = &region {
        deploy.args(["--region", region]);
    }
    run_or_print(deploy, args.dry_run, &[&external_id])?;

    let outputs = if args.dry_run {
        [OUTPUT_FUNCTION_ARN, OUTPUT_ROLE_ARN]
            .map(|k| (k.to_owned(), format!("<{k}>")))
            .into_iter()
            .collect()
    } else {
        stack_outputs(&sam, &args.stack_name, region.as_deref())?
    };
    let output = |key: &str| {
        outputs
            .get(key)
            .cloned()
            .with_context(|| format!("stack {} has no output {key}", args.stack_name))
    };
    let (function_arn, role_arn) = (output(OUTPUT_FUNCTION_ARN)?, output(OUTPUT_ROLE_ARN)?);

    let (deployment, build_id) = (shared::DEPLOYMENT_NAME, shared::BUILD_ID);
    let create: &[&str] = &["worker", "deployment", "create", "--name", deployment];
    let version_args = devstack::deployment::version_args;
    let compute: &[&str] = &[
        "--aws-lambda-function-arn",
        &function_arn,
        "--aws-lambda-assume-role-arn",
        &role_arn,
        "--aws-lambda-assume-role-external-id",
        &external_id,
    ];
    let create_version = &version_args("create-version", deployment, build_id, compute);
    let describe_version = &version_args("describe-version", deployment, build_id, &[]);
    let set_current = &version_args("set-current-version", deployment, build_id, &["--yes"]);
    // As a shell line: the variables that pick the profile, then the command.
    let shown = |cli_args: &[&str]| {
        let mut cmd = Command::new("temporal");
        cmd.envs(
            temporal_env
                .iter()
                .map(|(k, _)| (*k, std::env::var_os(k).unwrap_or_default())),
        )
        .args(cli_args);
        describe(&cmd, &[&external_id])
    };
    let wait_line = format!(
        "{}  # repeated until it lists task queue {} (at most {}s)",
        shown(describe_version),
        shared::TASK_QUEUE,
        REGISTRATION_TIMEOUT.as_secs()
    );
    if args.dry_run {
        for line in [
            shown(create),
            shown(create_version),
            wait_line,
            shown(set_current),
        ] {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let address = address.expect("checked above when not a dry run");
    let cli = devstack::ensure_temporal_cli()?;
    // devstack's errors quote the command line, which holds the external ID.
    let masked = |e: anyhow::Error| format!("{e:#}").replace(&external_id, "****");
    ui::step(&shown(create), || {
        devstack::deployment::run_tolerating_exists(&cli, &address, create)
            .map_err(|e| anyhow!(masked(e)))
    })?;
    // A redeploy of this build updates the version's compute config instead (same flags).
    ui::step(&shown(create_version), || {
        devstack::deployment::create_or_update_version(
            &cli, &address, deployment, build_id, compute,
        )
        .map_err(|e| anyhow!(masked(e)))
    })?;
    ui::step(&wait_line, || {
        devstack::wait_for_task_queue(
            &address,
            deployment,
            build_id,
            shared::TASK_QUEUE,
            REGISTRATION_TIMEOUT,
        )
    })
    .with_context(|| {
        format!(
            "Temporal invoked {function_arn} at create-version, but no worker of it polled: see its \
             log group /aws/lambda/shopflow-worker (credentials secret, temporal.toml's profile), \
             and check that {role_arn} trusts Temporal's invoker roles with this external ID"
        )
    })?;
    ui::step(&shown(set_current), || {
        devstack::deployment::run(&cli, &address, set_current).map(drop)
    })?;
    ui::ok(&format!(
        "{deployment} {build_id} is current; Temporal invokes {function_arn} when orders wait"
    ));
    if let Some(url) = outputs.get("OrdersApiUrl") {
        ui::note(&format!("POST signed orders to {url}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// The Secrets extension layer must exist in the function's region and suit its architecture;
/// the template's default is us-east-1's x86_64 layer, so anything else needs its own ARN.
fn check_extension_layer(arch: Arch, region: Option<&str>, parameters: &[String]) -> Result<()> {
    let prefix = format!("{LAYER_PARAMETER}=");
    let layer = parameters.iter().find_map(|p| p.strip_prefix(&prefix));
    let Some(layer) = layer else {
        if arch == Arch::Arm64 {
            bail!(
                "--arch arm64 needs --parameter {LAYER_PARAMETER}=<the AWS-Parameters-and-Secrets-Lambda-Extension-Arm64 layer of your region> (see docs/aws.md)"
            );
        }
        return match region {
            Some(DEFAULT_LAYER_REGION) => Ok(()),
            Some(region) => bail!(
                "region {region}: the template's default {LAYER_PARAMETER} is the {DEFAULT_LAYER_REGION} layer, \
                 which a function in {region} cannot use; pass --parameter {LAYER_PARAMETER}=<the \
                 AWS-Parameters-and-Secrets-Lambda-Extension layer ARN of {region}> (see docs/aws.md)"
            ),
            None => bail!(
                "no region given (--region, AWS_REGION or AWS_DEFAULT_REGION): the template's default \
                 {LAYER_PARAMETER} only works in {DEFAULT_LAYER_REGION}; pass --region, or \
                 --parameter {LAYER_PARAMETER}=<the layer ARN of your region>"
            ),
        };
    };
    // arn:aws:lambda:<region>:<account>:layer:<name>:<version>
    if let (Some(region), Some(layer_region)) = (region, layer.split(':').nth(3))
        && layer_region != region
    {
        bail!("{LAYER_PARAMETER} is a layer of {layer_region}, but the stack goes to {region}");
    }
    Ok(())
}

/// `TEMPORAL_PROFILE` and `TEMPORAL_CONFIG_FILE` for the Temporal CLI unless the person set
/// them: the `cloud` profile of the project's `temporal.toml`.
fn temporal_defaults(root: &std::path::Path) -> [(&'static str, OsString); 2] {
    [
        ("TEMPORAL_PROFILE", TEMPORAL_PROFILE.into()),
        ("TEMPORAL_CONFIG_FILE", root.join("temporal.toml").into()),
    ]
}

/// The Temporal Cloud address the CLI will use (profile and `TEMPORAL_*` overrides, read through
/// the SDK's envconfig as the CLI reads them), refusing the shipped placeholder and a profile that
/// gives the CLI no credentials.
fn cloud_address() -> Result<String> {
    let profile = load_client_config_profile(LoadClientConfigProfileOptions::default(), None)
        .map_err(|e| anyhow!("{e}"))
        .context(
            "reading the Temporal profile for the CLI (TEMPORAL_PROFILE of TEMPORAL_CONFIG_FILE)",
        )?;
    let address = profile.address.clone().unwrap_or_default();
    if address.is_empty() || address.contains("your-namespace") {
        bail!(
            "temporal.toml's [profile.cloud] still has no real address ({address:?}): set your \
             namespace's address and name there (docs/aws.md, step 1)"
        );
    }
    let has_mtls = profile
        .tls
        .as_ref()
        .is_some_and(|tls| tls.client_cert.is_some() && tls.client_key.is_some());
    if profile.api_key.is_none() && !has_mtls {
        bail!(
            "the Temporal CLI has no credentials for {address}: export TEMPORAL_API_KEY (or \
             TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS)"
        );
    }
    Ok(address)
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
