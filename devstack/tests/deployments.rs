//! Worker Deployment helpers against a real dev server with the Worker Controller.

mod support;

use std::process::Command;

use devstack::{
    TemporalDevServer, TemporalOptions, create_deployment_version, set_current_version,
};
use support::fake_lambda::FakeLambda;

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:shopflow-worker";

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn describe_version(
    server: &TemporalDevServer,
    deployment: &str,
    build_id: &str,
) -> (bool, String) {
    run(server.cli().args(devstack::deployment::version_args(
        "describe-version",
        deployment,
        build_id,
        &[],
    )))
}

/// A dev server whose Worker Controller calls a fake Lambda endpoint.
fn with_fake_lambda() -> (FakeLambda, TemporalDevServer) {
    let lambda = FakeLambda::start();
    let server = TemporalDevServer::start(TemporalOptions {
        lambda_endpoint: Some(lambda.endpoint.clone()),
        ..Default::default()
    })
    .unwrap();
    (lambda, server)
}

#[test]
fn a_lambda_version_is_registered_through_the_configured_endpoint_and_made_current() {
    let (lambda, server) = with_fake_lambda();
    let address = server.address();

    create_deployment_version(&address, "shopflow", "v1", Some(ARN)).unwrap();
    // Idempotent: a second registration (another test, a re-run of the demo) is not an error.
    create_deployment_version(&address, "shopflow", "v1", Some(ARN)).unwrap();
    set_current_version(&address, "shopflow", "v1").unwrap();

    let (ok, text) = describe_version(&server, "shopflow", "v1");
    assert!(ok, "{text}");
    assert!(
        text.contains("aws-lambda"),
        "compute config missing: {text}"
    );
    let (_, deployment) =
        run(server
            .cli()
            .args(["worker", "deployment", "describe", "--name", "shopflow"]));
    assert!(
        deployment.contains("CurrentVersionBuildID") && deployment.contains("v1"),
        "{deployment}"
    );

    // The server asked *our* endpoint for the function, by its URL-encoded ARN.
    let requests = lambda.requests();
    let encoded = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Ashopflow-worker";
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains(encoded)),
        "no GetFunction: {requests:?}"
    );
}

#[test]
fn an_existing_version_gets_the_compute_config_asked_for() {
    let (lambda, server) = with_fake_lambda();
    let address = server.address();
    // As when local-worker polls before the Lambda is registered: the version exists, no Lambda.
    set_current_version(&address, "shopflow", "v1").unwrap();
    let (_, before) = describe_version(&server, "shopflow", "v1");
    assert!(!before.contains("aws-lambda"), "{before}");

    create_deployment_version(&address, "shopflow", "v1", Some(ARN)).unwrap();
    let (ok, text) = describe_version(&server, "shopflow", "v1");
    assert!(
        ok && text.contains("aws-lambda"),
        "compute config not attached: {text}"
    );

    // A redeploy naming another function moves the version to it: the server checks the new
    // function (GetFunction) — `describe-version` shows only the provider, not the ARN.
    let other = "arn:aws:lambda:us-east-1:000000000000:function:shopflow-worker-2";
    create_deployment_version(&address, "shopflow", "v1", Some(other)).unwrap();
    let requests = lambda.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains("function%3Ashopflow-worker-2")),
        "the updated compute config was not applied: {requests:?}"
    );
}

#[test]
fn a_version_without_lambda_is_created_by_making_it_current() {
    let server = TemporalDevServer::start(TemporalOptions::default()).unwrap();
    let address = server.address();

    create_deployment_version(&address, "plain", "b1", None).unwrap();
    let (exists, _) = describe_version(&server, "plain", "b1");
    assert!(
        !exists,
        "the server refuses versions without a compute config, so none is created"
    );

    set_current_version(&address, "plain", "b1").unwrap();
    let (ok, text) = describe_version(&server, "plain", "b1");
    assert!(ok, "{text}");
    assert!(!text.contains("aws-lambda"), "{text}");
}

#[test]
fn an_unreachable_lambda_endpoint_fails_the_registration() {
    let dead = format!(
        "http://127.0.0.1:{}",
        devstack::ports::pick_free_port().unwrap()
    );
    let server = TemporalDevServer::start(TemporalOptions {
        lambda_endpoint: Some(dead),
        ..Default::default()
    })
    .unwrap();
    let err =
        create_deployment_version(&server.address(), "shopflow", "v1", Some(ARN)).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("GetFunction"), "{msg}");
}

#[test]
fn a_garbage_arn_is_rejected() {
    let (_lambda, server) = with_fake_lambda();
    let result = create_deployment_version(
        &server.address(),
        "shopflow",
        "v1",
        Some("not-an-arn; rm -rf /"),
    );
    assert!(
        result.is_err(),
        "a malformed ARN must not register a version"
    );
    let (exists, _) = describe_version(&server, "shopflow", "v1");
    assert!(!exists);
}
