//! Ingest throughput and latency: `POST /orders` through the emulator's HTTP API into the real
//! `ingest-fn` binary, which starts `OrderWorkflow` on the Temporal dev server — side by side, in
//! the same run, with starting the same number of workflows directly from one client
//! (`shared::orders::start_order`). Both at the same fixed concurrency; prints orders/s, p50 and
//! p99, and the ratio ingest / direct.
//!
//! `cargo bench -p ingest-fn --bench ingest_throughput`
//! (`INGEST_BENCH_ORDERS`, default 400; `INGEST_BENCH_CONCURRENCY`, default 16).
//!
//! The function's environments are warmed first (one request per concurrent slot), so cold
//! starts are not measured: they are a per-environment cost, not a per-order one. No worker runs:
//! only starting is measured.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use devstack::bench::{BenchReport, Row, Samples};
use futures::StreamExt as _;
use support::{Stack, StackOptions};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The same nearest-rank percentiles as the report's rows (`devstack::bench::Samples`).
    fn print(&self, label: &str) {
        let samples = Samples(self.latencies.clone());
        println!(
            "{label:<28} {:>10.0} {:>10.1} {:>10.1}",
            self.rate(),
            samples.percentile_ms(0.50).unwrap_or(f64::NAN),
            samples.percentile_ms(0.99).unwrap_or(f64::NAN)
        );
    }
}

/// Runs `op` for every order ID at `concurrency`, timing each call.
async fn measure<F: Future<Output = ()>>(
    ids: &[String],
    concurrency: usize,
    op: impl Fn(String) -> F,
) -> Run {
    let started = Instant::now();
    let latencies = futures::stream::iter(ids.iter().cloned())
        .map(|id| {
            let call = op(id);
            async move {
                let t = Instant::now();
                call.await;
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    Run {
        elapsed: started.elapsed(),
        latencies,
    }
}

#[tokio::main]
async fn main() {
    let orders = env_number("INGEST_BENCH_ORDERS", 400);
    let concurrency = env_number("INGEST_BENCH_CONCURRENCY", 16);
    let stack = Stack::start(StackOptions {
        shop: false,
        start_timeout_ms: 10_000,
        ..StackOptions::default()
    })
    .await;
    let ids = |tag: &str| {
        (0..orders)
            .map(|i| format!("{tag}-{}-{i}", stack.run_id))
            .collect::<Vec<_>>()
    };

    // Warm `concurrency` environments (each connects its own Temporal client on first use).
    measure(&ids("warm")[..concurrency.min(orders)], concurrency, |id| {
        let stack = &stack;
        async move { assert_eq!(stack.post(&stack.order_json(&id)).await.status(), 202) }
    })
    .await;
    // And the direct client's connection.
    let warm = shared::parse_order(
        stack
            .order_json(&format!("warm-direct-{}", stack.run_id))
            .as_bytes(),
    )
    .unwrap();
    shared::orders::start_order(&stack.client, &stack.setup.task_queue, &warm)
        .await
        .unwrap();

    let direct_ids = ids("direct");
    let direct = measure(&direct_ids, concurrency, |id| {
        let stack = &stack;
        async move {
            let order = shared::parse_order(stack.order_json(&id).as_bytes()).unwrap();
            shared::orders::start_order(&stack.client, &stack.setup.task_queue, &order)
                .await
                .expect("direct start");
        }
    })
    .await;
    let ingest_ids = ids("ingest");
    let ingest = measure(&ingest_ids, concurrency, |id| {
        let stack = &stack;
        async move {
            let response = stack.post(&stack.order_json(&id)).await;
            assert_eq!(
                response.status(),
                202,
                "{}",
                response.text().await.unwrap_or_default()
            );
        }
    })
    .await;

    let stats = stack.emulator.stats(support::FUNCTION).unwrap();
    println!(
        "\ningest-fn: {orders} orders at concurrency {concurrency} ({} environments, {} cold starts)\n",
        stats.environments, stats.cold_starts
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "", "orders/s", "p50 ms", "p99 ms"
    );
    direct.print("direct start_order");
    ingest.print("HTTP API -> ingest-fn");
    println!(
        "\ningest / direct throughput: {:.0} %",
        100.0 * ingest.rate() / direct.rate()
    );

    // The same figures in the shape `cargo xtask bench` merges.
    let section = format!("ingest, {orders} orders at concurrency {concurrency}");
    let mut report = BenchReport::new("ingest");
    let direct_rate = Row::value(
        &section,
        "direct start_order (one client)",
        "orders/s",
        direct.rate(),
    );
    report.add(direct_rate.clone());
    report.add(
        Row::value(
            &section,
            "POST /orders → ingest-fn (HTTP API)",
            "orders/s",
            ingest.rate(),
        )
        .against(&direct_rate),
    );
    let direct_latency =
        Samples(direct.latencies.clone()).row(&section, "direct start_order latency");
    report.add(direct_latency.clone());
    report.add(
        Samples(ingest.latencies.clone())
            .row(&section, "POST /orders latency")
            .against(&direct_latency),
    );
    report.finish().expect("writing the report");
}
