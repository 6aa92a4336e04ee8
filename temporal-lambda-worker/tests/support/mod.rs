//! The example worker on a stack of its own, as a user would deploy it: `examples/hello_worker`
//! built as a Lambda `bootstrap` and served by the project's Lambda emulator, a Temporal dev
//! server whose Worker Controller invokes it, and the version registered with the function's
//! ARN. Shared by the tests that run the example (`mod support;`).

use std::time::Duration;

use lambda_emulator::{EmulatorConfig, FunctionConfig, Listen, RunningEmulator};

/// The function's name in the emulator.
pub const FUNCTION: &str = "hello-worker";
/// The example's deployment and build (its `DEPLOYMENT` and `BUILD_ID`).
pub const DEPLOYMENT: &str = "hello";
pub const BUILD_ID: &str = "v1";

/// A running stack; dropped or [`ExampleStack::stop`]ped at the end of a test.
pub struct ExampleStack {
    pub emulator: RunningEmulator,
    pub temporal: devstack::TemporalDevServer,
    pub task_queue: String,
}

impl ExampleStack {
    /// Start it, with `env` added to the function's environment; returns once the version is
    /// registered and a worker of it (the registration's invocation) has polled.
    pub async fn start(name: &str, env: &[(&str, &str)]) -> Self {
        let binary = devstack::bin_dir().join("examples").join("hello_worker");
        assert!(
            binary.is_file(),
            "{} is not built: cargo build -p temporal-lambda-worker --example hello_worker",
            binary.display()
        );
        // The emulator must know the server's address and the server the emulator's.
        let port = devstack::ports::pick_free_port().unwrap();
        let address = format!("127.0.0.1:{port}");
        let task_queue = format!("{name}-{}", std::process::id());
        let mut function = FunctionConfig::new(FUNCTION, binary);
        function.timeout = Duration::from_secs(60);
        let base = [
            ("TEMPORAL_ADDRESS", address.as_str()),
            ("TEMPORAL_NAMESPACE", "default"),
            ("TEMPORAL_TASK_QUEUE", task_queue.as_str()),
        ];
        function.environment.extend(
            base.iter()
                .chain(env)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let emulator = RunningEmulator::start(
            EmulatorConfig::default(),
            vec![function],
            Listen::ephemeral(),
        )
        .await
        .unwrap();
        let temporal = devstack::TemporalDevServer::start(devstack::TemporalOptions {
            port,
            lambda_endpoint: Some(emulator.lambda_url()),
            ..Default::default()
        })
        .unwrap();
        let arn = emulator.function_arn(FUNCTION);
        devstack::register_lambda_version(&address, DEPLOYMENT, BUILD_ID, &task_queue, &arn)
            .unwrap();
        Self {
            emulator,
            temporal,
            task_queue,
        }
    }

    /// Stop the server, then the emulator and its environments.
    pub async fn stop(self) {
        drop(self.temporal);
        self.emulator.shutdown().await;
    }
}
