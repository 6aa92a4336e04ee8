//! The `lambda-emulator` binary end to end: serves a SAM template's functions — the project's own
//! `template.yaml` with its real function binaries too — prints where it listens, answers the
//! Lambda API and the HTTP API, stops cleanly on Ctrl+C and on SIGTERM (ending its environments'
//! processes), and runs functions whose template and binaries were given as paths relative to
//! where it was started.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use nix::sys::signal::Signal;
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
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the binary stopped before printing its functions");
        if let Some(url) = line.strip_prefix("Lambda API: ") {
            lambda_url = Some(url.trim().to_owned());
        } else if let Some(url) = line.strip_prefix("HTTP API:") {
            http_url = Some(url.trim().to_owned());
        } else if let Some(arn) = line.strip_prefix("function:") {
            arns.push(arn.trim().to_owned());
        }
    }
    let (lambda_url, http_url) = (
        lambda_url.expect("Lambda API address"),
        http_url.expect("HTTP API address"),
    );
    Launched {
        child,
        lambda_url,
        http_url,
        arns,
    }
}

/// Ctrl+C, and the binary exits cleanly.
async fn interrupt(child: tokio::process::Child) {
    stop(child, Signal::SIGINT).await;
}

/// Sends `signal` to the binary and expects a clean exit.
async fn stop(mut child: tokio::process::Child, signal: Signal) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        signal,
    )
    .unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.success(), "clean exit on {signal}: {status}");
}

