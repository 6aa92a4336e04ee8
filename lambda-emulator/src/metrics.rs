//! Per-function metrics, shaped like Lambda's CloudWatch metrics (Invocations, Errors, Throttles,
//! ConcurrentExecutions, Duration) plus what a local demo wants to show: cold starts, billed
//! duration and GB-seconds, and a per-second series so a chart can watch invocations and
//! concurrency drop to zero when the function scales in.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How many seconds of the per-second series are kept (one hour).
const SERIES_LEN: usize = 3600;

/// One second of the series.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sample {
    /// Unix time (seconds) at the end of the second.
    pub t: u64,
    pub invocations_started: u64,
    /// Highest number of concurrent executions during the second.
    pub concurrent_executions_max: u32,
    /// Concurrent executions when the second ended.
    pub concurrent_executions: u32,
}

/// A snapshot of one function's counters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FunctionStats {
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub cold_starts: u64,
    pub concurrent_executions: u32,
    pub concurrent_executions_max: u32,
    /// `Event` invocations accepted and not yet finished (running, waiting to retry, throttled).
    pub async_events_pending: u64,
    /// Lambda's Duration: the runtime taking an invocation until its answer; a cold start's
    /// init phase is not in it (see `init_duration_ms_sum`).
    pub duration_ms_sum: f64,
    pub duration_ms_max: f64,
    /// Init Duration + Duration, rounded up to 1 ms per invocation (how Lambda bills a
    /// `provided.al2023` function).
    pub billed_duration_ms_sum: u64,
    pub gb_seconds: f64,
    pub environments: u32,
    /// Lambda's "Init Duration": a new environment's spawn until its runtime first asks for an
    /// invocation, summed over cold starts (divide by `cold_starts` for the mean).
    #[serde(default)]
    pub init_duration_ms_sum: f64,
    #[serde(default)]
    pub init_duration_ms_max: f64,
}

#[derive(Default)]
struct State {
    stats: FunctionStats,
    started_this_second: u64,
    max_concurrent_this_second: u32,
    series: VecDeque<Sample>,
}

/// Counters of one function. Cheap to update: one uncontended mutex per event.
#[derive(Default)]
pub struct FunctionMetrics {
    state: Mutex<State>,
}

impl FunctionMetrics {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("metrics lock"))
    }

    pub(crate) fn invocation_started(&self, cold: bool) {
        self.with(|s| {
            s.stats.invocations += 1;
            s.stats.cold_starts += u64::from(cold);
            s.stats.concurrent_executions += 1;
            s.stats.concurrent_executions_max = s
                .stats
                .concurrent_executions_max
                .max(s.stats.concurrent_executions);
            s.started_this_second += 1;
            s.max_concurrent_this_second = s
                .max_concurrent_this_second
                .max(s.stats.concurrent_executions);
        });
    }

    /// Records a finished invocation: its Duration (the invoke phase only) and, on a cold start,
    /// the environment's Init Duration, kept apart as in Lambda's `REPORT` line. The billed
    /// duration is both together rounded up to the millisecond: Lambda bills the init phase of
    /// a `provided.al2023` (custom) runtime.
    pub(crate) fn invocation_finished(
        &self,
        duration: Duration,
        init: Option<Duration>,
        failed: bool,
        memory_mb: u32,
    ) {
        let ms = duration.as_secs_f64() * 1000.0;
        let billed_ms = billed_ms(duration, init);
        self.with(|s| {
            s.stats.errors += u64::from(failed);
            s.stats.concurrent_executions = s.stats.concurrent_executions.saturating_sub(1);
            s.stats.duration_ms_sum += ms;
            s.stats.duration_ms_max = s.stats.duration_ms_max.max(ms);
            s.stats.billed_duration_ms_sum += billed_ms;
            s.stats.gb_seconds += billed_ms as f64 / 1000.0 * f64::from(memory_mb) / 1024.0;
            if let Some(init) = init {
                let init_ms = init.as_secs_f64() * 1000.0;
                s.stats.init_duration_ms_sum += init_ms;
                s.stats.init_duration_ms_max = s.stats.init_duration_ms_max.max(init_ms);
            }
        });
    }

    pub(crate) fn throttled(&self) {
        self.with(|s| s.stats.throttles += 1);
    }

    pub(crate) fn async_event_accepted(&self) {
        self.with(|s| s.stats.async_events_pending += 1);
    }

    pub(crate) fn async_event_done(&self) {
        self.with(|s| {
            s.stats.async_events_pending = s.stats.async_events_pending.saturating_sub(1)
        });
    }

    pub(crate) fn set_environments(&self, count: u32) {
        self.with(|s| s.stats.environments = count);
    }

    /// Closes the current second of the series.
    pub(crate) fn tick(&self) {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.with(|s| {
            let sample = Sample {
                t,
                invocations_started: std::mem::take(&mut s.started_this_second),
                concurrent_executions_max: s.max_concurrent_this_second,
                concurrent_executions: s.stats.concurrent_executions,
            };
            s.max_concurrent_this_second = s.stats.concurrent_executions;
            if s.series.len() == SERIES_LEN {
                s.series.pop_front();
            }
            s.series.push_back(sample);
        });
    }

    pub fn stats(&self) -> FunctionStats {
        self.with(|s| s.stats.clone())
    }

    pub fn series(&self) -> Vec<Sample> {
        self.with(|s| s.series.iter().copied().collect())
    }
}

