//! `examples/hello_worker.rs` as a user would run it: built as a Lambda `bootstrap`, served by
//! the project's Lambda emulator (as strict as Lambda about Init, shutdown and memory), and
//! invoked by a real Temporal dev server's Worker Controller once its version is registered
//! with the function's ARN. A workflow started with no worker polling completes, and every one
//! of its tasks ran in a Lambda invocation.
//!
//! `cargo xtask test` builds the example (`cargo build --workspace --bins --examples`).

mod support;

use support::{ExampleStack, FUNCTION};

/// `temporal <args>` against the server; its stdout, or a panic with its stderr.
fn temporal_cli(temporal: &devstack::TemporalDevServer, args: &[&str]) -> String {
    let out = temporal
        .cli()
        .args(args)
        .output()
        .expect("running the Temporal CLI");
    assert!(
        out.status.success(),
        "temporal {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The identities of the workers that ran a history's tasks: every `identity` inside a
/// `…TaskStarted…` / `…TaskCompleted…` event's attributes (the start event's is the client's).
fn task_identities(history: &serde_json::Value, in_task_event: bool, found: &mut Vec<String>) {
    match history {
        serde_json::Value::Object(fields) => {
            for (key, value) in fields {
                match value {
                    serde_json::Value::String(s) if key == "identity" && in_task_event => {
                        found.push(s.clone())
                    }
                    _ => task_identities(
                        value,
                        in_task_event || (key.contains("Task") && key.ends_with("Attributes")),
                        found,
                    ),
                }
            }
        }
        serde_json::Value::Array(items) => items
            .iter()
            .for_each(|v| task_identities(v, in_task_event, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_completes_a_workflow_when_the_worker_controller_invokes_it() {
    let stack = ExampleStack::start("hello", &[]).await;
    let (temporal, task_queue) = (&stack.temporal, &stack.task_queue);
    let arn = stack.emulator.function_arn(FUNCTION);

    let workflow_id = format!("greeting-{}", std::process::id());
    let result = temporal_cli(
        temporal,
        &[
            "workflow",
            "execute",
            "--type",
            "Greeting",
            "--task-queue",
            task_queue,
            "--workflow-id",
            &workflow_id,
            "--input",
            "\"Lambda\"",
            // A worker that never comes fails the test instead of hanging it.
            "--execution-timeout",
            "60s",
            "-o",
            "json",
        ],
    );
    assert!(result.contains("Hello, Lambda!"), "{result}");

    let history = temporal_cli(
        temporal,
        &[
            "workflow",
            "show",
            "--workflow-id",
            &workflow_id,
            "-o",
            "json",
        ],
    );
    let mut found = Vec::new();
    task_identities(&serde_json::from_str(&history).unwrap(), false, &mut found);
    assert!(!found.is_empty(), "{history}");
    assert!(
        found.iter().all(|i| i.ends_with(&format!("@{arn}"))),
        "every task ran in a Lambda invocation (`<request id>@<function ARN>`): {found:?}"
    );
    assert!(stack.emulator.stats(FUNCTION).unwrap().invocations >= 1);

    stack.stop().await;
}