/// The fixture template with the test function standing in for its ingest function.
fn fixture_args() -> Vec<String> {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/template.yaml");
    let override_binary = format!("IngestFunction={}", test_fn_binary().display());
    [
        "--template",
        template.to_str().unwrap(),
        "--stack-name",
        "shop",
        "--idle-timeout",
        "5",
        "--function-binary",
        &override_binary,
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn serves_a_template_and_prints_its_addresses() {
    let args = fixture_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Launched {
        child,
        lambda_url,
        http_url,
        arns,
    } = launch(Path::new(env!("CARGO_MANIFEST_DIR")), &args, 3).await;
    assert!(
        lambda_url.starts_with("http://127.0.0.1:") && http_url.starts_with("http://127.0.0.1:")
    );
    assert!(
        arns.contains(&"arn:aws:lambda:us-east-1:000000000000:function:shop-ingest".to_owned()),
        "{arns:?}"
    );

    let configuration: Value = client()
        .get(format!("{lambda_url}/2015-03-31/functions/shop-worker-dev"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(configuration["Configuration"]["Timeout"], 900);
    assert_eq!(
        configuration["Concurrency"]["ReservedConcurrentExecutions"],
        20
    );

    let response = client()
        .post(format!("{http_url}/orders"))
        .json(&json!({ "orderId": "o-9" }))
        .send()
        .await
        .unwrap();
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
    let root = workspace_with_test_fn("workspace", "Handler: bootstrap\n");
    let task_root = std::path::absolute(root.join("target/debug")).unwrap();

    let variants: [&[&str]; 3] = [
        &["--template", "template.yaml"],
        &["--template", "./template.yaml", "--bin-dir", "target/debug"],
        &["--bin-dir", "target/../target/debug"],
    ];
    for args in variants {
        let Launched {
            child, lambda_url, ..
        } = launch(&root, args, 1).await;
        let response = client()
            .post(format!(
                "{lambda_url}/2015-03-31/functions/worker/invocations"
            ))
            .json(&json!({ "action": "env", "names": ["LAMBDA_TASK_ROOT"] }))
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("x-amz-function-error").is_none(),
            "{args:?}: {}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        let seen = Path::new(body["env"]["LAMBDA_TASK_ROOT"].as_str().unwrap());
        assert!(seen.is_absolute(), "{args:?}: LAMBDA_TASK_ROOT {seen:?}");
        assert_eq!(
            std::fs::canonicalize(seen).unwrap(),
            std::fs::canonicalize(&task_root).unwrap(),
            "{args:?}"
        );
        interrupt(child).await;
    }
}

/// devstack (and any supervisor) stops the emulator with SIGTERM. Environments run in their own
/// process groups, so unless the emulator shuts them down they outlive it as orphans.
#[tokio::test]
async fn sigterm_shuts_the_environments_down_before_exiting() {
    let args = fixture_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Launched {
        child, lambda_url, ..
    } = launch(Path::new(env!("CARGO_MANIFEST_DIR")), &args, 3).await;
    let pid = warm_environment(&lambda_url).await;
    assert!(
        process_alive(pid),
        "a warm environment waits for the next invocation"
    );
    stop(child, Signal::SIGTERM).await;
    assert!(
        !process_alive(pid),
        "the environment's process {pid} outlived the emulator"
    );
}

/// A SIGKILLed emulator cannot shut anything down; its environments must still not outlive it
/// (a worker-fn in the middle of an invocation would otherwise keep polling Temporal for up to
/// its 300 s timeout). The environment here is busy with a 60 s invocation when the emulator is
/// killed — a frozen one would be ended by the kernel anyway (an orphaned process group with a
/// stopped member gets SIGHUP), a running one only by the parent-death signal.
#[tokio::test]
async fn no_environment_outlives_a_sigkilled_emulator() {
    let args = fixture_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Launched {
        mut child,
        lambda_url,
        ..
    } = launch(Path::new(env!("CARGO_MANIFEST_DIR")), &args, 3).await;
    let pid = warm_environment(&lambda_url).await;
    let url = ingest_invocations(&lambda_url);
    // The same (only) environment now works on a long invocation.
    let busy = tokio::spawn(
        client()
            .post(&url)
            .json(&json!({ "action": "sleep", "ms": 60_000 }))
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(process_running(pid), "the environment is busy, not gone");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    busy.abort();
    // The kernel delivers the parent-death signal at once; reaping the orphan is its new
    // parent's job, so allow a moment (bounded: a failure must not hang).
    let gone = async {
        while process_running(pid) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), gone)
        .await
        .unwrap_or_else(|_| {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL).ok();
            panic!("the environment's process {pid} outlived a SIGKILLed emulator")
        });
}

fn ingest_invocations(lambda_url: &str) -> String {
    format!("{lambda_url}/2015-03-31/functions/shop-ingest/invocations")
}

/// Invokes the fixture's ingest function once (an echo) and returns its environment's process.
async fn warm_environment(lambda_url: &str) -> u32 {
    let body: Value = client()
        .post(ingest_invocations(lambda_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    u32::try_from(body["pid"].as_u64().expect("the echo names its process")).unwrap()
}

/// The project's own `template.yaml` with the project's built functions (`cargo build --bins`
/// first): both functions are served under their template names, and `POST /orders` reaches the
/// ingest function — which, unsigned, refuses the order (401), or 503 if it cannot reach Temporal
/// (none runs here); either answer comes from the function, so the route works.
#[tokio::test]
async fn serves_the_projects_template_with_its_functions() {
    let root = devstack::workspace_root();
    let bin_dir = devstack::bin_dir();
    for binary in ["ingest-fn", "worker-fn"] {
        assert!(
            bin_dir.join(binary).exists(),
            "{} is not built: run `cargo build --bins` first",
            bin_dir.join(binary).display()
        );
    }
    let template = root.join("template.yaml").display().to_string();
    let bin_dir = bin_dir.display().to_string();
    let temporal_config = format!(
        "TEMPORAL_CONFIG_FILE={}",
        root.join("temporal.toml").display()
    );
    let args = [
        "--template",
        &template,
        "--bin-dir",
        &bin_dir,
        "--parameter",
        "TemporalProfile=default",
        "--env",
        &temporal_config,
        "--env",
        "TEMPORAL_ADDRESS=127.0.0.1:1",
        "--env",
        "SHOPFLOW_INGEST_SECRET=binary-test-secret-binary-test-secret",
    ];
    let Launched {
        child,
        lambda_url,
        http_url,
        arns,
    } = launch(&root, &args, 2).await;
    for name in ["shopflow-ingest", "shopflow-worker"] {
        assert!(
            arns.contains(&format!(
                "arn:aws:lambda:us-east-1:000000000000:function:{name}"
            )),
            "{arns:?}"
        );
    }

    let get = async |name: &str| -> Value {
        let response = client()
            .get(format!("{lambda_url}/2015-03-31/functions/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GetFunction {name}");
        response.json().await.unwrap()
    };
    let ingest = get("shopflow-ingest").await;
    assert_eq!(ingest["Configuration"]["Timeout"], 30);
    assert!(
        ingest["Configuration"]["CodeSize"].as_u64().unwrap() > 0,
        "the real binary: {ingest}"
    );
    let worker = get("shopflow-worker").await;
    assert_eq!(worker["Configuration"]["Timeout"], 300);
    assert_eq!(worker["Configuration"]["MemorySize"], 256);
    assert_eq!(worker["Concurrency"]["ReservedConcurrentExecutions"], 20);

    let response = client()
        .post(format!("{http_url}/orders"))
        .json(&json!({ "orderId": "o-binary-test" }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert!(
        status == 401 || status == 503,
        "the ingest function's answer to an unsigned order: {status} {body}"
    );
    let metrics: Value = client()
        .get(format!("{lambda_url}/_emulator/metrics"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metrics["functions"]["shopflow-ingest"]["stats"]["invocations"], 1,
        "POST /orders invoked shopflow-ingest"
    );
    assert_eq!(
        metrics["functions"]["shopflow-ingest"]["stats"]["errors"], 0,
        "{body}"
    );

    interrupt(child).await;
}

/// What `sam local invoke -e event.json --env-vars env.json` users expect: one function, one
/// event, the answer on stdout, the function's output (with `START`/`END`/`REPORT`) on stderr,
/// variables from a SAM-shaped file, exit status 1 when the function failed.
#[tokio::test]
async fn invoke_runs_one_function_once_with_an_event_and_env_vars_file() {
    let root = workspace_with_test_fn(
        "invoke",
        "Environment:\n        Variables:\n          GREETING: from-template\n          LEVEL: info\n",
    );
    std::fs::write(root.join("env.json"), r#"{"Parameters": {"LEVEL": "debug"}, "Worker": {"GREETING": "from-file", "EXTRA": "ignored"}}"#).unwrap();
    std::fs::write(
        root.join("event.json"),
        r#"{"action": "env", "names": ["GREETING", "LEVEL", "EXTRA"]}"#,
    )
    .unwrap();

    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
            .current_dir(&root)
            .args(args)
            .env_remove("SHOPFLOW_BIN_DIR")
            .output()
            .expect("run the binary")
    };
    let out = run(&[
        "--env-vars",
        "env.json",
        "invoke",
        "Worker",
        "--event",
        "event.json",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let answer: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is the answer alone ({e}): {stdout}"));
    assert_eq!(
        answer["env"],
        json!({ "GREETING": "from-file", "LEVEL": "debug", "EXTRA": null })
    );
    for line in ["START RequestId:", "END RequestId:", "REPORT RequestId:"] {
        assert!(stderr.contains(line), "{line} on stderr: {stderr}");
    }

    std::fs::write(
        root.join("fail.json"),
        r#"{"action": "error", "message": "boom"}"#,
    )
    .unwrap();
    let failed = run(&["invoke", "worker", "--event", "fail.json"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("boom"));

    let unknown = run(&["invoke", "nobody"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no function \"nobody\""));
    let not_json = run(&["invoke", "worker", "--event", "template.yaml"]);
    assert!(!not_json.status.success());
    assert!(String::from_utf8_lossy(&not_json.stderr).contains("not JSON"));
}

/// A folder laid out like a project: `target/debug/emulator-test-fn` and a `template.yaml` whose
/// one function, `worker` (logical ID `Worker`), runs it with `properties` (YAML at the
/// properties' indentation) besides its name.
fn workspace_with_test_fn(label: &str, properties: &str) -> std::path::PathBuf {
    let root = temp_dir(label);
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::os::unix::fs::symlink(test_fn_binary(), root.join("target/debug/emulator-test-fn"))
        .unwrap();
    let template = format!(
        "Resources:\n  Worker:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: emulator-test-fn\n    Properties:\n      FunctionName: worker\n      {properties}"
    );
    std::fs::write(root.join("template.yaml"), template).unwrap();
    root
}
