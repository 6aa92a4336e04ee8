//! Setup: what happens once per execution environment, before the first invocation — check the
//! version, load the client settings, apply the Lambda defaults, run the user's `configure`, and
//! put together the host and the lifecycle settings every invocation then uses.
//!
//! It takes the environment as a value ([`Environment`]) and returns the pieces instead of
//! starting anything, so every way it can fail, and what each default and override turns into,
//! is tested here without Lambda or a network.

use std::time::Duration;

use temporalio_common::WorkerDeploymentVersion;
use temporalio_common::worker::{VersioningBehavior, WorkerDeploymentOptions};
use temporalio_sdk::Runtime;
use tracing::warn;

use crate::defaults;
use crate::environment::Environment;
use crate::host::{ClientCache, TemporalHost};
use crate::lifecycle::LifecycleSettings;
use crate::options::{LambdaWorkerOptions, ShutdownHook};

/// Why the worker could not be set up (before any invocation).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The client settings (`temporal.toml`, `TEMPORAL_*` variables, secrets) could not be loaded;
    /// the error names the file that was read, if one was.
    #[error(transparent)]
    Config(#[from] temporal_aws_config::ConfigError),
    /// The `configure` callback returned an error.
    #[error("configure callback failed: {0:#}")]
    Configure(anyhow::Error),
    /// Neither `configure` nor `TEMPORAL_TASK_QUEUE` named a task queue.
    #[error(
        "task queue not configured: set LambdaWorkerOptions::task_queue or the {} environment variable",
        defaults::ENV_TASK_QUEUE
    )]
    NoTaskQueue,
    /// The SDK runtime (its telemetry) could not start.
    #[error("starting the Temporal SDK runtime: {0}")]
    Runtime(String),
    /// The worker deployment version lacks a deployment name or a build ID.
    #[error(
        "the worker deployment version needs a deployment name and a build ID (got {0:?}): the Worker Controller routes to versioned pollers only"
    )]
    NoVersion(String),
}

/// What setup produced: everything [`crate::run_worker`] serves invocations with.
pub(crate) struct Setup {
    pub(crate) host: TemporalHost,
    pub(crate) settings: LifecycleSettings,
    pub(crate) hooks: Vec<ShutdownHook>,
    pub(crate) longest_activity: Option<Duration>,
}

/// The version must name both its deployment and its build, or the Worker Controller cannot
/// route to it (Go's lambdaworker refuses an empty version the same way).
fn check_version(version: &WorkerDeploymentVersion) -> Result<(), SetupError> {
    if version.deployment_name.trim().is_empty() || version.build_id.trim().is_empty() {
        return Err(SetupError::NoVersion(format!(
            "{}:{}",
            version.deployment_name, version.build_id
        )));
    }
    Ok(())
}

