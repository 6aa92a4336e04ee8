//! Warm `RequestResponse` round trip through the emulator: 1000 sequential invocations of the
//! test function over HTTP (Lambda API → environment's Runtime API → function → back), after a
//! warm-up, with p50/p90/p99 printed. Also the same without the HTTP front door (the library's
//! `invoke`), to show what the Invoke API itself costs. Aim: p50 under 1 ms.
//!
//! Run: `cargo bench -p lambda-emulator --bench invoke_roundtrip`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

const WARMUP: usize = 100;
const ROUNDS: usize = 1000;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let emulator = common::start(vec![common::test_function("bench")]).await;
        let client = common::client();
        let url = common::invoke_url(&emulator, "bench");
        let payload = br#"{"action":"echo","order":{"id":"o-1","items":[1,2,3]}}"#.as_slice();

        let over_http = measure(async || {
            let response = client
                .post(&url)
                .body(payload)
                .send()
                .await
                .expect("invoke");
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("body");
        })
        .await;
        report("HTTP Invoke API (reqwest, keep-alive)", over_http);

        let in_process = measure(async || {
            let result = emulator.invoke("bench", payload).await.expect("invoke");
            assert!(!result.outcome.is_error());
        })
        .await;
        report("library invoke (no Invoke API HTTP hop)", in_process);

        let stats = emulator.stats("bench").expect("stats");
        println!(
            "environments started: {} (cold starts), invocations: {}",
            stats.cold_starts, stats.invocations
        );
        emulator.shutdown().await;
    });
}

async fn measure(mut once: impl AsyncFnMut()) -> Vec<Duration> {
    for _ in 0..WARMUP {
        once().await;
    }
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        once().await;
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    samples
}

fn report(label: &str, samples: Vec<Duration>) {
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{label}: n={} p50={:?} p90={:?} p99={:?} max={:?} mean={:?}",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        samples[samples.len() - 1],
        mean
    );
}
