//! The emulator runs a function that is not Rust: the Python Temporal SDK's Lambda worker
//! (`temporalio.contrib.aws.lambda_worker`, started by AWS's runtime interface client
//! `awslambdaric`) as a `provided.al2023` function whose `bootstrap` is a shell script. A dev
//! server's real Worker Controller invokes it through the emulator and a workflow completes on it.
//!
//! The function comes from `tests/fixtures/python-worker/template.yaml` through the emulator's
//! SAM template loader; its Python packages from the venv `devstack::python_worker` installs
//! (`cargo xtask test` installs it before the tests; run alone, this test installs it itself).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use devstack::python_worker::PythonWorkerFunction;
use devstack::{TemporalDevServer, TemporalOptions};
use lambda_emulator::EmulatorConfig;
use lambda_emulator::template::{self, TemplateOptions};

/// How long the workflow may take from start to result: seconds when all is well, but a cold
/// Python start and two busy cores can stretch that, and a broken setup must fail, not hang.
const WORKFLOW_BOUND: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdks_lambda_worker_completes_a_workflow_invoked_by_the_worker_controller() {
    let python = tokio::task::spawn_blocking(devstack::python_worker::ensure_python_lambda_worker)
        .await
        .unwrap()
        .expect("the Python Lambda worker's venv");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let id = &id[..12];
    let logs = temp_dir("python-worker-logs");

    // The server needs the emulator's address when it starts, and the function the server's: bind
    // the emulator first, with no function, and register the function once the server runs (the
    // server looks at it only when the version is created).
    let mut emulator = start_with(
        EmulatorConfig {
            log_dir: Some(logs.clone()),
            ..test_config()
        },
        Vec::new(),
    )
    .await;
    let lambda_endpoint = emulator.lambda_url();
    let server = tokio::task::spawn_blocking(move || {
        TemporalDevServer::start(TemporalOptions {
            lambda_endpoint: Some(lambda_endpoint),
            ..TemporalOptions::default()
        })
    })
    .await
    .unwrap()
    .expect("a dev server whose Worker Controller calls the emulator");

    // A deployment and task queue of this run's own: the version carries this run's function. The
    // two names differ: registration waits until the version's description names the task queue.
    let deployment = format!("python-worker-{id}");
    let task_queue = format!("greetings-{id}");
    let fixture = PythonWorkerFunction {
        function_name: format!("py-worker-{id}"),
        temporal_address: server.address(),
        task_queue: task_queue.clone(),
        deployment: deployment.clone(),
        build_id: "v1".to_owned(),
        python,
    };
    let mut options = TemplateOptions::new(PythonWorkerFunction::fixture_dir());
    options.binaries.insert(
        PythonWorkerFunction::LOGICAL_ID.into(),
        PythonWorkerFunction::bootstrap(),
    );
    options.parameters.extend(fixture.parameters());
    let mut functions =
        template::load(&PythonWorkerFunction::template(), &options).expect("the fixture template");
    assert_eq!(functions.len(), 1, "the fixture template has one function");
    let function = functions.remove(0);
    let name = function.name.clone();
    let arn = emulator.register(function);
    let log_file = logs.join(format!("{name}.log"));

    // create-version (GetFunction, then an Event invoke whose worker's first poll attaches the task
    // queue to the version), wait for that poll, make the version current.
    let registered = tokio::task::spawn_blocking({
        let (address, deployment, task_queue, arn) = (
            server.address(),
            deployment.clone(),
            task_queue.clone(),
            arn.clone(),
        );
        move || devstack::register_lambda_version(&address, &deployment, "v1", &task_queue, &arn)
    })
    .await
    .unwrap();
    if let Err(error) = registered {
        panic!(
            "registering {deployment}:v1 with {arn}: {error:#}\n{}",
            function_log(&log_file)
        );
    }
    assert!(
        emulator.api_calls("GetFunction") >= 1,
        "create-version checks the function with GetFunction"
    );

    // Right after registration the worker of the registration invocation normally still polls.
    let greeter = Greeter {
        server: &server,
        task_queue: &task_queue,
        log_file: &log_file,
    };
    let took = greeter.greets(&format!("greet-{id}-1"), &name).await;
    eprintln!("workflow 1 (right after registration): started -> completed in {took:?}");

    // Once no invocation runs (so no worker polls), a new workflow's task finds no poller: the
    // Controller must invoke the function again, and a warm Python process runs the handler once
    // more, in a fresh event loop.
    eventually("the function's invocations to end", async || {
        let stats = emulator.stats(&name)?;
        (stats.concurrent_executions == 0 && stats.async_events_pending == 0).then_some(())
    })
    .await;
    let invokes = emulator.api_calls("Invoke:Event");
    let took = greeter.greets(&format!("greet-{id}-2"), &name).await;
    eprintln!("workflow 2 (invoked for it, no worker polling): started -> completed in {took:?}");
    assert!(
        emulator.api_calls("Invoke:Event") > invokes,
        "the Worker Controller invoked the function for the waiting task"
    );
    assert_eq!(
        emulator.api_calls("Invoke:RequestResponse"),
        0,
        "the Worker Controller invokes asynchronously"
    );
    let stats = emulator.stats(&name).expect("the function's stats");
    assert_eq!(
        stats.errors,
        0,
        "no invocation failed:\n{}",
        function_log(&log_file)
    );
    eprintln!(
        "{} invocations, {} cold start(s), init {:.0} ms at most",
        stats.invocations, stats.cold_starts, stats.init_duration_ms_max
    );

    // An invocation still polling is ended when the test's runtime drops the emulator's tasks.
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap()
        .expect("stop the dev server");
}

