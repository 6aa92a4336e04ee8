//! The real binary as a child process: the stdout contract, restarts keeping state, graceful
//! SIGTERM, and clear startup errors.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{Answer, read};

const BIN: &str = env!("CARGO_BIN_EXE_storefront");

/// A running storefront process and its base URL.
struct Running {
    child: Child,
    base: String,
}

async fn start(db: &Path) -> Running {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("storefront starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // A generous bound only so a broken binary fails the test instead of hanging it.
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("storefront announces its address")
        .unwrap()
        .expect("a line on stdout");
    let base = line
        .strip_prefix("storefront listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Running {
        base: base.to_owned(),
        child,
    }
}

impl Running {
    async fn post(&self, path: &str, key: &str, body: &serde_json::Value) -> Answer {
        let request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", key)
            .json(body);
        read(request.send().await.unwrap()).await
    }

    async fn ledger(&self) -> serde_json::Value {
        read(reqwest::get(format!("{}/ledger", self.base)).await.unwrap())
            .await
            .body
    }

    /// SIGTERM, then wait: a graceful shutdown exits successfully.
    async fn stop(mut self) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().await.unwrap();
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    }
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let body = json!({ "orderId": "order-r", "items": [{ "sku": "CAP-NAVY", "quantity": 4 }] });

    let first = start(&db).await;
    let created = first
        .post("/inventory/reservations", "restart-key", &body)
        .await;
    created.assert_status(201);
    first.stop().await;

    let second = start(&db).await;
    let ledger = second.ledger().await;
    assert_eq!(
        ledger["stock"]["CAP-NAVY"], 6,
        "stock is not re-seeded on restart"
    );
    assert_eq!(ledger["effects"].as_array().unwrap().len(), 1);
    // The idempotency record survived too: the retry replays instead of reserving again.
    let retry = second
        .post("/inventory/reservations", "restart-key", &body)
        .await;
    retry.assert_status(201);
    assert!(retry.replayed());
    assert_eq!(retry.body, created.body);
    assert_eq!(second.ledger().await["stock"]["CAP-NAVY"], 6);
    second.stop().await;
}

/// The database is in WAL mode while the shop runs, and a SIGKILL (no shutdown at all) loses
/// nothing that was answered: effects, stock and idempotency records are there after a restart.
#[tokio::test]
async fn wal_state_survives_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let reserve = json!({ "orderId": "order-k", "items": [{ "sku": "CAP-NAVY", "quantity": 3 }] });
    let charge =
        json!({ "orderId": "order-k", "customerId": "c1", "amountMinor": 700, "currency": "USD" });

    let mut first = start(&db).await;
    let reserved = first
        .post("/inventory/reservations", "kill-reserve", &reserve)
        .await;
    reserved.assert_status(201);
    let charged = first
        .post("/payments/charges", "kill-charge", &charge)
        .await;
    charged.assert_status(201);
    // Asked from outside, through the file, while the shop holds it open.
    let mode: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(
        dir.path().join("shop.db-wal").exists(),
        "no write-ahead log next to {}",
        db.display()
    );
    first.child.kill().await.unwrap();

    let second = start(&db).await;
    let ledger = second.ledger().await;
    assert_eq!(ledger["stock"]["CAP-NAVY"], 7, "{ledger}");
    let kinds: Vec<&str> = ledger["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reserve", "charge"], "{ledger}");
    for (path, key, body, first_answer) in [
        (
            "/inventory/reservations",
            "kill-reserve",
            &reserve,
            &reserved,
        ),
        ("/payments/charges", "kill-charge", &charge, &charged),
    ] {
        let retry = second.post(path, key, body).await;
        retry.assert_status(201);
        assert!(retry.replayed(), "{path}");
        assert_eq!(retry.body, first_answer.body, "{path}");
    }
    assert_eq!(
        second.ledger().await["effects"].as_array().unwrap().len(),
        2
    );
    second.stop().await;
}

