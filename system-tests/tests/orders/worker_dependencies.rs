//! The local worker's dependencies being down: a clear error, not a hang or a silent exit.

use std::process::Command;
use std::time::Duration;

#[test]
fn local_worker_exits_with_a_clear_error_when_temporal_is_unreachable() {
    let bin = devstack::apps::built_bin("local-worker").unwrap();
    let port = devstack::ports::pick_free_port().unwrap(); // nothing listens there
    let mut child = Command::new(bin)
        .env(
            "TEMPORAL_CONFIG_FILE",
            devstack::paths::workspace_root().join("temporal.toml"),
        )
        .env("TEMPORAL_ADDRESS", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "local-worker hung with Temporal down"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success());
    assert!(stderr.contains("connecting to Temporal"), "{stderr}");
}

#[test]
fn local_worker_rejects_a_bad_temporal_toml_profile() {
    let bin = devstack::apps::built_bin("local-worker").unwrap();
    let output = Command::new(bin)
        .env(
            "TEMPORAL_CONFIG_FILE",
            devstack::paths::workspace_root().join("temporal.toml"),
        )
        .env("TEMPORAL_PROFILE", "no-such-profile")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("no-such-profile") || stderr.contains("profile"),
        "{stderr}"
    );
}