/// How many Lambda API requests each operation received (whatever their outcome) — lets a test
/// see that a caller such as the Temporal server really asked.
#[derive(Default)]
pub struct ApiCalls {
    counts: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl ApiCalls {
    pub(crate) fn record(&self, operation: &'static str) {
        *self
            .counts
            .lock()
            .expect("api calls lock")
            .entry(operation)
            .or_default() += 1;
    }

    pub fn get(&self, operation: &str) -> u64 {
        self.counts
            .lock()
            .expect("api calls lock")
            .get(operation)
            .copied()
            .unwrap_or_default()
    }

    pub fn all(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.counts.lock().expect("api calls lock").clone()
    }
}

/// Renders stats as Prometheus text exposition format (one family per counter, labelled by
/// function).
pub fn prometheus_text(functions: &[(String, FunctionStats)]) -> String {
    type Field = fn(&FunctionStats) -> f64;
    let families: [(&str, &str, &str, Field); 12] = [
        (
            "lambda_invocations_total",
            "counter",
            "Invocations (each attempt counts).",
            |s| s.invocations as f64,
        ),
        (
            "lambda_errors_total",
            "counter",
            "Invocations that ended in a function error.",
            |s| s.errors as f64,
        ),
        (
            "lambda_throttles_total",
            "counter",
            "Invocation requests throttled.",
            |s| s.throttles as f64,
        ),
        (
            "lambda_cold_starts_total",
            "counter",
            "Invocations that started an environment.",
            |s| s.cold_starts as f64,
        ),
        (
            "lambda_concurrent_executions",
            "gauge",
            "Invocations running now.",
            |s| f64::from(s.concurrent_executions),
        ),
        (
            "lambda_concurrent_executions_max",
            "gauge",
            "Most invocations ever running at once.",
            |s| f64::from(s.concurrent_executions_max),
        ),
        (
            "lambda_async_events_pending",
            "gauge",
            "Event invocations not yet finished.",
            |s| s.async_events_pending as f64,
        ),
        (
            "lambda_environments",
            "gauge",
            "Execution environments alive.",
            |s| f64::from(s.environments),
        ),
        (
            "lambda_duration_milliseconds_sum",
            "counter",
            "Sum of invocation durations.",
            |s| s.duration_ms_sum,
        ),
        (
            "lambda_duration_milliseconds_max",
            "gauge",
            "Longest invocation.",
            |s| s.duration_ms_max,
        ),
        (
            "lambda_billed_duration_milliseconds_sum",
            "counter",
            "Sum of billed durations (1 ms granularity).",
            |s| s.billed_duration_ms_sum as f64,
        ),
        (
            "lambda_gb_seconds_total",
            "counter",
            "Billed GB-seconds.",
            |s| s.gb_seconds,
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, field) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (function, stats) in functions {
            let _ = writeln!(
                out,
                "{name}{{function=\"{}\"}} {}",
                escape_label(function),
                field(stats)
            );
        }
    }
    out
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Lambda's billed duration: the invoke phase plus, on a cold start, the init phase (billed for
/// `provided.al2023` runtimes), rounded up to the millisecond. The `REPORT` line and the metrics
/// both use it.
pub(crate) fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    (duration + init.unwrap_or_default())
        .as_nanos()
        .div_ceil(1_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bills_rounded_up_to_the_millisecond() {
        let metrics = FunctionMetrics::default();
        metrics.invocation_started(true);
        metrics.invocation_finished(Duration::from_micros(1_001), None, false, 1024);
        let stats = metrics.stats();
        assert_eq!(stats.billed_duration_ms_sum, 2);
        assert!((stats.gb_seconds - 0.002).abs() < 1e-12);
        assert_eq!(
            (
                stats.invocations,
                stats.cold_starts,
                stats.concurrent_executions
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn init_is_billed_but_kept_out_of_duration() {
        let metrics = FunctionMetrics::default();
        metrics.invocation_started(true);
        metrics.invocation_finished(
            Duration::from_micros(2_500),
            Some(Duration::from_micros(40_200)),
            false,
            1024,
        );
        let stats = metrics.stats();
        assert!(
            (stats.duration_ms_sum - 2.5).abs() < 1e-9,
            "Duration excludes init: {stats:?}"
        );
        assert!((stats.init_duration_ms_sum - 40.2).abs() < 1e-9);
        assert_eq!(
            stats.billed_duration_ms_sum, 43,
            "init + duration, rounded up once"
        );
    }

    #[test]
    fn series_records_each_second_and_drops_to_zero() {
        let metrics = FunctionMetrics::default();
        metrics.invocation_started(false);
        metrics.invocation_started(false);
        metrics.tick();
        metrics.invocation_finished(Duration::from_millis(1), None, false, 128);
        metrics.invocation_finished(Duration::from_millis(1), None, true, 128);
        metrics.tick();
        let series = metrics.series();
        assert_eq!(
            (
                series[0].invocations_started,
                series[0].concurrent_executions_max
            ),
            (2, 2)
        );
        assert_eq!(
            (
                series[1].invocations_started,
                series[1].concurrent_executions
            ),
            (0, 0)
        );
    }

    #[test]
    fn prometheus_labels_are_escaped() {
        let text = prometheus_text(&[("a\"b".into(), FunctionStats::default())]);
        assert!(text.contains("lambda_invocations_total{function=\"a\\\"b\"} 0"));
        assert!(text.contains("# TYPE lambda_errors_total counter"));
    }
}
