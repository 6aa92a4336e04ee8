//! GetFunction: the function's configuration in Lambda's shape. The Temporal server calls it
//! when a Worker Deployment Version gets a compute config, to check the function exists.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, resolve};
use crate::config::ACCOUNT_ID;
use crate::emulator::Shared;
use crate::registry::function_arn;

#[derive(Deserialize)]
pub(super) struct Params {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

pub(super) async fn get_function(
    State(shared): State<Arc<Shared>>,
    Path(function): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    shared.api_calls.record("GetFunction");
    let (pool, _) = resolve(&shared, &function, params.qualifier.as_deref())?;
    let config = pool.config();
    let region = shared.registry.region();
    let binary = std::fs::metadata(&config.binary).ok();
    let last_modified = binary
        .as_ref()
        .and_then(|m| m.modified().ok())
        .map(chrono::DateTime::<chrono::Utc>::from)
        .unwrap_or_else(chrono::Utc::now);
    let mut answer = json!({
        "Configuration": {
            "FunctionName": config.name,
            "FunctionArn": function_arn(region, &config.name),
            "Runtime": "provided.al2023",
            "Role": format!("arn:aws:iam::{ACCOUNT_ID}:role/lambda-emulator"),
            "Handler": "bootstrap",
            "CodeSize": binary.as_ref().map_or(0, std::fs::Metadata::len),
            "Description": "",
            "Timeout": config.timeout.as_secs(),
            "MemorySize": config.memory_mb,
            "LastModified": last_modified.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
            "Version": "$LATEST",
            "Environment": { "Variables": config.environment },
            "TracingConfig": { "Mode": "PassThrough" },
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": config.architectures,
            "EphemeralStorage": { "Size": 512 },
            "LoggingConfig": config.logging.to_json(&config.name),
        },
        "Code": { "RepositoryType": "Local", "Location": format!("file://{}", config.binary.display()) },
    });
    // Lambda includes `Concurrency` only when reserved concurrency is configured.
    if let Some(reserved) = config.reserved_concurrency {
        answer["Concurrency"] = json!({ "ReservedConcurrentExecutions": reserved });
    }
    Ok(Json(answer))
}
