//! Throughput of idempotent charge creation, end to end over real HTTP and a real SQLite file.
//!
//! Prints requests/s for (a) fresh charges, each under a new `Idempotency-Key` (one write
//! transaction each), and (b) replays of already-stored keys (one read inside the write lock).
//! Run: `cargo bench -p storefront --bench idempotent_charges` (env `BENCH_REQUESTS`,
//! `BENCH_CONCURRENCY` to tune). Numbers only; nothing is asserted.

use std::time::Instant;

use serde_json::json;
use storefront::{Application, Config, Settings};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn drive(
    client: &reqwest::Client,
    url: &str,
    requests: usize,
    concurrency: usize,
    key_space: usize,
) -> f64 {
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let url = url.to_owned();
        workers.spawn(async move {
            for n in (worker..requests).step_by(concurrency) {
                let key = format!("bench-{}", n % key_space);
                let body = json!({
                    "orderId": format!("order-{}", n % key_space),
                    "customerId": "bench-customer",
                    "amountMinor": 1_000,
                    "currency": "USD",
                });
                let response = client
                    .post(&url)
                    .header("Idempotency-Key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    201,
                    "{}",
                    response.text().await.unwrap_or_default()
                );
            }
        });
    }
    workers.join_all().await;
    requests as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let requests = env_or("BENCH_REQUESTS", 2_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 8);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            shop_token: None,
            listen: "127.0.0.1:0".parse().unwrap(),
            db_path: dir.path().join("bench.db"),
            config: Config::default(),
            web: Default::default(),
        };
        let app = Application::build(settings).await.unwrap();
        let url = format!("http://{}/payments/charges", app.local_addr().unwrap());
        tokio::spawn(app.run_until(std::future::pending()));
        let client = reqwest::Client::new();

        let fresh = drive(&client, &url, requests, concurrency, requests).await;
        println!("fresh charges:   {fresh:>8.0} requests/s ({requests} requests, concurrency {concurrency})");
        let replays = drive(&client, &url, requests, concurrency, requests).await;
        println!("replayed charges: {replays:>7.0} requests/s ({requests} requests, concurrency {concurrency})");
    });
}
