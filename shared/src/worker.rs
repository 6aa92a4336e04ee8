//! What a ShopFlow worker is, whatever hosts it: the registrations and the deployment version.
//!
//! `local-worker` (a long-lived process) and `worker-fn` (a Lambda) must be the same worker to
//! Temporal — same workflows, same activities, same deployment and build ID — or in-flight
//! orders could not move from one to the other. Both build their options from here and add only
//! what is specific to how they run.

use temporalio_common::{
    WorkerDeploymentVersion,
    worker::{VersioningBehavior, WorkerDeploymentOptions},
};
use temporalio_sdk::{WorkerOptions, WorkflowRegistrationError};

use crate::activities::{ShopActivities, ShopClient};
use crate::names::{build_id, deployment_name};
use crate::workflow::OrderWorkflow;

/// The Worker Deployment Version both workers poll under: deployment `shopflow`, the shared build
/// ID, versioning on, default behaviour AutoUpgrade (in-flight orders may move to a newer build).
pub fn deployment_options() -> WorkerDeploymentOptions {
    WorkerDeploymentOptions::new(deployment_version())
        .use_worker_versioning(true)
        .default_versioning_behavior(VersioningBehavior::AutoUpgrade)
        .build()
}

/// Deployment name and build ID in effect (see [`crate::names`]).
pub fn deployment_version() -> WorkerDeploymentVersion {
    WorkerDeploymentVersion::builder()
        .deployment_name(deployment_name())
        .build_id(build_id())
        .build()
}

/// Register `OrderWorkflow` and the shop activities on a worker's options.
pub fn register(
    options: &mut WorkerOptions,
    shop: ShopClient,
) -> Result<(), WorkflowRegistrationError> {
    options.register_workflow::<OrderWorkflow>()?;
    options.register_activities(ShopActivities::new(shop));
    Ok(())
}

/// Options for a ShopFlow worker on `task_queue`, before host-specific tuning.
pub fn worker_options(
    task_queue: &str,
    shop: ShopClient,
) -> Result<WorkerOptions, WorkflowRegistrationError> {
    let mut options = WorkerOptions::new(task_queue)
        .deployment_options(deployment_options())
        .build();
    register(&mut options, shop)?;
    Ok(options)
}
