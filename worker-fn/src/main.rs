//! `worker-fn`: ShopFlow's worker as an AWS Lambda function (the `bootstrap` of its zip).
//!
//! The same worker as `local-worker` — `shared`'s registrations, deployment and build ID — run
//! per invocation by `temporal-lambda-worker`. Settings beyond the crate's defaults:
//!
//! * `SHOPFLOW_IDLE_EXIT` (default `2s`, `off` to poll until the deadline): end an invocation
//!   after that long without a task, so billed time follows the orders. Sparse-traffic shops
//!   can go down to `500ms`, not below: under the Worker Controller's 500 ms task-signal interval
//!   a lone order can wait minutes for an invocation (`temporal-lambda-worker` warns);
//! * `SHOPFLOW_REUSE_CLIENT` (default `on`; `off` dials Temporal in every invocation): only for
//!   measuring what keeping the client across warm invocations saves (`cargo xtask bench`);
//! * the function timeout is checked against `OrderWorkflow`'s 2-minute activity StartToClose;
//! * with `OTEL_EXPORTER_OTLP_ENDPOINT` set (the ADOT layer sets it), traces of every workflow
//!   and activity and the SDK's metrics go to that collector (`temporal_lambda_worker::otel`).

use std::time::Duration;

use shared::activities::ShopClient;
use shared::workflow::ACTIVITY_START_TO_CLOSE;
use temporal_lambda_worker::otel;

/// Default idle time before an invocation ends.
const DEFAULT_IDLE_EXIT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let idle_exit = idle_exit_from_env(std::env::var("SHOPFLOW_IDLE_EXIT").ok().as_deref())?;
    let reuse_client = switch_from_env(
        "SHOPFLOW_REUSE_CLIENT",
        std::env::var("SHOPFLOW_REUSE_CLIENT").ok().as_deref(),
    )?;
    temporal_lambda_worker::run_worker(shared::worker::deployment_version(), move |opts| {
        opts.task_queue
            .get_or_insert_with(shared::names::task_queue);
        let shop = ShopClient::from_env().map_err(anyhow::Error::msg)?;
        shared::worker::register(&mut opts.worker, shop)?;
        opts.longest_activity_start_to_close = Some(ACTIVITY_START_TO_CLOSE);
        opts.idle_exit = idle_exit;
        opts.reuse_client = reuse_client;
        if opts.env(otel::ENV_ENDPOINT).is_some() {
            otel::apply_defaults(opts)?;
        }
        Ok(())
    })
    .await
}

fn idle_exit_from_env(value: Option<&str>) -> Result<Option<Duration>, lambda_runtime::Error> {
    match value.map(str::trim) {
        None | Some("") => Ok(Some(DEFAULT_IDLE_EXIT)),
        Some("off") => Ok(None),
        Some(v) => humantime::parse_duration(v).map(Some).map_err(|e| {
            format!("SHOPFLOW_IDLE_EXIT={v:?}: {e} (use e.g. \"2s\" or \"off\")").into()
        }),
    }
}

/// An on/off setting that defaults to on.
fn switch_from_env(name: &str, value: Option<&str>) -> Result<bool, lambda_runtime::Error> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "on" | "true" | "1") => Ok(true),
        Some("off" | "false" | "0") => Ok(false),
        Some(v) => Err(format!("{name}={v:?}: use \"on\" or \"off\"").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_exit_setting() {
        assert_eq!(idle_exit_from_env(None).unwrap(), Some(DEFAULT_IDLE_EXIT));
        assert_eq!(idle_exit_from_env(Some("off")).unwrap(), None);
        assert_eq!(
            idle_exit_from_env(Some("500ms")).unwrap(),
            Some(Duration::from_millis(500))
        );
        assert!(idle_exit_from_env(Some("soon")).is_err());
    }

    #[test]
    fn reuse_client_setting() {
        assert!(switch_from_env("X", None).unwrap());
        assert!(switch_from_env("X", Some("ON")).unwrap());
        assert!(!switch_from_env("X", Some("off")).unwrap());
        assert!(!switch_from_env("X", Some(" false ")).unwrap());
        let err = switch_from_env("SHOPFLOW_REUSE_CLIENT", Some("maybe"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SHOPFLOW_REUSE_CLIENT") && err.contains("maybe"),
            "{err}"
        );
    }
}
