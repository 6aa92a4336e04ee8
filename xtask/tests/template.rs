//! `template.yaml` against the code it deploys, and against AWS's own validators.
//!
//! The template is read two ways: as the local Lambda emulator resolves it (the same reading the
//! demo and the end-to-end tests run on), and as raw YAML for what only AWS reads (IAM, Metadata,
//! Outputs). Then `sam validate --lint` and `cfn-lint`, pinned, must accept it — and must reject
//! a broken copy, so a green run means the linters really looked.

#[path = "../src/tools.rs"]
#[allow(dead_code)] // shared with the xtask binary, which uses all of it
mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use lambda_emulator::FunctionConfig;
use lambda_emulator::template::{self, TemplateOptions};
use serde_yaml::Value;

fn root() -> PathBuf {
    devstack::workspace_root()
}

fn template_path() -> PathBuf {
    root().join("template.yaml")
}

fn functions(parameters: &[(&str, &str)]) -> Vec<FunctionConfig> {
    let mut options = TemplateOptions::new("/bin-dir");
    options.parameters.extend(
        parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    template::load(&template_path(), &options).expect("the emulator reads template.yaml")
}

fn function<'a>(all: &'a [FunctionConfig], name: &str) -> &'a FunctionConfig {
    all.iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no function {name} in template.yaml"))
}

/// The raw YAML; `!Ref X` and friends come back as tagged values.
fn raw() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(template_path()).unwrap()).unwrap()
}

fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| {
        v.get(*key)
            .unwrap_or_else(|| panic!("template.yaml has no {}", path.join(".")))
    })
}