#[tokio::test]
async fn a_database_without_wal_is_a_startup_error() {
    // SQLite keeps an in-memory database in journal mode "memory": it cannot do WAL. A shop
    // that only warned would keep running; the bound makes that a failure instead of a hang.
    let stderr = tokio::time::timeout(
        Duration::from_secs(60),
        startup_error(&["--db", ":memory:"]),
    )
    .await
    .expect("the shop must refuse to start without WAL, not run");
    assert!(stderr.contains("refused WAL mode"), "{stderr}");
}

/// Runs the binary expecting a startup failure; returns its stderr.
async fn startup_error(args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "off")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success(), "startup must fail for {args:?}");
    assert!(output.stdout.is_empty(), "no 'listening' line on failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn unusable_database_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no-such-dir").join("shop.db");
    let stderr = startup_error(&["--db", missing_dir.to_str().unwrap()]).await;
    assert!(
        stderr.contains("cannot open the storefront database"),
        "{stderr}"
    );

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42_u8; 8192]).unwrap();
    let stderr = startup_error(&["--db", garbage.to_str().unwrap()]).await;
    assert!(
        stderr.contains("cannot open the storefront database") && stderr.contains("not a database"),
        "{stderr}"
    );
}

#[tokio::test]
async fn bad_config_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let config = dir.path().join("shop.toml");
    std::fs::write(&config, "[faults]\nerrorRate = 3.0\n").unwrap();
    let stderr = startup_error(&[
        "--db",
        db.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ])
    .await;
    assert!(
        stderr.contains("errorRate must be between 0 and 1"),
        "{stderr}"
    );

    let stderr = startup_error(&[
        "--db",
        db.to_str().unwrap(),
        "--config",
        "/no/such/config.json",
    ])
    .await;
    assert!(stderr.contains("cannot read config file"), "{stderr}");
}

#[tokio::test]
async fn config_file_and_env_shape_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let config = dir.path().join("shop.json");
    let catalog = json!({ "catalog": [
        { "sku": "WIDGET", "name": "Widget", "unitPriceMinor": 999, "currency": "EUR", "initialStock": 2 }
    ]});
    std::fs::write(&config, catalog.to_string()).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .env("SHOPFLOW_DECLINE_ABOVE_MINOR", "50")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let running = Running {
        base: line.replace("storefront listening on ", ""),
        child,
    };

    let catalog = read(
        reqwest::get(format!("{}/catalog", running.base))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        catalog.body["items"],
        json!([{ "sku": "WIDGET", "name": "Widget", "unitPriceMinor": 999, "currency": "EUR", "available": 2 }])
    );
    let body = json!({ "orderId": "o1", "customerId": "c1", "amountMinor": 51, "currency": "EUR" });
    running
        .post("/payments/charges", "k1", &body)
        .await
        .assert_problem(402, "card-declined");
    running.stop().await;
}

#[tokio::test]
async fn json_logs_go_to_stderr_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()])
        .env("SHOPFLOW_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let running = Running {
        base: line.replace("storefront listening on ", ""),
        child,
    };
    let body = json!({ "orderId": "o1", "customerId": "c1", "amountMinor": 5, "currency": "USD" });
    running
        .post("/payments/charges", "log-key", &body)
        .await
        .assert_status(201);
    running.stop().await;
    // Exactly one stdout line: everything else went to stderr.
    assert_eq!(stdout.next_line().await.unwrap(), None);

    let mut logs = Vec::new();
    let mut stderr = BufReader::new(stderr).lines();
    while let Some(line) = stderr.next_line().await.unwrap() {
        let entry: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        logs.push(entry);
    }
    let request_log = logs
        .iter()
        .find(|entry| entry["fields"]["route"] == "/payments/charges")
        .expect("a log line for the charge");
    assert_eq!(request_log["fields"]["status"], 201);
}
