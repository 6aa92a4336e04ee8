//! The sample files in `events/` stay true: valid orders parse, each invalid one is rejected for
//! the field and rule its name promises, and the event files are what the Lambda event types
//! (and so `cargo lambda invoke --data-file`) accept. A new sample must be listed here.

use std::path::PathBuf;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::sqs::SqsEvent;
use ingest_fn::event::{Event, classify};
use ingest_fn::ingest::{Ingested, Source, ingest};
use ingest_fn::starter::{OrderStarter, StartOutcome, Unavailable};
use shared::domain::{Order, parse_order};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(events_dir().join(name)).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

fn order(name: &str) -> Order {
    parse_order(&read(&format!("orders/{name}.json")))
        .unwrap_or_else(|e| panic!("{name} must be valid: {e}"))
}

/// Valid samples.
const VALID: [&str; 4] = [
    "valid",
    "valid-duplicate",
    "valid-unicode",
    "conflict-same-id-other-items",
];

/// Invalid samples with a field and rule among their errors.
const INVALID: [(&str, &str, &str); 10] = [
    ("invalid-not-json", "customer", "syntax"),
    ("invalid-array", "", "type"),
    ("invalid-unknown-field", "coupon", "unknownField"),
    ("invalid-missing-field", "customer.email", "required"),
    ("invalid-wrong-type", "items[0].quantity", "type"),
    ("invalid-rules", "shippingAddress.country", "iso3166"),
    ("invalid-no-items", "items", "length"),
    ("invalid-huge-number", "items[0].unitPriceMinor", "type"),
    ("invalid-injection", "orderId", "charset"),
    ("invalid-rules", "currency", "iso4217"),
];

#[test]
fn every_sample_order_is_listed() {
    let mut listed: Vec<&str> = VALID
        .iter()
        .copied()
        .chain(INVALID.iter().map(|(name, ..)| *name))
        .collect();
    listed.sort();
    listed.dedup();
    let mut found: Vec<String> = std::fs::read_dir(events_dir().join("orders"))
        .unwrap()
        .map(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    found.sort();
    assert_eq!(found, listed);
}

#[test]
fn valid_samples_parse_and_the_duplicate_and_conflict_are_what_they_claim() {
    for name in VALID {
        order(name);
    }
    assert_eq!(
        order("valid"),
        order("valid-duplicate"),
        "same order, other key order"
    );
    let conflict = order("conflict-same-id-other-items");
    assert_eq!(conflict.order_id, order("valid").order_id);
    assert_ne!(conflict, order("valid"));
}

#[test]
fn invalid_samples_are_rejected_for_the_expected_field() {
    for (name, field, rule) in INVALID {
        let errors = rejected(&read(&format!("orders/{name}.json")));
        assert!(
            errors.iter().any(|e| e.field == field && e.rule == rule),
            "{name}: expected {field} / {rule}, got {errors:?}"
        );
    }
}

/// The field errors `ingest-fn` reports for `body` (through the same path as a request).
fn rejected(body: &[u8]) -> Vec<shared::domain::FieldError> {
    let starter = NeverStarts;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match runtime.block_on(ingest(&starter, body, ulid::Ulid::new(), Source::Http)) {
        Ingested::Rejected(rejection) => rejection.errors,
        other => panic!(
            "{} was not rejected: {other:?}",
            String::from_utf8_lossy(body)
        ),
    }
}

/// A starter for bodies that must never reach one.
struct NeverStarts;

impl OrderStarter for NeverStarts {
    async fn start(&self, order: &Order) -> Result<StartOutcome, Unavailable> {
        panic!("an invalid order reached the starter: {order:?}")
    }
}

#[test]
fn event_files_deserialize_into_the_lambda_event_types() {
    let http: ApiGatewayV2httpRequest =
        serde_json::from_slice(&read("http-api-post-orders.json")).unwrap();
    assert_eq!(http.raw_path.as_deref(), Some("/orders"));
    let body = http.body.expect("a body");
    assert_eq!(parse_order(body.as_bytes()).unwrap(), order("valid"));
    assert!(matches!(
        classify(serde_json::from_slice(&read("http-api-post-orders.json")).unwrap()),
        Ok(Event::Http(_))
    ));

    let sqs: SqsEvent = serde_json::from_slice(&read("sqs-orders-batch.json")).unwrap();
    assert_eq!(sqs.records.len(), 3);
    let parsed: Vec<bool> = sqs
        .records
        .iter()
        .map(|r| parse_order(r.body.as_deref().unwrap().as_bytes()).is_ok())
        .collect();
    assert_eq!(parsed, [true, true, false]);
    assert!(matches!(
        classify(serde_json::from_slice(&read("sqs-orders-batch.json")).unwrap()),
        Ok(Event::Sqs(_))
    ));
}
