//! Building and running the application: open the database, bind the listener, serve until a
//! shutdown signal. Tests build it exactly like `main` does, on port 0 with a temp database.

use axum::serve::ListenerExt as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::Db;
use crate::faults::Faults;

/// What the app needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub db_path: PathBuf,
    pub config: Config,
    /// The web page's and dashboard's dependencies (all optional).
    pub web: crate::web::WebSettings,
    /// When set, state-changing service and admin calls need it (see [`crate::guard`]).
    pub shop_token: Option<crate::guard::ShopToken>,
}

/// Shared state handed to every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub faults: Arc<Faults>,
    pub web: Arc<crate::web::WebState>,
    pub shop_token: Option<Arc<crate::guard::ShopToken>>,
}

/// A bound, ready-to-serve storefront.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Validates the config, opens the database and binds the port. Every startup failure
    /// (bad config, unusable database, port taken) surfaces here with context.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings
            .config
            .validate()
            .context("invalid configuration")?;
        let db_path = settings.db_path.clone();
        let catalog = settings.config.catalog.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&db_path, &catalog)).await??;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let faults = Arc::new(Faults::new(settings.config.faults.clone()));
        let state = AppState {
            db,
            config: Arc::new(settings.config),
            faults,
            web: crate::web::WebState::new(settings.web),
            shop_token: settings.shop_token.map(Arc::new),
        };
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = crate::routes::router(self.state);
        // Without TCP_NODELAY a response written in two parts (head, then body) waits for the
        // client's delayed ACK on a kept-alive connection: ~40 ms per call, four calls per order.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what orchestrators send).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
