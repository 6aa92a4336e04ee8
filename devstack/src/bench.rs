//! The shape every ShopFlow benchmark reports in, so `cargo xtask bench` can merge them into one
//! JSON document and one markdown table.
//!
//! A benchmark measures samples ([`Samples`]), turns each measured quantity into a [`Row`] —
//! ideally beside a baseline measured in the *same run* (the ratio only means something then) —
//! and writes a [`BenchReport`] to the file named by [`ENV_BENCH_OUT`] (or prints it only).
//! Nothing here asserts on time: this machine is shared and noisy; numbers are for reading.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Set by `cargo xtask bench`: the JSON file a benchmark writes its [`BenchReport`] to.
pub const ENV_BENCH_OUT: &str = "SHOPFLOW_BENCH_OUT";

/// Durations from repeated trials.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Nearest-rank percentile (`p` in 0..=1), in milliseconds; `None` without samples.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let mut sorted = self.0.clone();
        sorted.sort();
        let last = sorted.len().checked_sub(1)?;
        let rank = ((sorted.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(last);
        Some(ms(sorted[rank]))
    }

    pub fn mean_ms(&self) -> Option<f64> {
        (!self.0.is_empty())
            .then(|| self.0.iter().map(|d| ms(*d)).sum::<f64>() / self.0.len() as f64)
    }

    /// A row of this distribution (p50, p95, p99, mean, max).
    pub fn row(&self, section: &str, what: &str) -> Row {
        Row {
            section: section.to_owned(),
            what: what.to_owned(),
            unit: "ms".to_owned(),
            n: self.len(),
            p50: self.percentile_ms(0.50),
            p95: self.percentile_ms(0.95),
            p99: self.percentile_ms(0.99),
            mean: self.mean_ms(),
            max: self.percentile_ms(1.0),
            baseline: None,
            note: None,
        }
    }
}

/// Milliseconds of a duration, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One measured quantity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub section: String,
    pub what: String,
    /// `ms`, `MiB`, `orders/s`, …
    pub unit: String,
    /// Trials behind the figure (1 for a single measurement).
    pub n: usize,
    /// The figure itself for single measurements; the median for distributions.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// With fewer than 100 trials this is the maximum (nearest rank).
    #[serde(default)]
    pub p99: Option<f64>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
    /// What the figure is compared with, measured in the same run.
    pub baseline: Option<Baseline>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub what: String,
    /// The baseline's p50 (or single value), same unit.
    pub value: f64,
}

impl Row {
    /// A single number.
    pub fn value(section: &str, what: &str, unit: &str, value: f64) -> Row {
        Row {
            section: section.to_owned(),
            what: what.to_owned(),
            unit: unit.to_owned(),
            n: 1,
            p50: Some(value),
            p95: None,
            p99: None,
            mean: None,
            max: None,
            baseline: None,
            note: None,
        }
    }

    /// Beside `baseline` (its p50).
    pub fn against(mut self, baseline: &Row) -> Row {
        self.baseline = baseline.p50.map(|value| Baseline {
            what: baseline.what.clone(),
            value,
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = Some(note.into());
        self
    }

    /// This row's p50 over the baseline's.
    pub fn ratio(&self) -> Option<f64> {
        let b = self.baseline.as_ref()?;
        let value = self.p50?;
        (b.value > 0.0).then(|| value / b.value)
    }
}

/// What one benchmark run produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchReport {
    pub bench: String,
    pub rows: Vec<Row>,
}

impl BenchReport {
    pub fn new(bench: &str) -> Self {
        Self {
            bench: bench.to_owned(),
            rows: Vec::new(),
        }
    }

    /// Adds a row and prints it at once, so a long run shows progress.
    pub fn add(&mut self, row: Row) {
        println!("{}", markdown_line(&row));
        self.rows.push(row);
    }

    /// Writes the report to `$SHOPFLOW_BENCH_OUT` when set.
    pub fn finish(&self) -> Result<()> {
        if let Some(path) = std::env::var_os(ENV_BENCH_OUT).filter(|p| !p.is_empty()) {
            write_json(Path::new(&path), self)?;
            println!("report written to {}", Path::new(&path).display());
        }
        Ok(())
    }
}

pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The markdown table header matching [`markdown_line`].
pub const MARKDOWN_HEADER: &str = "| section | what | n | p50 | p95 | p99 | max | baseline (same run) | ratio | note |\n|---|---|---|---|---|---|---|---|---|---|";

/// One row as a markdown table line.
pub fn markdown_line(row: &Row) -> String {
    let num = |v: Option<f64>| {
        v.map(|v| format!("{} {}", fmt_number(v), row.unit))
            .unwrap_or_default()
    };
    let baseline = row
        .baseline
        .as_ref()
        .map(|b| format!("{}: {} {}", b.what, fmt_number(b.value), row.unit))
        .unwrap_or_default();
    let ratio = row.ratio().map(|r| format!("{r:.2}×")).unwrap_or_default();
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.section,
        row.what,
        row.n,
        num(row.p50),
        num(row.p95),
        num(row.p99),
        num(row.max),
        baseline,
        ratio,
        row.note.as_deref().unwrap_or_default()
    )
}

/// Three significant digits, no exponent: 0.742, 12.3, 1530.
fn fmt_number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(ms: &[u64]) -> Samples {
        Samples(ms.iter().map(|m| Duration::from_millis(*m)).collect())
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = samples(&[5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
        assert_eq!(s.percentile_ms(0.5), Some(5.0));
        assert_eq!(s.percentile_ms(0.95), Some(10.0));
        assert_eq!(s.percentile_ms(0.0), Some(1.0));
        assert_eq!(s.mean_ms(), Some(5.5));
        assert_eq!(Samples::default().percentile_ms(0.5), None);
    }

    #[test]
    fn rows_compare_with_their_baseline() {
        let base = samples(&[100, 100]).row("latency", "local");
        let row = samples(&[150, 150]).row("latency", "lambda").against(&base);
        assert_eq!(row.ratio(), Some(1.5));
        let line = markdown_line(&row);
        assert!(
            line.contains("local: 100 ms") && line.contains("1.50×"),
            "{line}"
        );
        assert_eq!(Row::value("size", "worker-fn", "MiB", 7.04).ratio(), None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_number(0.7421), "0.742");
        assert_eq!(fmt_number(12.34), "12.3");
        assert_eq!(fmt_number(1530.2), "1530");
    }
}
