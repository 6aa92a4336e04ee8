//! The `lambda-emulator` binary end to end: serves a SAM template's functions, prints where it
//! listens, answers the Lambda API and the HTTP API, stops cleanly on Ctrl+C, and runs functions
//! whose template and binaries were given as paths relative to where it was started.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running `lambda-emulator` binary and what it printed.
struct Launched {
    child: tokio::process::Child,
    lambda_url: String,
    http_url: String,
    arns: Vec<String>,
}

/// Starts the binary in `cwd` with `args` (plus ephemeral ports) and reads its banner up to the
/// `functions`-th function line.
async fn launch(cwd: &Path, args: &[&str], functions: usize) -> Launched {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .current_dir(cwd)
        .args(args)
        .args(["--lambda-port", "0", "--http-port", "0"])
        // `cargo xtask test` sets this; the binary must find the binaries the test means.
        .env_remove("SHOPFLOW_BIN_DIR")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut lambda_url, mut http_url, mut arns) = (None, None, Vec::new());
    while arns.len() < functions {
        let line = lines.next_line().await.unwrap().expect("the binary stopped before printing its functions");
        if let Some(url) = line.strip_prefix("Lambda API: ") {
            lambda_url = Some(url.trim().to_owned());
        } else if let Some(url) = line.strip_prefix("HTTP API:") {
            http_url = Some(url.trim().to_owned());
        } else if let Some(arn) = line.strip_prefix("function:") {
            arns.push(arn.trim().to_owned());
        }
    }
    let (lambda_url, http_url) = (lambda_url.expect("Lambda API address"), http_url.expect("HTTP API address"));
    Launched { child, lambda_url, http_url, arns }
}

/// Ctrl+C, and the binary exits cleanly.
async fn interrupt(mut child: tokio::process::Child) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id().unwrap() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.success(), "clean exit on Ctrl+C: {status}");
}

#[tokio::test]
async fn serves_a_template_and_prints_its_addresses() {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/template.yaml");
    let override_binary = format!("IngestFunction={}", test_fn_binary().display());
    let args = ["--template", template.to_str().unwrap(), "--stack-name", "shop", "--idle-timeout", "5", "--function-binary", &override_binary];
    let Launched { child, lambda_url, http_url, arns } = launch(Path::new(env!("CARGO_MANIFEST_DIR")), &args, 3).await;
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

    interrupt(child).await;
}

/// The reported failure: `--template template.yaml` from a workspace root resolved the binary as
/// `target/debug/<name>`, which the function's process (started in its task root) could not find.
/// Here the folder is a fresh stand-in for a workspace root, holding the template and
/// `target/debug/emulator-test-fn`.
#[tokio::test]
async fn relative_template_and_bin_dir_paths_run_the_function() {
    let root = temp_dir("workspace");
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::os::unix::fs::symlink(test_fn_binary(), root.join("target/debug/emulator-test-fn")).unwrap();
    std::fs::write(
        root.join("template.yaml"),
        "Resources:\n  Worker:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: emulator-test-fn\n    Properties:\n      FunctionName: worker\n      Handler: bootstrap\n",
    )
    .unwrap();
    let task_root = std::path::absolute(root.join("target/debug")).unwrap();

    let variants: [&[&str]; 3] =
        [&["--template", "template.yaml"], &["--template", "./template.yaml", "--bin-dir", "target/debug"], &["--bin-dir", "target/../target/debug"]];
    for args in variants {
        let Launched { child, lambda_url, .. } = launch(&root, args, 1).await;
        let response = client()
            .post(format!("{lambda_url}/2015-03-31/functions/worker/invocations"))
            .json(&json!({ "action": "env", "names": ["LAMBDA_TASK_ROOT"] }))
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("x-amz-function-error").is_none(), "{args:?}: {}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        let seen = Path::new(body["env"]["LAMBDA_TASK_ROOT"].as_str().unwrap());
        assert!(seen.is_absolute(), "{args:?}: LAMBDA_TASK_ROOT {seen:?}");
        assert_eq!(std::fs::canonicalize(seen).unwrap(), std::fs::canonicalize(&task_root).unwrap(), "{args:?}");
        interrupt(child).await;
    }
}
