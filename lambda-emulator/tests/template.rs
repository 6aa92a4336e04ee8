//! Reading SAM templates: the fixture template end to end, and malformed templates.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lambda_emulator::template::{self, QueueConfig, RedrivePolicy, TemplateError, TemplateOptions};
use lambda_emulator::{HttpRoute, SqsSource};

fn options() -> TemplateOptions {
    let mut options = TemplateOptions::new("/bin-dir");
    options.stack_name = "shop".into();
    options.region = "eu-west-1".into();
    options
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/template.yaml")
}

#[test]
fn reads_functions_with_globals_intrinsics_and_events() {
    let functions = template::load(&fixture(), &options()).unwrap();
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["shop-ingest", "shop-worker-dev", "BareFunction"]);

    let ingest = &functions[0];
    assert_eq!(ingest.binary, Path::new("/bin-dir/ingest-fn"));
    assert_eq!(
        (ingest.timeout, ingest.memory_mb),
        (Duration::from_secs(10), 256)
    );
    assert_eq!(ingest.architectures, ["arm64"]);
    assert_eq!(ingest.environment["STAGE"], "dev");
    assert_eq!(ingest.environment["SHARED"], "from-function");
    assert_eq!(
        ingest.environment["QUEUE_URL"],
        "http://sqs.eu-west-1.amazonaws.com/000000000000/shop-orders"
    );
    assert_eq!(
        ingest.environment["QUEUE_ARN"],
        "arn:aws:sqs:eu-west-1:000000000000:shop-orders"
    );
    assert_eq!(
        ingest.environment["REGION_AND_ACCOUNT"],
        "eu-west-1:000000000000"
    );
    assert_eq!(
        ingest.http_routes,
        [
            HttpRoute {
                method: "POST".into(),
                path: "/orders".into()
            },
            HttpRoute {
                method: "GET".into(),
                path: "/orders/{id}".into()
            }
        ]
    );
    let mut orders = SqsSource::new("shop-orders");
    orders.batch_size = 5;
    orders.maximum_batching_window = Duration::from_secs(1);
    orders.report_batch_item_failures = true;
    let mut other = SqsSource::new("UnnamedQueue");
    other.enabled = false;
    assert_eq!(ingest.sqs_sources, [orders, other]);

    let worker = &functions[1];
    assert_eq!(worker.binary, Path::new("/bin-dir/worker-fn"));
    assert_eq!(worker.reserved_concurrency, Some(20));
    assert_eq!(worker.timeout, Duration::from_secs(900));
    assert_eq!(worker.environment["TEMPORAL_ADDRESS"], "127.0.0.1:7233");
    assert_eq!(worker.environment["LITERAL"], "${NotSubstituted}-dev");
    assert_eq!(
        worker.http_routes,
        [HttpRoute {
            method: "ANY".into(),
            path: "$default".into()
        }]
    );

    let bare = &functions[2];
    assert_eq!(bare.binary, Path::new("/bin-dir/BareFunction"));
    assert_eq!(bare.environment["SHARED"], "from-globals");
}

#[test]
fn overrides_win_over_the_template() {
    let mut options = options();
    options
        .binaries
        .insert("shop-ingest".into(), "/elsewhere/ingest".into());
    options
        .binaries
        .insert("WorkerFunction".into(), "/elsewhere/worker".into());
    options.parameters.insert("Stage".into(), "prod".into());
    let functions = template::load(&fixture(), &options).unwrap();
    assert_eq!(functions[0].binary, Path::new("/elsewhere/ingest"));
    assert_eq!(functions[1].binary, Path::new("/elsewhere/worker"));
    assert_eq!(functions[1].name, "shop-worker-prod");
}

#[test]
fn malformed_templates_are_reported_with_their_location() {
    let cases = [
        ("Resources: [", "not valid YAML"),
        ("Parameters: {}", "no Resources"),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 901\n",
            "Resources.F.Timeout",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: !Ref Missing\n",
            "Ref to unknown Missing",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: !ImportValue x\n",
            "ImportValue is not supported",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: SQS\n          Properties: {BatchSize: 5}\n",
            "needs Queue",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      MemorySize: lots\n",
            "not a whole number",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: !Sub \"${Unclosed\"\n",
            "unclosed",
        ),
        // What a deploy refuses, refused here too.
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          AWS_REGION: eu-west-1\n",
            "reserved keys",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          BIG: BIGVALUE\n",
            "4KB limit",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      LoggingConfig: {LogFormat: Text, ApplicationLogLevel: DEBUG}\n",
            "requires LogFormat JSON",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: SQS\n          Properties: {Queue: q, BatchSize: 50}\n",
            "needs MaximumBatchingWindowInSeconds",
        ),
    ];
    for (text, expected) in cases {
        let text = text.replace("BIGVALUE", &"v".repeat(4100));
        let error = template::parse(&text, &options()).unwrap_err();
        assert!(
            error.to_string().contains(expected),
            "{text:.200?}: {error}"
        );
    }
    assert!(matches!(
        template::load(Path::new("/no/such/template.yaml"), &options()),
        Err(TemplateError::Read(..))
    ));
}

#[test]
fn reads_queues_with_their_redrive_policy() {
    let text = "Parameters:\n  MaxReceiveCount:\n    Type: Number\n    Default: 5\nResources:\n  Dlq:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub \"${AWS::StackName}-dlq\"\n      MessageRetentionPeriod: 1209600\n  Orders:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: 180\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt Dlq.Arn\n        maxReceiveCount: !Ref MaxReceiveCount\n  F:\n    Type: AWS::Serverless::Function\n";
    let queues = template::parse_queues(text, &options()).unwrap();
    assert_eq!(
        queues,
        [
            QueueConfig {
                logical_id: "Dlq".into(),
                name: "shop-dlq".into(),
                visibility_timeout: None,
                message_retention_period: Some(Duration::from_secs(1_209_600)),
                redrive_policy: None,
            },
            QueueConfig {
                logical_id: "Orders".into(),
                name: "Orders".into(),
                visibility_timeout: Some(Duration::from_secs(180)),
                message_retention_period: None,
                redrive_policy: Some(RedrivePolicy {
                    dead_letter_queue: "shop-dlq".into(),
                    max_receive_count: 5
                }),
            },
        ]
    );
    let mut overridden = options();
    overridden
        .parameters
        .insert("MaxReceiveCount".into(), "3".into());
    let queues = template::parse_queues(text, &overridden).unwrap();
    assert_eq!(
        queues[1].redrive_policy.as_ref().unwrap().max_receive_count,
        3
    );

    let malformed = [
        (
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: 43201\n",
            "Resources.Q.VisibilityTimeout",
        ),
        (
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy: {maxReceiveCount: 5}\n",
            "no deadLetterTargetArn",
        ),
        (
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy: {deadLetterTargetArn: x, maxReceiveCount: 0}\n",
            "Resources.Q.RedrivePolicy.maxReceiveCount",
        ),
    ];
    for (text, expected) in malformed {
        let error = template::parse_queues(text, &options()).unwrap_err();
        assert!(
            error.to_string().contains(expected),
            "{text:.200?}: {error}"
        );
    }
}
