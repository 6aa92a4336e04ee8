//! The real Temporal dev server, with its Worker Controller pointed at the emulator
//! (`AWS_ENDPOINT_URL_LAMBDA`), calls GetFunction and then Event-invokes the function when a
//! Worker Deployment Version gets the function as its compute config.

mod common;

use common::*;
use devstack::{TemporalDevServer, TemporalOptions};

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_controller_calls_get_function_and_invokes_through_the_emulator() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let records = temp_dir("temporal").join("invocations");
    let mut function = test_function(&format!("wc-{}", &id[..12]));
    function.environment.insert(
        "EMULATOR_TEST_RECORD_FILE".into(),
        records.display().to_string(),
    );
    let name = function.name.clone();
    // Bind the emulator first: the server must know where to call.
    let emulator = start(vec![function]).await;
    let arn = emulator.function_arn(&name);
    let lambda_endpoint = emulator.lambda_url();

    let deployment = format!("emulator-test-{id}");
    let server = tokio::task::spawn_blocking(move || -> anyhow::Result<TemporalDevServer> {
        let server = TemporalDevServer::start(TemporalOptions {
            lambda_endpoint: Some(lambda_endpoint),
            ..TemporalOptions::default()
        })?;
        devstack::create_deployment_version(&server.address(), &deployment, "v1", Some(&arn))?;
        Ok(server)
    })
    .await
    .unwrap()
    .expect("dev server and deployment version");

    assert!(
        emulator.api_calls("GetFunction") >= 1,
        "create-version checks the function with GetFunction"
    );
    let invoked = eventually(
        "the Worker Controller's Event invoke to run the function",
        async || {
            std::fs::read_to_string(&records)
                .ok()
                .filter(|r| !r.trim().is_empty())
        },
    )
    .await;
    assert!(
        emulator.api_calls("Invoke:Event") >= 1,
        "the server invokes asynchronously"
    );
    assert_eq!(emulator.api_calls("Invoke:RequestResponse"), 0);
    assert!(!invoked.lines().next().unwrap().is_empty());
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap()
        .expect("stop the dev server");
}
