//! The `lambda-emulator` binary end to end: serves a SAM template's functions, prints where it
//! listens, answers the Lambda API and the HTTP API, and stops cleanly on Ctrl+C.

mod common;

use std::process::Stdio;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn serves_a_template_and_prints_its_addresses() {
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/template.yaml");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .arg("--template")
        .arg(&template)
        .args(["--lambda-port", "0", "--http-port", "0", "--stack-name", "shop", "--idle-timeout", "5"])
        .arg("--function-binary")
        .arg(format!("IngestFunction={}", test_fn_binary().display()))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lambda_url = None;
    let mut http_url = None;
    let mut arns = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("Lambda API: ") {
            lambda_url = Some(url.trim().to_owned());
        } else if let Some(url) = line.strip_prefix("HTTP API:") {
            http_url = Some(url.trim().to_owned());
        } else if let Some(arn) = line.strip_prefix("function:") {
            arns.push(arn.trim().to_owned());
            if arns.len() == 3 {
                break;
            }
        }
    }
    let (lambda_url, http_url) = (lambda_url.expect("Lambda API address"), http_url.expect("HTTP API address"));
    assert!(lambda_url.starts_with("http://127.0.0.1:") && http_url.starts_with("http://127.0.0.1:"));
    assert!(arns.contains(&"arn:aws:lambda:us-east-1:000000000000:function:shop-ingest".to_owned()), "{arns:?}");

    let configuration: Value =
        client().get(format!("{lambda_url}/2015-03-31/functions/shop-worker-dev")).send().await.unwrap().json().await.unwrap();
    assert_eq!(configuration["Configuration"]["Timeout"], 900);
    assert_eq!(configuration["Concurrency"]["ReservedConcurrentExecutions"], 20);

    let response = client().post(format!("{http_url}/orders")).json(&json!({ "orderId": "o-9" })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["routeKey"], "POST /orders");
    assert_eq!(seen["body"], r#"{"orderId":"o-9"}"#);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id().unwrap() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.success(), "clean exit on Ctrl+C: {status}");
}
