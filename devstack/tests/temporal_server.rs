//! Starts and stops real Temporal dev servers (installing the CLI on first run).

use std::process::Command;

use devstack::ports::{closes_within, is_listening};
use devstack::{TemporalDevServer, TemporalOptions, ensure_temporal_cli, temporal_for_tests};
use std::time::Duration;

fn port_of(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_cli_is_the_pinned_release() {
    let cli = ensure_temporal_cli().unwrap();
    let version = stdout(Command::new(&cli).arg("--version"));
    assert!(
        version.contains("1.9.1") && version.contains("Server 1.32.0"),
        "{version}"
    );
}

#[test]
fn starts_healthy_with_namespaces_and_stops() {
    let server = TemporalDevServer::start(TemporalOptions {
        namespaces: vec!["shopflow-test".into()],
        ..TemporalOptions::default()
    })
    .unwrap();
    let address = server.address();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert!(server.is_owned());
    assert_eq!(
        server.ui_url(),
        None,
        "headless unless a UI port is asked for"
    );

    let health = stdout(server.cli().args(["operator", "cluster", "health"]));
    assert!(health.contains("SERVING"), "{health}");
    let namespaces = stdout(server.cli().args(["operator", "namespace", "list"]));
    assert!(namespaces.contains("shopflow-test"), "{namespaces}");

    let port = port_of(&address);
    server.stop().unwrap();
    assert!(
        closes_within(port, Duration::from_secs(5)),
        "port {port} still answers 5 s after stop"
    );
}

#[test]
fn drop_stops_the_server() {
    let server = TemporalDevServer::start(TemporalOptions::default()).unwrap();
    let port = port_of(&server.address());
    assert!(is_listening(port));
    drop(server);
    assert!(
        closes_within(port, Duration::from_secs(5)),
        "port {port} still answers 5 s after drop"
    );
}

#[test]
fn a_ui_port_serves_the_web_ui() {
    let server = TemporalDevServer::start(TemporalOptions {
        ui_port: Some(0),
        ..Default::default()
    })
    .unwrap();
    let url = server.ui_url().expect("a UI URL");
    let ui_port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(is_listening(ui_port), "{url}");
}

#[test]
fn a_busy_port_is_refused_with_a_clear_error() {
    let first = TemporalDevServer::start(TemporalOptions::default()).unwrap();
    let port = port_of(&first.address());
    let err = TemporalDevServer::start(TemporalOptions {
        port,
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("already in use"), "{err:#}");
    // The first server is unharmed.
    assert!(stdout(first.cli().args(["operator", "cluster", "health"])).contains("SERVING"));
}

#[test]
fn state_survives_a_restart_with_a_db_file() {
    let dir = devstack::paths::data_dir().join(format!("test-db-{}", std::process::id()));
    let db = dir.join("temporal.db");
    let _ = std::fs::remove_dir_all(&dir);
    let opts = TemporalOptions {
        db_file: Some(db.clone()),
        ..Default::default()
    };

    let server = TemporalDevServer::start(opts.clone()).unwrap();
    stdout(server.cli().args([
        "operator",
        "namespace",
        "create",
        "--namespace",
        "persisted",
    ]));
    server.stop().unwrap();
    assert!(db.exists());

    let again = TemporalDevServer::start(opts).unwrap();
    let namespaces = stdout(again.cli().args(["operator", "namespace", "list"]));
    assert!(namespaces.contains("persisted"), "{namespaces}");
    again.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tests_share_the_server_named_in_the_environment() {
    // Whatever the environment says, the handle must reach a healthy server.
    let server = temporal_for_tests().unwrap();
    assert_eq!(
        server.is_owned(),
        std::env::var_os(devstack::ENV_TEMPORAL_ADDRESS).is_none()
    );
    assert!(stdout(server.cli().args(["operator", "cluster", "health"])).contains("SERVING"));
}

#[test]
fn connecting_to_nothing_fails() {
    let port = devstack::ports::pick_free_port().unwrap();
    let err = TemporalDevServer::connect(&format!("127.0.0.1:{port}")).unwrap_err();
    assert!(
        err.to_string().contains("no healthy Temporal server"),
        "{err}"
    );
}
