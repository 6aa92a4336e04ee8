//! `local-worker`'s command line. Temporal's own connection settings are not here: they come
//! from `temporal.toml` and `TEMPORAL_*` variables through the SDK's envconfig (see
//! `shared::connection`).

use std::str::FromStr;

use clap::Parser;
use temporalio_sdk::runtime::{AutoscalingOptions, PollerBehavior};

#[derive(Debug, Parser)]
#[command(
    name = "local-worker",
    version,
    about = "ShopFlow's long-lived Temporal worker"
)]
pub struct Config {
    /// Task queue to poll.
    #[arg(long, env = "TEMPORAL_TASK_QUEUE", default_value = shared::TASK_QUEUE)]
    pub task_queue: String,

    /// Base URL of the shop's services.
    #[arg(long, env = "SHOPFLOW_SHOP_URL", default_value = shared::activities::shop_client::DEFAULT_SHOP_URL)]
    pub shop_url: String,

    /// The shop's shared token, sent as `Authorization: Bearer` when the shop requires one
    /// (storefront with `SHOPFLOW_SHOP_TOKEN`). Prefer the variable: a flag shows in `ps`.
    #[arg(long, env = "SHOPFLOW_SHOP_TOKEN", hide_env_values = true)]
    pub shop_token: Option<String>,

    /// How long a stop signal lets in-flight activities finish before they are cancelled.
    #[arg(long, env = "SHOPFLOW_GRACE_PERIOD", default_value = "10s")]
    pub grace_period: humantime::Duration,

    /// How long the server waits for this worker to pick up a cached workflow's next task before
    /// handing it to any worker. Short, so a crashed worker's workflows move on quickly.
    #[arg(long, env = "SHOPFLOW_STICKY_TIMEOUT", default_value = "1s")]
    pub sticky_timeout: humantime::Duration,

    /// Workflow-task polls kept open: `N` (at most N, split between this worker's sticky queue
    /// and the normal one) or `auto` (scaled by the server's hints between 1 and 100). Default:
    /// the SDK's (5, or `auto` where the namespace enrols workers in autoscaling).
    #[arg(long, env = "SHOPFLOW_WORKFLOW_POLLERS")]
    pub workflow_pollers: Option<Pollers>,

    /// Activity-task polls kept open: `N` or `auto`, as for workflow tasks.
    #[arg(long, env = "SHOPFLOW_ACTIVITY_POLLERS")]
    pub activity_pollers: Option<Pollers>,

    /// Workflows kept in memory between their tasks (0: no sticky queue; every task replays the
    /// history). Default: the SDK's (1000).
    #[arg(long, env = "SHOPFLOW_MAX_CACHED_WORKFLOWS")]
    pub max_cached_workflows: Option<usize>,

    /// Activity slots a workflow task may reserve to run its activities eagerly, i.e. handed back
    /// with the task's completion instead of through a poll (0: off). Default: the SDK's (3).
    #[arg(long, env = "SHOPFLOW_EAGER_ACTIVITIES")]
    pub eager_activities: Option<usize>,
}

/// How many polls of one kind a worker keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pollers {
    /// At most this many (at least 1; for workflow tasks at least 2, one per queue).
    Max(usize),
    /// Scaled by the server's poller hints.
    Auto,
}

impl FromStr for Pollers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(Pollers::Auto),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Pollers::Max(n)),
                _ => Err(format!("expected a number ≥ 1 or `auto`, got {s:?}")),
            },
        }
    }
}

impl From<Pollers> for PollerBehavior {
    fn from(p: Pollers) -> Self {
        match p {
            Pollers::Max(n) => PollerBehavior::SimpleMaximum(n),
            // The SDK's own autoscaling range (what it enrols default workers in).
            Pollers::Auto => PollerBehavior::Autoscaling(
                AutoscalingOptions::builder()
                    .minimum(1)
                    .maximum(100)
                    .initial(5)
                    .build(),
            ),
        }
    }
}

impl Config {
    /// `local-worker@<host>:<pid>`: says in every task's history which worker ran it.
    pub fn identity(&self) -> String {
        format!(
            "local-worker@{}:{}",
            gethostname::gethostname().to_string_lossy(),
            std::process::id()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollers_parse_a_count_or_auto() {
        assert_eq!("auto".parse(), Ok(Pollers::Auto));
        assert_eq!(" 4 ".parse(), Ok(Pollers::Max(4)));
        assert!("0".parse::<Pollers>().is_err());
        assert!("many".parse::<Pollers>().is_err());
        assert_eq!(
            PollerBehavior::from(Pollers::Max(3)),
            PollerBehavior::SimpleMaximum(3)
        );
    }

    #[test]
    fn tuning_comes_from_the_environment_or_flags() {
        let config = Config::try_parse_from([
            "local-worker",
            "--workflow-pollers",
            "auto",
            "--activity-pollers",
            "2",
            "--max-cached-workflows",
            "0",
            "--eager-activities",
            "0",
        ])
        .expect("valid flags");
        assert_eq!(config.workflow_pollers, Some(Pollers::Auto));
        assert_eq!(config.activity_pollers, Some(Pollers::Max(2)));
        assert_eq!(config.max_cached_workflows, Some(0));
        assert_eq!(config.eager_activities, Some(0));
        let err = Config::try_parse_from(["local-worker", "--workflow-pollers", "none"])
            .expect_err("not a count");
        assert!(err.to_string().contains("auto"), "{err}");
    }
}
