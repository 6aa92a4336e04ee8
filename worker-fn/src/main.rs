//! `worker-fn`: ShopFlow's worker as an AWS Lambda function (the `bootstrap` of its zip).
//!
//! The same worker as `local-worker` — `shared`'s registrations, deployment and build ID — run
//! per invocation by `temporal-lambda-worker`. Settings beyond the crate's defaults:
//!
//! * `SHOPFLOW_IDLE_EXIT` (default `2s`, `off` to poll until the deadline): end an invocation
//!   after that long without a task, so billed time follows the orders;
//! * the function timeout is checked against `OrderWorkflow`'s 2-minute activity StartToClose.

use std::time::Duration;

use shared::activities::ShopClient;
use shared::workflow::ACTIVITY_START_TO_CLOSE;

/// Default idle time before an invocation ends.
const DEFAULT_IDLE_EXIT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let idle_exit = idle_exit_from_env(std::env::var("SHOPFLOW_IDLE_EXIT").ok().as_deref())?;
    temporal_lambda_worker::run_worker(shared::worker::deployment_version(), move |opts| {
        opts.task_queue.get_or_insert_with(shared::names::task_queue);
        let shop = ShopClient::from_env().map_err(anyhow::Error::msg)?;
        shared::worker::register(&mut opts.worker, shop)?;
        opts.longest_activity_start_to_close = Some(ACTIVITY_START_TO_CLOSE);
        opts.idle_exit = idle_exit;
        Ok(())
    })
    .await
}

fn idle_exit_from_env(value: Option<&str>) -> Result<Option<Duration>, lambda_runtime::Error> {
    match value.map(str::trim) {
        None | Some("") => Ok(Some(DEFAULT_IDLE_EXIT)),
        Some("off") => Ok(None),
        Some(v) => humantime::parse_duration(v)
            .map(Some)
            .map_err(|e| format!("SHOPFLOW_IDLE_EXIT={v:?}: {e} (use e.g. \"2s\" or \"off\")").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_exit_setting() {
        assert_eq!(idle_exit_from_env(None).unwrap(), Some(DEFAULT_IDLE_EXIT));
        assert_eq!(idle_exit_from_env(Some("off")).unwrap(), None);
        assert_eq!(idle_exit_from_env(Some("500ms")).unwrap(), Some(Duration::from_millis(500)));
        assert!(idle_exit_from_env(Some("soon")).is_err());
    }
}
