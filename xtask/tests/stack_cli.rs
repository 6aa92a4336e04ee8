//! `cargo xtask stack …` as a user runs it: the real binary, real services, real signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use devstack::ports::{is_listening, pick_free_port};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// Reads the child's stderr on a thread; returns everything up to the first line containing
/// `marker`, or everything until the child closed stderr.
fn read_until(child: &mut Child, marker: &'static str) -> (bool, String) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    // Generous: the first run installs both tools (~1 min) on a busy machine.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(600)) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            return (true, seen);
        }
    }
    (false, seen)
}

fn status(temporal: u16, sqs: u16) -> std::process::Output {
    xtask()
        .args([
            "stack",
            "status",
            "--temporal-port",
            &temporal.to_string(),
            "--sqs-port",
            &sqs.to_string(),
        ])
        .output()
        .unwrap()
}

#[test]
fn stack_up_serves_until_ctrl_c_then_stops_everything() {
    let (temporal, ui, sqs) = (
        pick_free_port().unwrap(),
        pick_free_port().unwrap(),
        pick_free_port().unwrap(),
    );
    let mut child = xtask()
        .args([
            "stack",
            "up",
            "--temporal-port",
            &temporal.to_string(),
            "--ui-port",
            &ui.to_string(),
        ])
        .args([
            "--sqs-port",
            &sqs.to_string(),
            "--lambda-endpoint",
            "http://127.0.0.1:9",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (ready, output) = read_until(&mut child, "Press Ctrl+C");
    assert!(ready, "stack up never got ready:\n{output}");
    assert!(
        output.contains(&format!("127.0.0.1:{temporal}")),
        "{output}"
    );
    assert!(
        output.contains(&format!("http://127.0.0.1:{sqs}")),
        "{output}"
    );
    assert!(
        output.contains(&format!("http://127.0.0.1:{ui}")),
        "{output}"
    );

    let up = status(temporal, sqs);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(is_listening(ui), "the Web UI should be served");

    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "stack up should exit cleanly on Ctrl+C: {exit}"
    );
    for port in [temporal, ui, sqs] {
        assert!(
            !is_listening(port),
            "port {port} still answers after Ctrl+C"
        );
    }
    assert!(
        !status(temporal, sqs).status.success(),
        "status must report a stopped stack"
    );
}

#[test]
fn stack_up_on_a_busy_port_fails_and_leaves_nothing_running() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().port();
    let (temporal, ui) = (pick_free_port().unwrap(), pick_free_port().unwrap());
    let out = xtask()
        .args([
            "stack",
            "up",
            "--temporal-port",
            &temporal.to_string(),
            "--ui-port",
            &ui.to_string(),
        ])
        .args(["--sqs-port", &busy.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    // The Temporal server that did start alongside was stopped again.
    assert!(!is_listening(temporal) && !is_listening(ui), "{stderr}");
}

#[test]
fn status_of_nothing_fails_and_says_why() {
    let out = status(pick_free_port().unwrap(), pick_free_port().unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no healthy Temporal server") && stderr.contains("no LocalStack"),
        "{stderr}"
    );
}
