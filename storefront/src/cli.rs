//! Command-line interface. Every flag also reads a `SHOPFLOW_STOREFRONT_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use crate::app::Settings;
use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "storefront",
    version,
    about = "ShopFlow's shop backend: inventory, payments, shipments, notifications"
)]
pub struct Cli {
    /// Address to listen on; port 0 picks a free port (the chosen one is printed on stdout).
    #[arg(
        long,
        env = "SHOPFLOW_STOREFRONT_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// SQLite database file; created (with the initial stock) if missing.
    #[arg(long, env = "SHOPFLOW_STOREFRONT_DB")]
    pub db: PathBuf,

    /// Optional config file (.json or .toml): catalog, declines, shipping, faults.
    #[arg(long, env = "SHOPFLOW_STOREFRONT_CONFIG")]
    pub config: Option<PathBuf>,
}

impl Cli {
    /// Resolves the settings: defaults, then the config file, then `SHOPFLOW_*` variables.
    pub fn settings(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Settings> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config
            .apply_env(env)
            .context("invalid SHOPFLOW_* environment variable")?;
        Ok(Settings {
            listen: self.listen,
            db_path: self.db.clone(),
            config,
        })
    }
}
