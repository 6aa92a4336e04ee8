//! `cargo xtask deploy --dry-run`: the plan a person runs against AWS and Temporal Cloud, read
//! and checked without an account — names and build ID from the code, the Temporal CLI's real
//! flags, the external ID never printed.

use std::process::{Command, Output};

fn deploy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("deploy")
        .args(args)
        .env_remove("SHOPFLOW_TEMPORAL_EXTERNAL_ID")
        .env_remove("TEMPORAL_PROFILE")
        .env_remove("TEMPORAL_CONFIG_FILE")
        .output()
        .unwrap()
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

#[test]
fn the_plan_deploys_the_stack_then_registers_this_build() {
    let plan = plan(&[
        "--parameter",
        "TemporalApiKeySecretArn=arn:aws:secretsmanager:us-east-1:1:secret:k",
    ]);
    assert_eq!(plan.len(), 3, "{plan:#?}");
    let sam = line_with(&plan, "sam deploy");
    for part in [
        "--template-file template.yaml",
        "--capabilities CAPABILITY_IAM",
        "Architecture=x86_64",
        "TemporalInvokeExternalId=****",
        "TemporalApiKeySecretArn=arn:aws:secretsmanager:us-east-1:1:secret:k",
    ] {
        assert!(sam.contains(part), "{part} missing: {sam}");
    }

    let create = line_with(&plan, "create-version");
    assert!(
        create.contains("TEMPORAL_PROFILE=cloud ") && create.contains("temporal.toml "),
        "{create}"
    );
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

    let current = line_with(&plan, "set-current-version");
    assert!(
        current.contains(&format!("--build-id {}", shared::BUILD_ID)),
        "{current}"
    );
}

#[test]
fn arm64_is_passed_to_the_template() {
    let layer = "SecretsExtensionLayerArn=arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:18";
    let plan = plan(&["--arch", "arm64", "--parameter", layer]);
    let sam = line_with(&plan, "sam deploy");
    assert!(
        sam.contains("Architecture=arm64") && sam.contains(layer),
        "{sam}"
    );
    // Without its own layer, arm64 would get the template's x86_64 one: refused.
    let out = deploy(&["--dry-run", "--external-id", EXTERNAL_ID, "--arch", "arm64"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SecretsExtensionLayerArn"));
}

/// The flags the plan uses exist in the pinned Temporal CLI (they were renamed once already:
/// `--aws-lambda-assume-role-arn`, not `--aws-lambda-role-arn`).
#[test]
fn the_temporal_cli_has_every_flag_the_plan_uses() {
    let cli = devstack::ensure_temporal_cli().unwrap();
    let plan = plan(&[]);
    for (line, subcommand) in [
        (line_with(&plan, "create-version"), "create-version"),
        (
            line_with(&plan, "set-current-version"),
            "set-current-version",
        ),
    ] {
        let help = Command::new(&cli)
            .args(["worker", "deployment", subcommand, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout);
        for flag in line.split_whitespace().filter(|w| w.starts_with("--")) {
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
        &["--dry-run"],
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
