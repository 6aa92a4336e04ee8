//! `cargo xtask deploy --dry-run`: the plan a person runs against AWS and Temporal Cloud, read
//! and checked without an account — names and build ID from the code, the Temporal CLI's real
//! flags and the documented order (`create` before `create-version`), the external ID never
//! printed, and the refusals that keep a deploy from failing half-way (region without its
//! Secrets extension layer, placeholder Temporal profile).

use std::process::{Command, Output};

fn deploy(args: &[&str]) -> Output {
    deploy_with(args, &[])
}

/// `cargo xtask deploy` with none of the machine's AWS region or Temporal settings, only `env`.
fn deploy_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("deploy").args(args);
    for key in [
        "SHOPFLOW_TEMPORAL_EXTERNAL_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "TEMPORAL_PROFILE",
        "TEMPORAL_CONFIG_FILE",
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
    ] {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

const EXTERNAL_ID: &str = "shopflow-test-external-id";

fn plan(args: &[&str]) -> Vec<String> {
    let out = deploy(&[&["--dry-run", "--external-id", EXTERNAL_ID], args].concat());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains(EXTERNAL_ID),
        "the external ID is printed:\n{stdout}"
    );
    stdout.lines().map(str::to_owned).collect()
}

fn line_with<'a>(plan: &'a [String], needle: &str) -> &'a str {
    plan.iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in the plan:\n{}", plan.join("\n")))
}

const US_EAST_1: [&str; 2] = ["--region", "us-east-1"];

#[test]
fn the_plan_deploys_the_stack_then_registers_this_build() {
    let plan = plan(
        &[
            &US_EAST_1[..],
            &[
                "--parameter",
                "TemporalApiKeySecretArn=arn:aws:secretsmanager:us-east-1:1:secret:k",
            ],
        ]
        .concat(),
    );
    assert_eq!(plan.len(), 5, "{plan:#?}");
    let sam = line_with(&plan, "sam deploy");
    for part in [
        "--template-file template.yaml",
        "--capabilities CAPABILITY_IAM",
        "Architecture=x86_64",
        "TemporalInvokeExternalId=****",
        "TemporalApiKeySecretArn=arn:aws:secretsmanager:us-east-1:1:secret:k",
        "--region us-east-1",
    ] {
        assert!(sam.contains(part), "{part} missing: {sam}");
    }

    // The order Temporal documents: the deployment first (a fresh namespace has none and
    // `create-version` fails without it), the version, its task queue, then current.
    let position = |needle: &str| {
        plan.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in the plan:\n{}", plan.join("\n")))
    };
    let order = [
        "sam deploy",
        "deployment create ",
        "deployment create-version ",
        "deployment describe-version ",
        "deployment set-current-version ",
    ]
    .map(position);
    assert_eq!(order, [0, 1, 2, 3, 4], "{plan:#?}");

    for line in &plan[1..] {
        assert!(
            line.contains("TEMPORAL_PROFILE=cloud ") && line.contains("temporal.toml "),
            "{line}"
        );
    }
    let create = line_with(&plan, "deployment create ");
    assert!(
        create.ends_with(&format!("create --name {}", shared::DEPLOYMENT_NAME)),
        "{create}"
    );

    let create = line_with(&plan, "create-version");
    assert!(
        create.contains(&format!("--deployment-name {} ", shared::DEPLOYMENT_NAME)),
        "{create}"
    );
    assert!(
        create.contains(&format!("--build-id {} ", shared::BUILD_ID)),
        "{create}"
    );
    assert!(
        create.contains("--aws-lambda-function-arn <WorkerFunctionArn>"),
        "{create}"
    );
    assert!(
        create.contains("--aws-lambda-assume-role-arn <WorkerInvokeRoleArn>"),
        "{create}"
    );
    assert!(
        create.contains("--aws-lambda-assume-role-external-id ****"),
        "{create}"
    );

    let wait = line_with(&plan, "describe-version");
    assert!(
        wait.contains(&format!("--build-id {} ", shared::BUILD_ID))
            && wait.contains(&format!("lists task queue {}", shared::TASK_QUEUE)),
        "{wait}"
    );

    let current = line_with(&plan, "set-current-version");
    assert!(
        current.contains(&format!("--build-id {}", shared::BUILD_ID)),
        "{current}"
    );
}

