//! Command-line interface. Every flag also reads a `SHOPFLOW_STOREFRONT_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use crate::app::Settings;
use crate::config::Config;
use crate::web::{IngestTarget, TemporalTarget, WebSettings, parse_http_url};

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

    /// The ingest API the web page's orders are forwarded to, e.g. http://127.0.0.1:3000/orders.
    /// Requests are signed with `SHOPFLOW_INGEST_SECRET` (environment only: a flag would show the
    /// secret in `ps`); without it they go unsigned.
    #[arg(long, env = "SHOPFLOW_INGEST_URL")]
    pub ingest_url: Option<String>,

    /// The Temporal UI, e.g. http://127.0.0.1:8233: orders on the pages link to their workflow.
    #[arg(long, env = "SHOPFLOW_TEMPORAL_UI_URL")]
    pub temporal_ui_url: Option<String>,

    /// The Lambda emulator's API, e.g. http://127.0.0.1:9001: the dashboard charts its metrics.
    #[arg(long, env = "SHOPFLOW_EMULATOR_URL")]
    pub emulator_url: Option<String>,

    /// Show only orders on this task queue on the dashboard (default: every OrderWorkflow of the
    /// namespace). Temporal itself is reached through temporal.toml and the `TEMPORAL_*`
    /// variables, as every ShopFlow binary does.
    #[arg(long, env = "TEMPORAL_TASK_QUEUE")]
    pub task_queue: Option<String>,
}

impl Cli {
    /// Resolves the settings: defaults, then the config file, then `SHOPFLOW_*` variables.
    pub fn settings(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Settings> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let web = self.web_settings(var("SHOPFLOW_INGEST_SECRET"), var("TEMPORAL_NAMESPACE"))?;
        let shop_token = var(crate::guard::ENV_SHOP_TOKEN)
            .filter(|t| !t.trim().is_empty())
            .map(|t| crate::guard::ShopToken::new(&t))
            .transpose()
            .map_err(anyhow::Error::msg)?;

        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config
            .apply_env(env)
            .context("invalid SHOPFLOW_* environment variable")?;
        Ok(Settings {
            shop_token,
            listen: self.listen,
            db_path: self.db.clone(),
            config,
            web,
        })
    }

    fn web_settings(
        &self,
        secret: Option<String>,
        namespace: Option<String>,
    ) -> anyhow::Result<WebSettings> {
        let url = |flag: &str, raw: &Option<String>| {
            raw.as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| parse_http_url(v).map_err(|e| anyhow::anyhow!("--{flag}: {e}")))
                .transpose()
        };
        // Blank means unsigned; a secret too short to be safe is a startup error, not a silent
        // "unsigned" (the ingest would refuse every request anyway).
        let secret = secret
            .filter(|s| !s.trim().is_empty())
            .map(shared::signing::Secret::new)
            .transpose()
            .map_err(|e| anyhow::anyhow!("SHOPFLOW_INGEST_SECRET: {e}"))?;
        let ingest = url("ingest-url", &self.ingest_url)?.map(|url| IngestTarget { url, secret });
        Ok(WebSettings {
            ingest,
            temporal: TemporalTarget::Profile,
            temporal_ui_url: url("temporal-ui-url", &self.temporal_ui_url)?,
            emulator_url: url("emulator-url", &self.emulator_url)?,
            task_queue: self.task_queue.clone().filter(|q| !q.trim().is_empty()),
            namespace: namespace
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "default".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["storefront", "--db", "x.db"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("arguments parse")
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn web_dependencies_are_optional() {
        let settings = cli(&[]).settings(env(&[])).unwrap();
        assert!(settings.web.ingest.is_none() && settings.web.emulator_url.is_none());
        assert_eq!(settings.web.temporal, TemporalTarget::Profile);
        assert_eq!(settings.web.namespace, "default");
    }

    #[test]
    fn the_ingest_secret_comes_from_the_environment_only() {
        let args = [
            "--ingest-url",
            "http://127.0.0.1:3000/orders",
            "--task-queue",
            "q1",
        ];
        let settings = cli(&args)
            .settings(env(&[
                ("SHOPFLOW_INGEST_SECRET", SECRET),
                ("TEMPORAL_NAMESPACE", "shop"),
            ]))
            .unwrap();
        let ingest = settings.web.ingest.expect("ingest configured");
        assert_eq!(ingest.url.as_str(), "http://127.0.0.1:3000/orders");
        assert_eq!(ingest.secret, shared::signing::Secret::new(SECRET).ok());
        assert_eq!(
            (
                settings.web.task_queue.as_deref(),
                settings.web.namespace.as_str()
            ),
            (Some("q1"), "shop")
        );
        // A blank secret means unsigned, never "signed with the empty key".
        let blank = cli(&args)
            .settings(env(&[("SHOPFLOW_INGEST_SECRET", "  ")]))
            .unwrap();
        assert!(blank.web.ingest.unwrap().secret.is_none());
        assert!(Cli::try_parse_from(["storefront", "--db", "x", "--ingest-secret", "k"]).is_err());
        // A short one is refused at startup, naming the variable.
        let short = cli(&args)
            .settings(env(&[("SHOPFLOW_INGEST_SECRET", "hunter2")]))
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("SHOPFLOW_INGEST_SECRET") && short.contains("at least 32"),
            "{short}"
        );
    }

    const SECRET: &str = "the-storefront-and-ingest-shared-key";

    #[test]
    fn bad_urls_are_startup_errors_naming_the_flag() {
        for flag in ["--ingest-url", "--temporal-ui-url", "--emulator-url"] {
            let err = cli(&[flag, "localhost:3000"])
                .settings(env(&[]))
                .unwrap_err();
            assert!(err.to_string().contains(&flag[2..]), "{flag}: {err}");
        }
    }
}
