//! The dashboard's data: `GET /dashboard/api/orders` (recent orders with their step, worker and
//! outcome) and `GET /dashboard/api/lambda` (the Lambda emulator's per-function invocations and
//! concurrency, per second). The emulator's metrics are fetched here rather than by the browser
//! so the page needs no CORS and works with the emulator bound to loopback only.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::order_view;
use crate::AppState;
use crate::extract::QueryParams;
use crate::problem::{Problem, ProblemKind};

/// Orders shown when the request does not say; and the most it may ask for.
const DEFAULT_ORDERS: usize = 25;
const MAX_ORDERS: usize = 200;
/// Seconds of series returned when the request does not say; the emulator keeps an hour.
const DEFAULT_SECONDS: usize = 120;
const MAX_SECONDS: usize = 3_600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/api/orders", get(orders))
        .route("/dashboard/api/lambda", get(lambda))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdersQuery {
    limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LambdaQuery {
    seconds: Option<usize>,
}

fn in_range(
    value: Option<usize>,
    default: usize,
    max: usize,
    name: &str,
) -> Result<usize, Problem> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        n => Err(Problem::new(
            ProblemKind::InvalidRequest,
            format!("{name} must be 1..={max}, got {n}"),
        )
        .with("field", name)),
    }
}

async fn orders(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<OrdersQuery>,
) -> Result<Json<Value>, Problem> {
    let limit = in_range(query.limit, DEFAULT_ORDERS, MAX_ORDERS, "limit")?;
    let orders = order_view::recent(&state.web, limit).await?;
    Ok(Json(
        json!({ "orders": orders, "taskQueue": state.web.settings.task_queue }),
    ))
}

/// The emulator's `/_emulator/metrics`, the parts the chart uses.
#[derive(Debug, Deserialize)]
struct EmulatorMetrics {
    functions: std::collections::BTreeMap<String, FunctionMetrics>,
}

#[derive(Debug, Deserialize)]
struct FunctionMetrics {
    stats: Stats,
    #[serde(default)]
    series: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
struct Stats {
    invocations: u64,
    #[serde(default)]
    errors: u64,
    #[serde(default)]
    cold_starts: u64,
    concurrent_executions: u32,
    #[serde(default)]
    concurrent_executions_max: u32,
    #[serde(default)]
    environments: u32,
}

#[derive(Debug, Deserialize)]
struct Sample {
    t: u64,
    invocations_started: u64,
    concurrent_executions_max: u32,
}

async fn lambda(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<LambdaQuery>,
) -> Result<Json<Value>, Problem> {
    let seconds = in_range(query.seconds, DEFAULT_SECONDS, MAX_SECONDS, "seconds")?;
    let base = state.web.settings.emulator_url.as_ref().ok_or_else(|| {
        Problem::new(
            ProblemKind::NotConfigured,
            "no Lambda emulator configured (set --emulator-url or SHOPFLOW_EMULATOR_URL)",
        )
    })?;
    let url = base.join("/_emulator/metrics").map_err(Problem::internal)?;
    let upstream = |what: String| Problem::new(ProblemKind::UpstreamUnavailable, what);
    let response = state
        .web
        .http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| upstream(format!("the Lambda emulator at {base} did not answer: {e}")))?;
    if !response.status().is_success() {
        return Err(upstream(format!(
            "the Lambda emulator answered {} for {url}",
            response.status()
        )));
    }
    let metrics: EmulatorMetrics = response.json().await.map_err(|e| {
        upstream(format!(
            "the Lambda emulator's metrics are not what this storefront expects: {e}"
        ))
    })?;
    let functions: Vec<Value> = metrics
        .functions
        .into_iter()
        .map(|(name, f)| {
            let skip = f.series.len().saturating_sub(seconds);
            let series: Vec<Value> = f.series[skip..]
                .iter()
                .map(|s| json!({ "t": s.t, "invocations": s.invocations_started, "concurrency": s.concurrent_executions_max }))
                .collect();
            json!({
                "name": name,
                "invocations": f.stats.invocations,
                "errors": f.stats.errors,
                "coldStarts": f.stats.cold_starts,
                "concurrentExecutions": f.stats.concurrent_executions,
                "concurrentExecutionsMax": f.stats.concurrent_executions_max,
                "environments": f.stats.environments,
                "series": series,
            })
        })
        .collect();
    Ok(Json(json!({ "functions": functions, "seconds": seconds })))
}
