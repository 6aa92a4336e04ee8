//! `local-worker`'s command line. Temporal's own connection settings are not here: they come
//! from `temporal.toml` and `TEMPORAL_*` variables through the SDK's envconfig (see
//! `shared::connection`).

use clap::Parser;

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
