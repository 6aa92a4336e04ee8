//! The demo's numbers: Lambda usage from the emulator's metrics, what it would cost at public
//! prices next to an always-on worker, a JSON report and an SVG chart of invocations and
//! concurrency over time.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// AWS Lambda x86_64 list prices (us-east-1): per GB-second and per request.
pub const PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
pub const PRICE_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
/// The always-on alternative: one Fargate task of 0.25 vCPU / 0.5 GB (us-east-1 list price:
/// $0.04048 per vCPU-hour + $0.004445 per GB-hour), the smallest that runs a worker.
pub const ALWAYS_ON_PER_HOUR: f64 = 0.25 * 0.040_48 + 0.5 * 0.004_445;

/// The emulator's own types: the JSON it serves is read back into them.
pub use lambda_emulator::metrics::{FunctionStats, Sample};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct FunctionMetrics {
    pub stats: FunctionStats,
    pub series: Vec<Sample>,
}

/// `GET /_emulator/metrics` for one function.
pub async fn function_metrics(emulator_url: &str, function: &str) -> Result<FunctionMetrics> {
    let url = format!("{emulator_url}/_emulator/metrics");
    let all: serde_json::Value = reqwest::get(&url)
        .await
        .with_context(|| format!("GET {url}"))?
        .json()
        .await?;
    Ok(serde_json::from_value(all["functions"][function].clone()).unwrap_or_default())
}

/// What the Lambda usage cost, and what an always-on worker costs for the same wall time.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub lambda_usd: f64,
    pub always_on_usd: f64,
    pub wall_seconds: f64,
}

pub fn cost(stats: &FunctionStats, wall_seconds: f64) -> Cost {
    Cost {
        lambda_usd: stats.gb_seconds * PRICE_PER_GB_SECOND
            + stats.invocations as f64 * PRICE_PER_REQUEST,
        always_on_usd: ALWAYS_ON_PER_HOUR * wall_seconds / 3600.0,
        wall_seconds,
    }
}

/// An SVG line chart of invocations started per second and concurrent executions.
pub fn chart_svg(series: &[Sample], marks: &[(u64, &str)]) -> String {
    let (w, h, pad) = (900.0, 320.0, 40.0);
    let t0 = series.first().map(|s| s.t).unwrap_or(0);
    let t1 = series.last().map(|s| s.t).unwrap_or(t0 + 1).max(t0 + 1);
    let ymax = series
        .iter()
        .map(|s| {
            s.invocations_started
                .max(s.concurrent_executions_max as u64)
        })
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |t: u64| pad + (t - t0) as f64 / (t1 - t0) as f64 * (w - 2.0 * pad);
    let y = |v: f64| h - pad - v / ymax * (h - 2.0 * pad);
    let line = |f: &dyn Fn(&Sample) -> f64| {
        series
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.t), y(f(s))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{pad}" y="20" font-size="14">shopflow-worker: Lambda invocations and concurrency per second</text>
<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="#888"/>
<text x="4" y="{top}">{ymax}</text><text x="20" y="{b}">0</text>
<text x="{r}" y="{lab}" text-anchor="end">{secs} s</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{inv}"/>
<polyline fill="none" stroke="#ff7f0e" stroke-width="2" points="{conc}"/>
<text x="{r}" y="40" text-anchor="end" fill="#1f77b4">invocations started</text>
<text x="{r}" y="56" text-anchor="end" fill="#ff7f0e">concurrent executions (max)</text>
"##,
        b = h - pad,
        r = w - pad,
        top = pad + 4.0,
        lab = h - pad + 16.0,
        secs = t1 - t0,
        inv = line(&|s| s.invocations_started as f64),
        conc = line(&|s| s.concurrent_executions_max as f64),
    );
    for (t, label) in marks {
        if *t >= t0 && *t <= t1 {
            let mx = x(*t);
            svg.push_str(&format!(
                "<line x1=\"{mx:.1}\" y1=\"{pad}\" x2=\"{mx:.1}\" y2=\"{b}\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/><text x=\"{tx:.1}\" y=\"{ty}\" fill=\"#d62728\">{label}</text>\n",
                b = h - pad,
                tx = mx + 3.0,
                ty = pad + 12.0
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

pub fn write(dir: &Path, report: &serde_json::Value, svg: &str) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("demo-report.json"),
        serde_json::to_vec_pretty(report)?,
    )?;
    std::fs::write(dir.join("demo-chart.svg"), svg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_arithmetic() {
        let stats = FunctionStats {
            invocations: 1_000_000,
            gb_seconds: 1000.0,
            ..Default::default()
        };
        let c = cost(&stats, 3600.0);
        assert!((c.lambda_usd - (0.0166667 + 0.20)).abs() < 1e-6, "{c:?}");
        assert!((c.always_on_usd - ALWAYS_ON_PER_HOUR).abs() < 1e-12);
    }

    #[test]
    fn chart_has_both_lines_and_marks() {
        let series: Vec<Sample> = (0..10)
            .map(|i| Sample {
                t: 100 + i,
                invocations_started: i % 3,
                concurrent_executions_max: (i % 2) as u32,
                concurrent_executions: 0,
            })
            .collect();
        let svg = chart_svg(&series, &[(104, "SIGKILL")]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("SIGKILL"));
        assert!(svg.starts_with("<svg"));
    }
}