/// Set the worker up in `env`. Must run inside a Tokio runtime (the SDK runtime attaches to it).
pub(crate) async fn setup(
    env: &Environment,
    version: WorkerDeploymentVersion,
    configure: impl FnOnce(&mut LambdaWorkerOptions) -> anyhow::Result<()>,
) -> Result<Setup, SetupError> {
    check_version(&version)?;
    let (connection, client) =
        temporal_aws_config::load_client_config_from(env.vars().clone()).await?;
    let task_queue = env.get(defaults::ENV_TASK_QUEUE).map(str::to_owned);
    let mut opts = LambdaWorkerOptions::with_defaults(env.clone(), task_queue, connection, client);
    opts.worker.deployment_options = WorkerDeploymentOptions::new(version)
        .use_worker_versioning(true)
        .default_versioning_behavior(VersioningBehavior::AutoUpgrade)
        .build();
    configure(&mut opts).map_err(SetupError::Configure)?;
    // Whatever `configure` did, versioning stays on: the Worker Controller only routes to
    // versioned pollers.
    opts.worker.deployment_options.use_worker_versioning = true;
    let task_queue = opts
        .task_queue
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or(SetupError::NoTaskQueue)?;
    opts.worker.task_queue = task_queue;
    if let Some(w) = opts.idle_exit_warning() {
        warn!("{w}");
    }

    let identity = opts.worker.client_identity_override.clone();
    let runtime = Runtime::from_current_tokio(opts.runtime)
        .map_err(|e| SetupError::Runtime(e.to_string()))?;
    Ok(Setup {
        host: TemporalHost {
            runtime,
            template: opts.worker,
            clients: ClientCache::new(
                opts.connection,
                opts.client,
                opts.reuse_client,
                opts.connect_timeout,
            ),
            per_invocation: opts.per_invocation,
        },
        settings: LifecycleSettings {
            function_name: env
                .get("AWS_LAMBDA_FUNCTION_NAME")
                .unwrap_or_default()
                .to_owned(),
            shutdown_buffer: opts.shutdown_buffer,
            idle_exit: opts.idle_exit,
            idle_check_interval: Duration::from_millis(100),
            hook_budget: defaults::SHUTDOWN_HOOK_BUFFER.min(opts.shutdown_buffer),
            identity,
        },
        hooks: opts.shutdown_hooks,
        longest_activity: opts.longest_activity_start_to_close,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};

    use temporalio_sdk::runtime::PollerBehavior;

    use super::*;

    fn version(name: &str, build: &str) -> WorkerDeploymentVersion {
        WorkerDeploymentVersion::builder()
            .deployment_name(name)
            .build_id(build)
            .build()
    }

    /// An environment with no `temporal.toml` (the lookup points at a directory without one)
    /// and these variables.
    fn env(vars: &[(&str, &str)]) -> Environment {
        let mut all: HashMap<&str, &str> = [("LAMBDA_TASK_ROOT", "/nonexistent-task-root")].into();
        all.extend(vars.iter().copied());
        Environment::from_vars(all)
    }

    fn nothing(_: &mut LambdaWorkerOptions) -> anyhow::Result<()> {
        Ok(())
    }

    async fn setup_err(
        env: &Environment,
        version: WorkerDeploymentVersion,
        configure: impl FnOnce(&mut LambdaWorkerOptions) -> anyhow::Result<()>,
    ) -> SetupError {
        match setup(env, version, configure).await {
            Ok(_) => panic!("setup succeeded"),
            Err(e) => e,
        }
    }

    #[test]
    fn an_empty_version_is_refused() {
        assert!(check_version(&version("shop", "v1")).is_ok());
        for (name, build) in [("", "v1"), ("shop", ""), (" ", " ")] {
            assert!(
                matches!(
                    check_version(&version(name, build)),
                    Err(SetupError::NoVersion(_))
                ),
                "{name:?} {build:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_version_without_a_build_fails_before_configure_runs() {
        let called = AtomicBool::new(false);
        let err = setup_err(&env(&[]), version("app", ""), |_| {
            called.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await;
        assert!(matches!(err, SetupError::NoVersion(_)), "{err}");
        assert!(!called.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_failing_configure_is_a_setup_error_with_its_message() {
        let env = env(&[("TEMPORAL_TASK_QUEUE", "q")]);
        let err = setup_err(&env, version("app", "v1"), |_| {
            anyhow::bail!("no database URL")
        })
        .await;
        assert!(matches!(err, SetupError::Configure(_)), "{err}");
        assert!(err.to_string().contains("no database URL"), "{err}");
    }

    #[tokio::test]
    async fn a_config_file_that_cannot_be_loaded_is_a_setup_error_naming_it() {
        let missing = env(&[("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")]);
        let err = setup_err(&missing, version("app", "v1"), nothing).await;
        match &err {
            SetupError::Config(e) => {
                assert_eq!(
                    e.file.as_deref(),
                    Some(std::path::Path::new("/nonexistent/temporal.toml"))
                )
            }
            other => panic!("{other}"),
        }
        let dir = std::env::temp_dir().join(format!("tlw-setup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("temporal.toml");
        std::fs::write(&file, "[profile.default\naddress = ").unwrap();
        let broken = env(&[("TEMPORAL_CONFIG_FILE", file.to_str().unwrap())]);
        let err = setup_err(&broken, version("app", "v1"), nothing).await;
        assert!(matches!(err, SetupError::Config(_)), "{err}");
        assert!(err.to_string().contains("temporal.toml"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn no_task_queue_from_the_environment_or_configure_is_a_setup_error() {
        let err = setup_err(&env(&[]), version("app", "v1"), nothing).await;
        assert!(matches!(err, SetupError::NoTaskQueue), "{err}");
        let blank = env(&[("TEMPORAL_TASK_QUEUE", "  ")]);
        let err = setup_err(&blank, version("app", "v1"), nothing).await;
        assert!(matches!(err, SetupError::NoTaskQueue), "{err}");
        let err = setup_err(&env(&[]), version("app", "v1"), |o| {
            o.task_queue = Some(" ".into());
            Ok(())
        })
        .await;
        assert!(matches!(err, SetupError::NoTaskQueue), "{err}");
    }

    /// What an untouched setup builds: Go's defaults (and this crate's documented differences)
    /// on the worker template, the client cache and the lifecycle, with the connection and
    /// namespace from the environment.
    #[tokio::test]
    async fn the_defaults_reach_what_setup_builds() {
        let env = env(&[
            ("TEMPORAL_TASK_QUEUE", "from-env"),
            ("TEMPORAL_ADDRESS", "temporal.example:7233"),
            ("TEMPORAL_NAMESPACE", "payments"),
            ("AWS_LAMBDA_FUNCTION_NAME", "payments-worker"),
        ]);
        let seen = std::sync::Mutex::new(None);
        let built = setup(&env, version("app", "v1"), |o| {
            *seen.lock().unwrap() = o.task_queue.clone();
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(
            seen.into_inner().unwrap().as_deref(),
            Some("from-env"),
            "configure sees the task queue pre-set"
        );
        let worker = &built.host.template;
        assert_eq!(worker.task_queue, "from-env");
        assert_eq!(worker.max_cached_workflows, defaults::STICKY_CACHE_SIZE);
        assert_eq!(worker.max_cached_workflows, 100);
        assert_eq!(worker.max_eager_activity_reservations_per_workflow_task, 3);
        assert_eq!(
            worker.graceful_shutdown_period,
            Some(Duration::from_secs(5))
        );
        assert!(matches!(
            worker.workflow_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(2))
        ));
        assert!(matches!(
            worker.activity_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(1))
        ));
        let deployment = &worker.deployment_options;
        assert!(deployment.use_worker_versioning);
        assert_eq!(
            deployment.default_versioning_behavior,
            Some(VersioningBehavior::AutoUpgrade)
        );
        assert_eq!(deployment.version.deployment_name, "app");
        assert_eq!(deployment.version.build_id, "v1");
        assert_eq!(worker.client_identity_override, None);

        let clients = &built.host.clients;
        assert!(clients.reuse);
        assert_eq!(clients.connect_timeout, Duration::from_secs(5));
        assert_eq!(
            clients.connection.target.as_str(),
            "http://temporal.example:7233/"
        );
        assert_eq!(clients.client.namespace, "payments");
        assert!(built.host.per_invocation.is_none());

        let settings = &built.settings;
        assert_eq!(settings.function_name, "payments-worker");
        assert_eq!(settings.shutdown_buffer, Duration::from_secs(7));
        assert_eq!(settings.hook_budget, Duration::from_secs(2));
        assert_eq!(settings.idle_exit, None);
        assert_eq!(settings.identity, None);
        assert!(built.hooks.is_empty());
        assert_eq!(built.longest_activity, None);
    }

    /// What `configure` sets is what setup builds — except versioning, which stays on.
    #[tokio::test]
    async fn overrides_in_configure_reach_what_setup_builds() {
        let env = env(&[("TEMPORAL_TASK_QUEUE", "from-env")]);
        let built = setup(&env, version("app", "v1"), |o| {
            o.task_queue = Some("from-configure".into());
            o.worker.max_cached_workflows = 7;
            o.worker.max_eager_activity_reservations_per_workflow_task = 0;
            o.worker.activity_task_poller_behavior = Some(PollerBehavior::SimpleMaximum(4));
            o.worker.client_identity_override = Some("payments-7".into());
            o.worker.deployment_options.use_worker_versioning = false;
            o.worker.deployment_options.default_versioning_behavior =
                Some(VersioningBehavior::Pinned);
            o.connection.headers = Some([("x-tenant".to_owned(), "acme".to_owned())].into());
            o.client.namespace = "other".into();
            o.shutdown_buffer = Duration::from_secs(1);
            o.idle_exit = Some(Duration::from_millis(500));
            o.reuse_client = false;
            o.connect_timeout = Duration::from_secs(2);
            o.longest_activity_start_to_close = Some(Duration::from_secs(30));
            o.on_shutdown(|_| async { Ok(()) });
            o.per_invocation(|_, worker| async { Ok(worker) });
            Ok(())
        })
        .await
        .unwrap();
        let worker = &built.host.template;
        assert_eq!(worker.task_queue, "from-configure", "configure wins");
        assert_eq!(worker.max_cached_workflows, 7);
        assert_eq!(worker.max_eager_activity_reservations_per_workflow_task, 0);
        assert!(matches!(
            worker.activity_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(4))
        ));
        assert!(
            worker.deployment_options.use_worker_versioning,
            "versioning stays on"
        );
        assert_eq!(
            worker.deployment_options.default_versioning_behavior,
            Some(VersioningBehavior::Pinned)
        );
        let clients = &built.host.clients;
        assert_eq!(
            clients.connection.headers.as_ref().unwrap()["x-tenant"],
            "acme"
        );
        assert_eq!(clients.client.namespace, "other");
        assert!(!clients.reuse);
        assert_eq!(clients.connect_timeout, Duration::from_secs(2));
        assert!(built.host.per_invocation.is_some());
        let settings = &built.settings;
        assert_eq!(settings.identity.as_deref(), Some("payments-7"));
        assert_eq!(settings.shutdown_buffer, Duration::from_secs(1));
        assert_eq!(
            settings.hook_budget,
            Duration::from_secs(1),
            "the hooks' budget never exceeds the shutdown buffer"
        );
        assert_eq!(settings.idle_exit, Some(Duration::from_millis(500)));
        assert_eq!(built.hooks.len(), 1);
        assert_eq!(built.longest_activity, Some(Duration::from_secs(30)));
    }
}
