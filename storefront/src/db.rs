//! The SQLite database: opening it, its schema, and how async handlers reach it.
//!
//! One file in WAL mode holds all state, so a restart keeps stock, effects and idempotency
//! records. Access goes through ONE connection behind a mutex, always on tokio's blocking pool
//! ([`Db::call`]). Why not a pool: SQLite allows one writer at a time anyway, every mutating
//! request is a short write transaction, and a single connection makes the idempotency rule
//! ("check key, run effect, store response" atomically, per key) trivially true — two requests
//! with the same key can never interleave. Reads are cheap and rare (ledger, catalog), so they
//! share the connection rather than adding a second code path.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rusqlite::Connection;

use crate::config::CatalogItem;
use crate::problem::Problem;

/// Schema migrations, applied in order; `PRAGMA user_version` counts those already applied.
/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE stock (
    sku       TEXT PRIMARY KEY,
    available INTEGER NOT NULL CHECK (available >= 0)
) STRICT;

CREATE TABLE reservations (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    released_at TEXT
) STRICT;

CREATE TABLE reservation_items (
    reservation_id TEXT NOT NULL REFERENCES reservations (id),
    sku            TEXT NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, sku)
) STRICT;

CREATE TABLE charges (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,
    charge_id    TEXT NOT NULL UNIQUE REFERENCES charges (id),
    amount_minor INTEGER NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

CREATE TABLE shipments (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    request         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    cancelled_at    TEXT
) STRICT;

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    email      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE effects (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    reference       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    amount_minor    INTEGER,
    sku             TEXT,
    quantity        INTEGER,
    at              TEXT NOT NULL
) STRICT;
CREATE INDEX effects_by_order ON effects (order_id, seq);

CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
"#];

/// Tables emptied by `POST /admin/reset`, children first.
const RESETTABLE_TABLES: &[&str] = &[
    "reservation_items",
    "reservations",
    "refunds",
    "charges",
    "shipments",
    "notifications",
    "effects",
    "idempotency",
    "stock",
];

/// Cheap, cloneable handle to the single connection.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, migrates it and seeds stock for catalog
    /// SKUs it does not know yet. Existing stock is never touched, so a restart keeps state.
    pub fn open(path: &Path, catalog: &[CatalogItem]) -> anyhow::Result<Self> {
        let context = || format!("cannot open the storefront database at {}", path.display());
        let mut conn = Connection::open(path).with_context(context)?;
        configure(&conn).with_context(context)?;
        migrate(&mut conn).with_context(context)?;
        seed_stock(&conn, catalog).with_context(context)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool. The mutex is held for the whole call,
    /// which is what serializes transactions (see the module docs).
    pub async fn call<R, F>(&self, f: F) -> Result<R, Problem>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> R + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic mid-call leaves no open transaction behind (rusqlite rolls back on drop),
            // so the connection behind a poisoned mutex is still consistent.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(Problem::internal)
    }

    /// Deletes every order, effect and idempotency record and restores initial stock.
    pub async fn reset(&self, catalog: Vec<CatalogItem>) -> Result<(), Problem> {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            for table in RESETTABLE_TABLES {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            tx.execute("DELETE FROM sqlite_sequence WHERE name = 'effects'", [])?;
            seed_stock(&tx, &catalog)?;
            tx.commit()
        })
        .await?
        .map_err(Problem::from)
    }
}

fn configure(conn: &Connection) -> anyhow::Result<()> {
    // WAL keeps readers and the writer from blocking each other and survives crashes; NORMAL
    // sync is durable across process crashes (the failure mode tests provoke) and much faster.
    // Both promises depend on WAL (in rollback-journal mode, NORMAL risks corruption on power
    // loss, and readers wait for the writer), so a database where SQLite refuses WAL (in memory,
    // or a file system without shared memory) is a startup error, not a warning nobody reads.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        anyhow::bail!(
            "SQLite refused WAL mode (journal_mode is {mode:?}); use a database file on a local file system"
        );
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Another process (e.g. a second storefront by mistake) must not make us fail instantly.
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}

fn seed_stock(conn: &Connection, catalog: &[CatalogItem]) -> rusqlite::Result<()> {
    let mut insert =
        conn.prepare("INSERT OR IGNORE INTO stock (sku, available) VALUES (?1, ?2)")?;
    for item in catalog {
        insert.execute((item.sku.as_str(), item.initial_stock))?;
    }
    Ok(())
}

/// Current time as stored in the database and shown in the ledger (RFC 3339, UTC, millis).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
