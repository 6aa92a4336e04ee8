//! `push-events` as a user runs it: the real binary against a real LocalStack queue.

use std::process::Command;

async fn queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap()
}

/// Messages waiting on the queue (nothing here receives them).
async fn depth(client: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let depth = devstack::sqs::depth(client, url)
        .await
        .expect("queue depth");
    depth.visible
}

fn push_events(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_push-events"))
        .args(args)
        .env("AWS_ENDPOINT_URL_SQS", endpoint)
        .env_remove("AWS_REGION")
        .env_remove("AWS_ACCESS_KEY_ID")
        .output()
        .expect("run push-events")
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_orders_and_sample_files_reach_the_queue() {
    let localstack = tokio::task::spawn_blocking(devstack::localstack_for_tests)
        .await
        .unwrap()
        .expect("LocalStack");
    let endpoint = localstack.endpoint();
    let client = aws_clients::sqs_client(Some(&endpoint), None).await;
    let name = format!("push-{}", ulid::Ulid::new().to_string().to_lowercase());
    let url = queue(&client, &name).await;

    // By name, with a mix: 1000 messages, every one on the queue.
    let out = push_events(
        &endpoint,
        &[
            "generate",
            "--queue",
            &name,
            "-n",
            "1000",
            "--invalid-percent",
            "10",
            "--duplicate-percent",
            "5",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent 1000 of 1000 messages"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("850 valid, 100 invalid, 50 duplicates"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    assert_eq!(depth(&client, &url).await, 1000);

    // By URL, the sample files.
    let samples = std::fs::read_dir(devstack::workspace_root().join("events/orders"))
        .unwrap()
        .count();
    let events = devstack::workspace_root().join("events/orders");
    let out = push_events(
        &endpoint,
        &["files", "--queue", &url, events.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(depth(&client, &url).await, 1000 + samples as u64);

    // A queue that does not exist is a clear error, not a hang.
    let out = push_events(
        &endpoint,
        &["generate", "--queue", "no-such-queue", "-n", "1"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-queue"));
    let _ = client.delete_queue().queue_url(&url).send().await;
}
