//! One metrics record per invocation, in CloudWatch Embedded Metric Format.
//!
//! Printed as a single JSON line on stdout, which Lambda ships to CloudWatch Logs, where EMF turns
//! it into metrics with no agent and no API call (nothing to flush, nothing to slow the shutdown).
//! Locally it is just a log line that tools (the demo, the benchmarks) can parse.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

/// CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "Temporal/LambdaWorker";

/// Why an invocation's worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The deadline minus the shutdown buffer was reached.
    Deadline,
    /// No task for the configured idle time.
    Idle,
    /// The environment is shutting down (SIGTERM).
    Shutdown,
    /// The worker stopped on its own with an error.
    WorkerError,
    /// The invocation was refused before a worker started (too little time).
    Refused,
}

impl EndReason {
    /// The name in the report and the invocation's result (`"idle"`, `"deadline"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Deadline => "deadline",
            EndReason::Idle => "idle",
            EndReason::Shutdown => "shutdown",
            EndReason::WorkerError => "worker-error",
            EndReason::Refused => "refused",
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationReport {
    /// `AWS_LAMBDA_FUNCTION_NAME` (a metric dimension).
    pub function_name: String,
    /// Lambda's request ID.
    pub request_id: String,
    /// Workflow tasks (activations) the worker ran.
    pub workflow_tasks: u64,
    /// Activity tasks the worker ran.
    pub activity_tasks: u64,
    /// Time with at least one task running.
    pub work: Duration,
    /// Time polling with nothing to do.
    pub idle: Duration,
    /// Whole invocation, connect to hooks done.
    pub duration: Duration,
    /// Connecting to Temporal (zero when a warm client was reused).
    pub connect: Duration,
    /// Invocation start until the worker was built and about to poll (connect included): with
    /// the environment's init phase, a cold start's time to first poll.
    pub startup: Duration,
    /// From asking the worker to stop until it had stopped: the drain. With nothing running it
    /// is the time to close the open polls, during which the Worker Controller still counts this
    /// invocation as a poller (so a task arriving then waits for it).
    pub stop: Duration,
    /// Whether the environment's kept client was used.
    pub client_reused: bool,
    /// Why the worker stopped.
    pub end_reason: EndReason,
}

impl InvocationReport {
    /// The EMF document.
    pub fn to_emf(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        json!({
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"], ["FunctionName", "EndReason"]],
                    "Metrics": [
                        {"Name": "WorkflowTasks", "Unit": "Count"},
                        {"Name": "ActivityTasks", "Unit": "Count"},
                        {"Name": "WorkTime", "Unit": "Milliseconds"},
                        {"Name": "IdleTime", "Unit": "Milliseconds"},
                        {"Name": "InvocationTime", "Unit": "Milliseconds"},
                        {"Name": "ConnectTime", "Unit": "Milliseconds"},
                        {"Name": "StartupTime", "Unit": "Milliseconds"},
                        {"Name": "StopTime", "Unit": "Milliseconds"}
                    ]
                }]
            },
            "FunctionName": self.function_name,
            "EndReason": self.end_reason.as_str(),
            "RequestId": self.request_id,
            "ClientReused": self.client_reused,
            "WorkflowTasks": self.workflow_tasks,
            "ActivityTasks": self.activity_tasks,
            "WorkTime": ms(self.work),
            "IdleTime": ms(self.idle),
            "InvocationTime": ms(self.duration),
            "ConnectTime": ms(self.connect),
            "StartupTime": ms(self.startup),
            "StopTime": ms(self.stop),
        })
    }

    /// Print the record as one line on stdout.
    pub fn emit(&self) {
        println!("{}", self.to_emf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_names_every_metric_it_declares() {
        let r = InvocationReport {
            function_name: "f".into(),
            request_id: "r".into(),
            workflow_tasks: 3,
            activity_tasks: 4,
            work: Duration::from_millis(120),
            idle: Duration::from_millis(2000),
            duration: Duration::from_millis(2150),
            connect: Duration::ZERO,
            startup: Duration::ZERO,
            stop: Duration::from_millis(3),
            client_reused: true,
            end_reason: EndReason::Idle,
        };
        let v = r.to_emf();
        for m in v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            let name = m["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name} missing");
        }
        for dims in v["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            .as_array()
            .unwrap()
        {
            for d in dims.as_array().unwrap() {
                assert!(v[d.as_str().unwrap()].is_string());
            }
        }
        assert_eq!(v["EndReason"], "idle");
        assert_eq!(v["WorkTime"], 120.0);
    }
}