#[test]
fn arm64_is_passed_to_the_template() {
    let layer = "SecretsExtensionLayerArn=arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:18";
    let plan = plan(&[&US_EAST_1[..], &["--arch", "arm64", "--parameter", layer]].concat());
    let sam = line_with(&plan, "sam deploy");
    assert!(
        sam.contains("Architecture=arm64") && sam.contains(layer),
        "{sam}"
    );
    // Without its own layer, arm64 would get the template's x86_64 one: refused.
    let out = deploy(
        &[
            &["--dry-run", "--external-id", EXTERNAL_ID, "--arch", "arm64"],
            &US_EAST_1[..],
        ]
        .concat(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SecretsExtensionLayerArn"));
}

/// The template's default layer is us-east-1's: a function elsewhere cannot use it (a layer must
/// be in the function's region), so deploy refuses before building anything — also when the
/// region comes from the environment or is not known at all.
#[test]
fn outside_us_east_1_the_layer_of_the_region_is_required() {
    let default_layer = std::fs::read_to_string(devstack::workspace_root().join("template.yaml"))
        .unwrap()
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("SecretsExtensionLayerArn:"))
        .find_map(|l| l.trim().strip_prefix("Default: ").map(str::to_owned))
        .expect("SecretsExtensionLayerArn has a default");
    assert!(
        default_layer.starts_with("arn:aws:lambda:us-east-1:"),
        "deploy assumes the default layer is us-east-1's: {default_layer}"
    );

    let base = ["--dry-run", "--external-id", EXTERNAL_ID];
    let refused = [
        deploy(&[&base[..], &["--region", "eu-west-1"]].concat()),
        deploy_with(&base, &[("AWS_REGION", "ap-southeast-2")]),
        deploy_with(&base, &[("AWS_DEFAULT_REGION", "eu-central-1")]),
        deploy(&base),
        // A layer of another region than the stack's.
        deploy(
            &[
                &base[..],
                &[
                    "--region",
                    "eu-west-1",
                    "--parameter",
                    "SecretsExtensionLayerArn=arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:18",
                ],
            ]
            .concat(),
        ),
    ];
    for out in refused {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted: {stderr}");
        assert!(stderr.contains("SecretsExtensionLayerArn"), "{stderr}");
        assert!(out.stdout.is_empty(), "a refused deploy printed a plan");
    }

    let eu_layer = "SecretsExtensionLayerArn=arn:aws:lambda:eu-west-1:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension:18";
    let plan = plan(&["--region", "eu-west-1", "--parameter", eu_layer]);
    let sam = line_with(&plan, "sam deploy");
    assert!(
        sam.contains("--region eu-west-1") && sam.contains(eu_layer),
        "{sam}"
    );
    // The region from the environment is passed on explicitly, so sam deploys where it was checked.
    let out = deploy_with(&base, &[("AWS_REGION", "us-east-1")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("--region us-east-1"));
}

/// The shipped `cloud` profile is a placeholder and the Temporal CLI needs credentials: a real
/// deploy stops before packaging; the dry run says so and prints the plan anyway.
#[test]
fn the_temporal_profile_is_checked_before_anything_is_deployed() {
    let args = [&["--dry-run", "--external-id", EXTERNAL_ID], &US_EAST_1[..]].concat();
    let note = |out: &Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .find(|l| l.contains("a real deploy would stop here"))
            .map(str::to_owned)
    };
    let shipped = note(&deploy(&args)).expect("the placeholder address is accepted");
    assert!(
        shipped.contains("[profile.cloud]") && shipped.contains("your-namespace"),
        "{shipped}"
    );

    let dir = std::env::temp_dir().join(format!("deploy-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("temporal.toml");
    std::fs::write(
        &config,
        "[profile.cloud]\naddress = \"us-east-1.aws.api.temporal.io:7233\"\nnamespace = \"shop.a1b2c\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let no_credentials = note(&deploy_with(&args, &[("TEMPORAL_CONFIG_FILE", config)]))
        .expect("a profile without credentials is accepted");
    assert!(
        no_credentials.contains("TEMPORAL_API_KEY"),
        "{no_credentials}"
    );
    for credentials in [
        &[("TEMPORAL_API_KEY", "a-key")][..],
        &[
            ("TEMPORAL_TLS_CLIENT_CERT_PATH", "/certs/client.pem"),
            ("TEMPORAL_TLS_CLIENT_KEY_PATH", "/certs/client.key"),
        ],
    ] {
        let env = [&[("TEMPORAL_CONFIG_FILE", config)][..], credentials].concat();
        let out = deploy_with(&args, &env);
        assert_eq!(note(&out), None, "{credentials:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("TEMPORAL_CONFIG_FILE={config} "))
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The flags the plan uses exist in the pinned Temporal CLI (they were renamed once already:
/// `--aws-lambda-assume-role-arn`, not `--aws-lambda-role-arn`).
#[test]
fn the_temporal_cli_has_every_flag_the_plan_uses() {
    let cli = devstack::ensure_temporal_cli().unwrap();
    let plan = plan(&US_EAST_1);
    for subcommand in [
        "create",
        "create-version",
        "describe-version",
        "set-current-version",
    ] {
        let line = line_with(&plan, &format!("deployment {subcommand} "));
        let help = Command::new(&cli)
            .args(["worker", "deployment", subcommand, "--help"])
            .output()
            .unwrap();
        assert!(
            help.status.success(),
            "temporal worker deployment {subcommand} --help"
        );
        let help = String::from_utf8_lossy(&help.stdout);
        let flags: Vec<_> = line
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .collect();
        assert!(!flags.is_empty(), "{line}");
        for flag in flags {
            assert!(
                help.contains(&format!("{flag} ")),
                "`temporal worker deployment {subcommand}` has no {flag}"
            );
        }
    }
}

#[test]
fn a_bad_external_id_or_parameter_is_refused() {
    for args in [
        &["--dry-run", "--external-id", "abc"][..],
        &["--dry-run", "--external-id", "has spaces in it"],
        &["--dry-run", "--external-id", &"x".repeat(46)],
        &[
            "--dry-run",
            "--external-id",
            EXTERNAL_ID,
            "--parameter",
            "NoEqualsSign",
        ],
        &["--dry-run", "--region", "us-east-1"],
    ] {
        let out = deploy(args);
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("external")
                || stderr.contains("NAME=VALUE")
                || stderr.contains("--external-id"),
            "{args:?}: {stderr}"
        );
    }
}