/// Starts `Greet` workflows on the Python worker's task queue and checks their outcome.
struct Greeter<'a> {
    server: &'a TemporalDevServer,
    task_queue: &'a str,
    log_file: &'a Path,
}

impl Greeter<'_> {
    /// Starts `Greet("emulator")` as `workflow_id`, waits for its result and checks that it
    /// completed in function `function`; returns the time from start to result. On failure, the
    /// message holds the workflow's state and the function's log.
    async fn greets(&self, workflow_id: &str, function: &str) -> Duration {
        let started = Instant::now();
        let args = [
            "workflow",
            "start",
            "--type",
            "Greet",
            "--task-queue",
            self.task_queue,
            "--workflow-id",
            workflow_id,
            "--input",
            "\"emulator\"",
        ];
        let start = temporal(self.server, &args).await;
        assert!(start.success, "temporal workflow start: {}", start.stderr);
        // `workflow result` waits for the workflow to close; --command-timeout bounds the wait.
        let bound = format!("{}s", WORKFLOW_BOUND.as_secs());
        let result = temporal(
            self.server,
            &[
                "workflow",
                "result",
                "--workflow-id",
                workflow_id,
                "--output",
                "json",
                "--command-timeout",
                &bound,
            ],
        )
        .await;
        let took = started.elapsed();
        let parsed: serde_json::Value = serde_json::from_str(&result.stdout).unwrap_or_default();
        if parsed["status"] != "COMPLETED" {
            let described = temporal(
                self.server,
                &["workflow", "describe", "--workflow-id", workflow_id],
            )
            .await;
            panic!(
                "workflow {workflow_id} did not complete within {WORKFLOW_BOUND:?} (gave up after {took:?}): {}{}\n\
                 describe:\n{}\n{}",
                result.stdout,
                result.stderr,
                described.stdout,
                function_log(self.log_file)
            );
        }
        assert_eq!(
            parsed["result"],
            format!("Hello, emulator, from {function}"),
            "the activity names the function it ran in"
        );
        // The Lambda worker names itself `<request id>@<invoked function ARN>` from the Lambda
        // context, which awslambdaric fills from the headers of the emulator's Runtime API.
        let history = temporal(
            self.server,
            &[
                "workflow",
                "show",
                "--workflow-id",
                workflow_id,
                "--output",
                "json",
            ],
        )
        .await;
        let arn = format!("@arn:aws:lambda:us-east-1:000000000000:function:{function}\"");
        assert!(
            history.stdout.contains(&arn),
            "no task of {workflow_id} was done by a worker named …{arn}: {}",
            history.stdout
        );
        took
    }
}

struct CliOutput {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `temporal <args>` against `server`, off the async threads.
async fn temporal(server: &TemporalDevServer, args: &[&str]) -> CliOutput {
    let mut command = server.cli();
    command.args(args);
    tokio::task::spawn_blocking(move || {
        let out = command.output().expect("run the Temporal CLI");
        CliOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// The function's output (awslambdaric's and the SDK's logs, errors at init), for a failure message.
fn function_log(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => format!("function log {}:\n{text}", path.display()),
        Err(error) => format!("no function log at {} ({error})", path.display()),
    }
}