#[test]
fn functions_names_and_events_match_the_code() {
    let all = functions(&[]);
    assert_eq!(
        all.len(),
        2,
        "two functions: {:?}",
        all.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    let ingest = function(&all, "shopflow-ingest");
    let worker = function(&all, "shopflow-worker");
    assert_eq!(ingest.binary, Path::new("/bin-dir/ingest-fn"));
    assert_eq!(worker.binary, Path::new("/bin-dir/worker-fn"));

    for f in [ingest, worker] {
        assert_eq!(
            f.environment.get("TEMPORAL_TASK_QUEUE").map(String::as_str),
            Some(shared::TASK_QUEUE),
            "{}",
            f.name
        );
        assert_eq!(f.architectures, ["x86_64"], "{}", f.name);
        // Credentials are named by ARN, under the names temporal-lambda-worker reads.
        for (by_arn, plain) in temporal_lambda_worker::secrets::SECRET_VARIABLES {
            assert!(
                f.environment.contains_key(by_arn),
                "{} lacks {by_arn}",
                f.name
            );
            assert!(
                !f.environment.contains_key(plain),
                "{} sets {plain} in plain text",
                f.name
            );
        }
    }
    // ingest-fn's own settings (ingest-fn/src/config.rs): the signing key by secret id only.
    assert!(ingest.environment.contains_key("SHOPFLOW_INGEST_SECRET_ID"));
    assert!(ingest.environment.contains_key("SHOPFLOW_INGEST_DLQ_URL"));
    assert!(!ingest.environment.contains_key("SHOPFLOW_INGEST_SECRET"));

    assert_eq!(ingest.http_routes.len(), 1);
    assert_eq!(
        (
            ingest.http_routes[0].method.as_str(),
            ingest.http_routes[0].path.as_str()
        ),
        ("POST", "/orders")
    );
    assert_eq!(ingest.sqs_sources.len(), 1);
    let sqs = &ingest.sqs_sources[0];
    assert_eq!(
        sqs.queue_name,
        shared::TASK_QUEUE,
        "the orders queue is named like the task queue"
    );
    assert!(
        sqs.report_batch_item_failures,
        "a bad order must not fail its whole batch"
    );
    assert!(
        worker.http_routes.is_empty() && worker.sqs_sources.is_empty(),
        "only Temporal invokes the worker"
    );
}

/// A worker must outlive its longest activity plus the stop it needs before the deadline, or
/// Lambda kills it mid-activity; and SQS must not redeliver a batch ingest is still working on.
#[test]
fn timeouts_follow_the_code() {
    let all = functions(&[]);
    let worker = function(&all, "shopflow-worker");
    let needed = shared::workflow::ACTIVITY_START_TO_CLOSE
        + temporal_lambda_worker::defaults::default_shutdown_buffer();
    assert!(
        worker.timeout >= needed,
        "WorkerFunction Timeout {:?} < {needed:?}",
        worker.timeout
    );
    assert!(worker.timeout.as_secs() <= 900, "Lambda's maximum is 900 s");

    // The ingest side (batch arithmetic, visibility ≥ 6 × timeout + window):
    // `the_largest_allowed_batch_ends_inside_the_ingest_timeout`.
}

/// A batch must finish inside the ingest function's timeout even when every record takes its
/// longest (Temporal and the DLQ both at their timeouts), or the whole batch times out and every
/// record is delivered again. The template's comment has the same sum.
#[test]
fn the_largest_allowed_batch_ends_inside_the_ingest_timeout() {
    let raw = raw();
    let max_batch = at(&raw, &["Parameters", "IngestBatchSize", "MaxValue"])
        .as_u64()
        .unwrap();
    let max_window = at(
        &raw,
        &["Parameters", "IngestBatchWindowSeconds", "MaxValue"],
    )
    .as_u64()
    .unwrap();
    let all = functions(&[
        ("IngestBatchSize", &max_batch.to_string()),
        ("IngestBatchWindowSeconds", &max_window.to_string()),
    ]);
    let ingest = function(&all, "shopflow-ingest");
    assert_eq!(u64::from(ingest.sqs_sources[0].batch_size), max_batch);
    let rounds = max_batch.div_ceil(ingest_fn::sqs::CONCURRENCY as u64) as u32;
    let worst =
        (ingest_fn::config::DEFAULT_START_TIMEOUT + ingest_fn::sqs::DLQ_SEND_TIMEOUT) * rounds;
    let margin = std::time::Duration::from_secs(10);
    assert!(
        worst + margin <= ingest.timeout,
        "a batch of {max_batch} may take {worst:?}; the function has {:?} (margin {margin:?})",
        ingest.timeout
    );
    // AWS: the queue hides a message for 6 x the function timeout + the batching window.
    let visibility = at(
        &raw,
        &[
            "Resources",
            "OrdersQueue",
            "Properties",
            "VisibilityTimeout",
        ],
    )
    .as_u64()
    .unwrap();
    assert!(visibility >= 6 * ingest.timeout.as_secs() + max_window);
}

/// The front door's limits (docs/aws.md "Limits"): the HTTP API throttles before Lambda runs,
/// ingest has reserved concurrency, and the SQS trigger stays below it, so HTTP keeps
/// environments of its own and the queue is never throttled by the function's own limit
/// (throttled deliveries count toward maxReceiveCount). Someone hears about the DLQ.
#[test]
fn the_front_door_is_bounded_and_the_dlq_is_watched() {
    let raw = raw();
    let default = |name: &str| {
        at(&raw, &["Parameters", name, "Default"])
            .as_u64()
            .unwrap_or_else(|| panic!("{name} has no numeric Default"))
    };
    let ingest = function(&functions(&[]), "shopflow-ingest").clone();
    assert_eq!(
        ingest.reserved_concurrency.map(u64::from),
        Some(default("IngestReservedConcurrency"))
    );
    let queue_max = default("IngestQueueMaxConcurrency");
    assert!(
        queue_max >= 2,
        "ScalingConfig.MaximumConcurrency is at least 2 on AWS"
    );
    assert!(queue_max < default("IngestReservedConcurrency"));
    let event = at(
        &raw,
        &[
            "Resources",
            "IngestFunction",
            "Properties",
            "Events",
            "FromOrdersQueue",
            "Properties",
        ],
    );
    assert!(tagged(at(event, &["ScalingConfig", "MaximumConcurrency"])).is_some());

    let api = at(&raw, &["Resources", "OrdersApi"]);
    assert_eq!(
        at(api, &["Type"]).as_str(),
        Some("AWS::Serverless::HttpApi")
    );
    let route = at(api, &["Properties", "DefaultRouteSettings"]);
    for (property, parameter) in [
        ("ThrottlingRateLimit", "OrdersApiRateLimit"),
        ("ThrottlingBurstLimit", "OrdersApiBurstLimit"),
    ] {
        let (tag, value) = tagged(at(route, &[property])).expect("a !Ref");
        assert_eq!((tag.as_str(), value.as_str()), ("!Ref", Some(parameter)));
        assert!(default(parameter) > 0);
    }
    let post = at(
        &raw,
        &[
            "Resources",
            "IngestFunction",
            "Properties",
            "Events",
            "PostOrder",
            "Properties",
        ],
    );
    assert!(tagged(at(post, &["ApiId"])).is_some_and(|(_, v)| v.as_str() == Some("OrdersApi")));

    let alarm = at(&raw, &["Resources", "OrdersDeadLetterAlarm"]);
    assert_eq!(
        at(alarm, &["Type"]).as_str(),
        Some("AWS::CloudWatch::Alarm")
    );
    let properties = at(alarm, &["Properties"]);
    assert_eq!(at(properties, &["Namespace"]).as_str(), Some("AWS/SQS"));
    assert_eq!(
        at(properties, &["MetricName"]).as_str(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    let (_, queue) = tagged(at(&properties["Dimensions"][0], &["Value"])).expect("a !GetAtt");
    assert_eq!(queue.as_str(), Some("OrdersDeadLetterQueue.QueueName"));
}

/// Signature checks are never switched off by a deployment, and SQS events are accepted from
/// the orders queue only (ingest-fn's event.rs).
#[test]
fn ingest_trusts_only_its_queue_and_keeps_signatures_on() {
    let text = std::fs::read_to_string(template_path()).unwrap();
    assert!(
        !text.contains("SHOPFLOW_INGEST_AUTH:"),
        "template.yaml must never set SHOPFLOW_INGEST_AUTH"
    );
    let ingest = function(&functions(&[]), "shopflow-ingest").clone();
    assert!(!ingest.environment.contains_key("SHOPFLOW_INGEST_AUTH"));
    assert_eq!(
        ingest.environment.get("SHOPFLOW_INGEST_QUEUE_ARN"),
        Some(&lambda_emulator::queue_arn(
            "us-east-1",
            &ingest.sqs_sources[0].queue_name
        )),
        "the accepted queue is the one the trigger reads"
    );
}

#[test]
fn parameters_reach_the_functions() {
    let all = functions(&[
        ("Architecture", "arm64"),
        ("WorkerMemorySize", "512"),
        ("WorkerReservedConcurrency", "3"),
        ("IngestBatchSize", "25"),
        ("IngestBatchWindowSeconds", "7"),
    ]);
    let worker = function(&all, "shopflow-worker");
    assert_eq!(worker.architectures, ["arm64"]);
    assert_eq!(
        (worker.memory_mb, worker.reserved_concurrency),
        (512, Some(3))
    );
    let ingest = function(&all, "shopflow-ingest");
    assert_eq!(ingest.architectures, ["arm64"]);
    assert_eq!(ingest.sqs_sources[0].batch_size, 25);
    assert_eq!(
        ingest.sqs_sources[0].maximum_batching_window,
        std::time::Duration::from_secs(7)
    );
}

/// `!Tag value` of a raw YAML node (e.g. `("!Ref", "MaxReceiveCount")`), if it is one.
fn tagged(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(t) => Some((t.tag.to_string(), &t.value)),
        _ => None,
    }
}

/// What the emulator does not read from the template (it makes its own queues): the orders
/// queue's redrive, and who may assume the invoke role.
#[test]
fn redrive_and_trust_come_from_their_parameters() {
    let raw = raw();
    let redrive = at(
        &raw,
        &["Resources", "OrdersQueue", "Properties", "RedrivePolicy"],
    );
    let count = tagged(at(redrive, &["maxReceiveCount"]));
    assert_eq!(
        count,
        Some(("!Ref".to_owned(), &Value::from("MaxReceiveCount"))),
        "maxReceiveCount must be the MaxReceiveCount parameter"
    );
    let target = tagged(at(redrive, &["deadLetterTargetArn"]));
    assert_eq!(
        target,
        Some((
            "!GetAtt".to_owned(),
            &Value::from("OrdersDeadLetterQueue.Arn")
        )),
        "the redrive must target the DLQ"
    );
    assert_eq!(
        at(&raw, &["Resources", "OrdersDeadLetterQueue", "Type"]).as_str(),
        Some("AWS::SQS::Queue")
    );
    assert!(
        at(&raw, &["Parameters", "MaxReceiveCount"])
            .get("Default")
            .is_some()
    );

    let window = at(
        &raw,
        &[
            "Resources",
            "IngestFunction",
            "Properties",
            "Events",
            "FromOrdersQueue",
            "Properties",
            "MaximumBatchingWindowInSeconds",
        ],
    );
    assert_eq!(
        tagged(window),
        Some(("!Ref".to_owned(), &Value::from("IngestBatchWindowSeconds")))
    );

    let trust = &at(
        &raw,
        &[
            "Resources",
            "WorkerInvokeRole",
            "Properties",
            "AssumeRolePolicyDocument",
            "Statement",
        ],
    )[0];
    assert_eq!(
        tagged(at(trust, &["Principal", "AWS"])),
        Some((
            "!Ref".to_owned(),
            &Value::from("TemporalInvokerPrincipalArns")
        )),
        "the trusted principals must be the parameter, nothing added"
    );
    assert_eq!(
        tagged(at(trust, &["Condition", "StringEquals", "sts:ExternalId"])),
        Some(("!Ref".to_owned(), &Value::from("TemporalInvokeExternalId")))
    );
    // The default principals are Temporal Cloud's invoker roles as Temporal's docs list them
    // (docs/aws.md cites where); a self-hosted service passes its own.
    let principals = at(&raw, &["Parameters", "TemporalInvokerPrincipalArns"]);
    assert_eq!(
        at(principals, &["Type"]).as_str(),
        Some("CommaDelimitedList")
    );
    let defaults = at(principals, &["Default"]).as_str().unwrap();
    for arn in defaults.split(',') {
        let arn = arn.trim();
        assert!(
            arn.starts_with("arn:aws:iam::") && arn.ends_with(":role/wci-lambda-invoke"),
            "{arn}"
        );
    }
}

/// What only AWS reads: runtime, handler, build metadata, the invoke role, the outputs deploy needs.
#[test]
fn aws_only_settings() {
    let raw = raw();
    assert_eq!(
        at(&raw, &["Globals", "Function", "Runtime"]).as_str(),
        Some("provided.al2023")
    );
    assert_eq!(
        at(&raw, &["Globals", "Function", "Handler"]).as_str(),
        Some("bootstrap")
    );

    let workspace_bins = workspace_binaries();
    for (logical_id, binary) in [
        ("IngestFunction", "ingest-fn"),
        ("WorkerFunction", "worker-fn"),
    ] {
        let metadata = at(&raw, &["Resources", logical_id, "Metadata"]);
        assert_eq!(
            at(metadata, &["BuildMethod"]).as_str(),
            Some("rust-cargolambda")
        );
        assert_eq!(
            at(metadata, &["BuildProperties", "Binary"]).as_str(),
            Some(binary)
        );
        assert!(
            workspace_bins.contains(binary),
            "{binary} is not a binary of the workspace: {workspace_bins:?}"
        );
        // `cargo xtask deploy` stages the packaged zip here.
        let code_uri = at(&raw, &["Resources", logical_id, "Properties", "CodeUri"])
            .as_str()
            .unwrap();
        assert_eq!(code_uri, format!("target/lambda/deploy/{binary}.zip"));
    }

    let role = at(&raw, &["Resources", "WorkerInvokeRole", "Properties"]);
    let trust = &at(role, &["AssumeRolePolicyDocument", "Statement"])[0];
    assert_eq!(at(trust, &["Action"]).as_str(), Some("sts:AssumeRole"));
    assert!(
        at(trust, &["Condition", "StringEquals"])
            .get("sts:ExternalId")
            .is_some(),
        "the trust needs the external ID"
    );
    let policies = at(role, &["Policies"]).as_sequence().unwrap();
    assert_eq!(policies.len(), 1);
    let statements = at(&policies[0], &["PolicyDocument", "Statement"])
        .as_sequence()
        .unwrap();
    assert_eq!(
        statements.len(),
        1,
        "one statement: invoke + get on the worker"
    );
    let actions: BTreeSet<_> = at(&statements[0], &["Action"])
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from(["lambda:GetFunction", "lambda:InvokeFunction"])
    );
    for resource in at(&statements[0], &["Resource"]).as_sequence().unwrap() {
        let text = format!("{resource:?}");
        assert!(
            text.contains("WorkerFunction.Arn"),
            "the role may touch only WorkerFunction: {text}"
        );
    }

    let outputs = at(&raw, &["Outputs"]);
    for key in [
        "OrdersApiUrl",
        "OrdersQueueUrl",
        "WorkerFunctionArn",
        "WorkerInvokeRoleArn",
    ] {
        assert!(outputs.get(key).is_some(), "output {key} missing");
    }
    // Every log group the functions write to has a retention.
    for (logical_id, group) in [
        ("IngestFunction", "IngestLogGroup"),
        ("WorkerFunction", "WorkerLogGroup"),
    ] {
        let target = at(
            &raw,
            &[
                "Resources",
                logical_id,
                "Properties",
                "LoggingConfig",
                "LogGroup",
            ],
        );
        assert!(
            format!("{target:?}").contains(group),
            "{logical_id} logs to {target:?}"
        );
        assert!(
            at(&raw, &["Resources", group, "Properties"])
                .get("RetentionInDays")
                .is_some()
        );
    }
}

fn workspace_binaries() -> BTreeSet<String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn sam_cli() -> PathBuf {
    tools::SAM_CLI
        .ensure()
        .expect("installing the pinned AWS SAM CLI")
        .join("bin")
}

fn run(program: &Path, args: &[&str], template: &Path) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .arg(template)
        .env("SAM_CLI_TELEMETRY", "0")
        // No account, no network: validation is offline with a region given.
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn sam_validate_lint_and_cfn_lint_accept_the_template_and_reject_a_broken_one() {
    let bin = sam_cli();
    let (sam, cfn_lint) = (bin.join("sam"), bin.join("cfn-lint"));
    let sam_args = ["validate", "--lint", "--region", "us-east-1", "--template"];

    let (ok, out) = run(&sam, &sam_args, &template_path());
    assert!(ok, "sam validate --lint:\n{out}");
    let (ok, out) = run(&cfn_lint, &["--"], &template_path());
    assert!(ok, "cfn-lint:\n{out}");

    // Broken copies must fail both: an SQS visibility timeout beyond SQS's 12 hours, and an
    // alarm comparison CloudWatch does not have. (cfn-lint 1.58 checks SAM functions against SAM's schema
    // without transforming them, so it does not bound a function's Timeout or Runtime: the
    // timeout rule is `timeouts_follow_the_code`'s job.)
    let dir = std::env::temp_dir().join(format!("xtask-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(template_path()).unwrap();
    for (from, to, expected) in [
        (
            "VisibilityTimeout: 200",
            "VisibilityTimeout: 99999",
            "E3034",
        ),
        // (An unknown event type is no longer a test: with `ApiId` on the HTTP event, cfn-lint's
        // SAM schema matches it leniently.)
        (
            "ComparisonOperator: GreaterThanThreshold\n",
            "ComparisonOperator: GreaterThanThresholdz\n",
            "E3030",
        ),
    ] {
        assert!(
            text.contains(from),
            "template.yaml no longer has {from:?}: update this test"
        );
        let broken = dir.join("template.yaml");
        std::fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        let (ok, out) = run(&sam, &sam_args, &broken);
        assert!(
            !ok && out.contains(expected),
            "sam validate --lint accepted {to:?}:\n{out}"
        );
        let (ok, out) = run(&cfn_lint, &["--"], &broken);
        assert!(
            !ok && out.contains(expected),
            "cfn-lint accepted {to:?}:\n{out}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `stack up` and the demo create the orders queues from the template as the emulator's
/// template reader resolves it: the queue the ingest function consumes, redriving to the DLQ
/// after the MaxReceiveCount parameter's default.
#[test]
fn the_local_queues_are_read_from_the_template() {
    let queues = template::load_queues(&template_path(), &TemplateOptions::new("/bin-dir"))
        .expect("the emulator reads template.yaml's queues");
    let orders = queues
        .iter()
        .find(|q| q.logical_id == "OrdersQueue")
        .unwrap();
    let dlq = queues
        .iter()
        .find(|q| q.logical_id == "OrdersDeadLetterQueue")
        .unwrap();
    let ingest = function(&functions(&[]), "shopflow-ingest").clone();
    assert_eq!(ingest.sqs_sources[0].queue_name, orders.name);
    let redrive = orders.redrive_policy.as_ref().unwrap();
    assert_eq!(redrive.dead_letter_queue, dlq.name);
    let raw = raw();
    let default = at(&raw, &["Parameters", "MaxReceiveCount", "Default"]);
    assert_eq!(
        u64::from(redrive.max_receive_count),
        default.as_u64().unwrap()
    );
    assert!(orders.visibility_timeout.is_some() && dlq.message_retention_period.is_some());
}
