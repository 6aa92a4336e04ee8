//! The `storefront` binary: parse the CLI, start logging, build the app, announce the address on
//! stdout (exactly one line, parsed by tests and the orchestrator), serve until SIGINT/SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use storefront::Application;
use storefront::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    storefront::telemetry::init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "storefront failed");
            eprintln!("storefront: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings(std::env::vars())?;
    let app = Application::build(settings).await?;
    let addr = app.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "storefront listening on http://{addr}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%addr, "storefront ready");
    app.run_until(storefront::app::shutdown_signal()).await?;
    tracing::info!("storefront stopped");
    Ok(())
}
