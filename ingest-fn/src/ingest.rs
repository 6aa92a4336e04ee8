//! Ingesting one order, whatever carried it: parse with `shared`'s rules, start it exactly once,
//! and log what Temporal said under the request's ingest ID. The HTTP and SQS handlers differ only
//! in how they answer; this is the part they share.
//!
//! Each submission is logged once. Outcomes that involve Temporal (started, duplicate,
//! unavailable) are logged here; a never-valid one (rejected, conflict) is logged by the handler
//! that decides what to do with it, together with that decision and the reason — HTTP with the
//! problem it answers, SQS with the dead-letter move — so it is not logged twice.

use serde_json::{Map, Value};
use shared::domain::{FieldError, OrderRejection, parse_order};
use shared::orders::Started;
use ulid::Ulid;

use crate::starter::{OrderStarter, StartOutcome, Unavailable};

/// Where an order came from (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Http,
    Sqs,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Sqs => "sqs",
        }
    }
}

/// Why a body is not an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Not JSON, or JSON of the wrong shape (wrong type, missing or unknown field).
    Malformed,
    /// Well-formed, but breaks one or more of the order's rules.
    Invalid,
}

/// A body that is not an order, with every field error found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    pub errors: Vec<FieldError>,
}

/// What became of one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Not an order; nothing was started. Never valid, however often it is retried.
    Rejected(Rejection),
    Started(Started),
    Duplicate(Started),
    /// The order ID exists with different contents. Never valid either.
    Conflict {
        workflow_id: String,
        run_id: Option<String>,
    },
    /// Temporal could not be asked; retry later.
    Unavailable(Unavailable),
}

/// Parses `body` and starts the order. Started, duplicate and unavailable are logged here, with
/// `ingest_id`; rejected and conflict are left to the caller (see the module doc).
pub async fn ingest(
    starter: &impl OrderStarter,
    body: &[u8],
    ingest_id: Ulid,
    source: Source,
) -> Ingested {
    let source = source.as_str();
    let order = match parse(body) {
        Ok(order) => order,
        Err(rejection) => return Ingested::Rejected(rejection),
    };
    let order_id = order.order_id.as_str();
    match starter.start(&order).await {
        Ok(StartOutcome::Started(started)) => {
            tracing::info!(%ingest_id, source, order_id, workflow_id = %started.workflow_id, run_id = %started.run_id, "order started");
            Ingested::Started(started)
        }
        Ok(StartOutcome::Duplicate(started)) => {
            tracing::info!(%ingest_id, source, order_id, workflow_id = %started.workflow_id, "duplicate order; already started");
            Ingested::Duplicate(started)
        }
        Ok(StartOutcome::Conflict {
            workflow_id,
            run_id,
        }) => Ingested::Conflict {
            workflow_id,
            run_id,
        },
        Err(unavailable) => {
            tracing::warn!(%ingest_id, source, order_id, error = %unavailable, "order not started: Temporal unavailable");
            Ingested::Unavailable(unavailable)
        }
    }
}

/// An order from a request or message body: `shared`'s rules, plus `require_single_object`;
/// a rejection lists every field error (see [`shape_errors`] for the shape errors).
pub fn parse(body: &[u8]) -> Result<shared::Order, Rejection> {
    parse_uncapped(body).map_err(|rejection| Rejection {
        errors: capped(rejection.errors),
        ..rejection
    })
}

/// How many field errors a rejection lists; the rest are counted in one last entry. A 64 KiB body
/// of unknown keys (`{"a1":0,"a2":0,…}`) would otherwise answer, and log, about a megabyte.
pub const MAX_LISTED_ERRORS: usize = 20;

fn capped(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    if errors.len() > MAX_LISTED_ERRORS {
        let rest = errors.len() - MAX_LISTED_ERRORS;
        errors.truncate(MAX_LISTED_ERRORS);
        errors.push(FieldError {
            field: String::new(),
            rule: "truncated".into(),
            message: format!("{rest} more errors not listed"),
        });
    }
    errors
}

fn parse_uncapped(body: &[u8]) -> Result<shared::Order, Rejection> {
    match require_single_object(body).and_then(|()| parse_order(body)) {
        Ok(order) => Ok(order),
        Err(OrderRejection::Invalid(errors)) => Err(Rejection {
            kind: RejectionKind::Invalid,
            errors,
        }),
        Err(malformed) => {
            // serde stops at the first shape error; the walk finds the others. serde's verdict
            // stays the authority (the walk only runs once it refused, and serde's own error is
            // always listed), so the walk can add detail but never reject a valid order.
            let mut errors = shape_errors(body);
            for error in field_errors(&malformed) {
                if !errors
                    .iter()
                    .any(|e| e.field == error.field && e.rule == error.rule)
                {
                    errors.push(error);
                }
            }
            Err(Rejection {
                kind: RejectionKind::Malformed,
                errors,
            })
        }
    }
}

/// The JSON shape of an order (`shared::domain::OrderRequest` and its records, camelCase,
/// `deny_unknown_fields`), for [`shape_errors`].
enum Shape {
    String,
    /// A string, `null` or absent (`#[serde(default)] Option<String>`).
    OptionalString,
    Integer,
    Object(&'static [(&'static str, Shape)]),
    Array(&'static Shape),
}

const CUSTOMER: &[(&str, Shape)] = &[("id", Shape::String), ("email", Shape::String)];
const LINE_ITEM: &[(&str, Shape)] = &[
    ("sku", Shape::String),
    ("quantity", Shape::Integer),
    ("unitPriceMinor", Shape::Integer),
];
const ADDRESS: &[(&str, Shape)] = &[
    ("name", Shape::String),
    ("line1", Shape::String),
    ("line2", Shape::OptionalString),
    ("city", Shape::String),
    ("postalCode", Shape::String),
    ("country", Shape::String),
];
const ORDER: Shape = Shape::Object(&[
    ("orderId", Shape::String),
    ("customer", Shape::Object(CUSTOMER)),
    ("items", Shape::Array(&Shape::Object(LINE_ITEM))),
    ("currency", Shape::String),
    ("shippingAddress", Shape::Object(ADDRESS)),
    ("placedAt", Shape::String),
]);

/// Every shape error of a JSON object body — unknown fields, missing required fields, wrong JSON
/// types — named like serde names them (`customer.email`, `items[1].quantity`; rules
/// `unknownField`, `required`, `type`). Empty when the body is not a JSON object at all (then
/// serde's one error says why). Rules of the values themselves are `shared`'s, checked later.
pub fn shape_errors(body: &[u8]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(body) {
        walk(&value, &ORDER, "", &mut errors);
    }
    errors
}

fn walk(value: &Value, shape: &Shape, path: &str, errors: &mut Vec<FieldError>) {
    let mut error = |rule: &str, message: String| {
        errors.push(FieldError {
            field: path.to_owned(),
            rule: rule.to_owned(),
            message,
        });
    };
    let wrong_type =
        |expected: &str| format!("invalid type: {}, expected {expected}", kind_of(value));
    match (shape, value) {
        (Shape::String, Value::String(_))
        | (Shape::OptionalString, Value::String(_) | Value::Null) => {}
        (Shape::String | Shape::OptionalString, _) => error("type", wrong_type("a string")),
        (Shape::Integer, Value::Number(n)) if n.is_i64() => {}
        (Shape::Integer, _) => error("type", wrong_type("an integer")),
        (Shape::Object(fields), Value::Object(object)) => walk_object(object, fields, path, errors),
        (Shape::Object(_), _) => error("type", wrong_type("an object")),
        (Shape::Array(item), Value::Array(values)) => {
            for (i, value) in values.iter().enumerate() {
                walk(value, item, &format!("{path}[{i}]"), errors);
            }
        }
        (Shape::Array(_), _) => error("type", wrong_type("an array")),
    }
}

fn walk_object(
    object: &Map<String, Value>,
    fields: &[(&str, Shape)],
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    let named = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for key in object.keys() {
        if !fields.iter().any(|(name, _)| name == key) {
            let expected: Vec<String> =
                fields.iter().map(|(name, _)| format!("`{name}`")).collect();
            errors.push(FieldError {
                field: named(key),
                rule: "unknownField".into(),
                message: format!(
                    "unknown field `{key}`, expected one of {}",
                    expected.join(", ")
                ),
            });
        }
    }
    for (name, shape) in fields {
        match object.get(*name) {
            Some(value) => walk(value, shape, &named(name), errors),
            None if matches!(shape, Shape::OptionalString) => {}
            None => errors.push(FieldError {
                field: named(name),
                rule: "required".into(),
                message: format!("missing field `{name}`"),
            }),
        }
    }
}

/// serde's words for a JSON value's type, as in its "invalid type" messages.
fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(_) => "string".into(),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

/// What `parse_order` lets through but an order body must not be:
/// - a JSON array: serde's derive also reads a struct from an array of its fields in order, so
///   `["A-1", {...}, ...]` would pass as an order;
/// - anything after the order: `parse_order` stops reading after the first value, so
///   `{...} x` or `{...}{...}` would pass (and the second half would be silently ignored).
///
/// Both are refused here, before parsing; reported to `shared`'s owners to move into
/// `parse_order` itself (`Deserializer::end`, and a map-only visitor).
fn require_single_object(body: &[u8]) -> Result<(), OrderRejection> {
    let malformed = |message: &str| {
        Err(OrderRejection::Malformed {
            path: String::new(),
            message: message.to_owned(),
        })
    };
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => return malformed("invalid type: an order must be a JSON object"),
        // Empty: the parser reports it (EOF).
        None => return Ok(()),
    }
    let mut values =
        serde_json::Deserializer::from_slice(body).into_iter::<serde::de::IgnoredAny>();
    match (values.next(), values.next()) {
        (Some(Ok(_)), Some(_)) => malformed("trailing characters after the order object"),
        // A broken first value is left to the parser, which names the field.
        _ => Ok(()),
    }
}

/// Field errors as one log-friendly line (`field: message (rule); ...`).
pub fn reason(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The field errors of `shared`'s rejection: every broken rule, or the one shape error serde
/// stops at (named with a rule: `syntax`, `type`, `required`, `unknownField`).
fn field_errors(rejection: &OrderRejection) -> Vec<FieldError> {
    match rejection {
        OrderRejection::Invalid(errors) => errors.clone(),
        OrderRejection::Malformed { path, message } => {
            // `?` is serde_path_to_error's "somewhere in the document" (a syntax error).
            let path = if path == "?" { "" } else { path.as_str() };
            let named = |prefix: &str| {
                message
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.split('`').next())
                    .map(str::to_owned)
            };
            let join = |name: String| {
                if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                }
            };
            let (field, rule) = if let Some(name) = named("missing field `") {
                (join(name), "required")
            } else if let Some(name) = named("unknown field `") {
                // serde_path_to_error may or may not end the path with the unknown key itself.
                let field = if path == name || path.ends_with(&format!(".{name}")) {
                    path.to_owned()
                } else {
                    join(name)
                };
                (field, "unknownField")
            } else if message.starts_with("invalid type")
                || message.starts_with("invalid value")
                || message.starts_with("invalid length")
            {
                (path.to_owned(), "type")
            } else {
                (path.to_owned(), "syntax")
            };
            vec![FieldError {
                field,
                rule: rule.to_owned(),
                message: message.clone(),
            }]
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use shared::domain::sample_order_json;

    use super::*;

    fn errors_of(body: &str) -> Vec<FieldError> {
        match parse(body.as_bytes()) {
            Err(rejection) => rejection.errors,
            Ok(order) => panic!("{body} parsed: {order:?}"),
        }
    }

    fn sample_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        edit(&mut v);
        v.to_string()
    }

    #[test]
    fn a_flood_of_unknown_keys_lists_twenty_errors_and_counts_the_rest() {
        let keys: Vec<String> = (0..500).map(|n| format!("\"a{n}\":0")).collect();
        let body = format!("{{{}}}", keys.join(","));
        let rejection = parse(body.as_bytes()).unwrap_err();
        assert_eq!(rejection.errors.len(), MAX_LISTED_ERRORS + 1);
        let last = rejection.errors.last().unwrap();
        assert_eq!(last.rule, "truncated");
        assert!(
            last.message.starts_with(&format!(
                "{} more errors",
                rejection_total(&body) - MAX_LISTED_ERRORS
            )),
            "{last:?}"
        );
        assert!(
            reason(&rejection.errors).len() < 4096,
            "the log line stays small"
        );
    }

    fn rejection_total(body: &str) -> usize {
        parse_uncapped(body.as_bytes()).unwrap_err().errors.len()
    }

    #[test]
    fn shape_errors_name_the_field_and_a_rule() {
        let rule = |body: &str| {
            let e = &errors_of(body)[0];
            (e.field.clone(), e.rule.clone())
        };
        assert_eq!(rule("{not json"), (String::new(), "syntax".into()));
        assert_eq!(rule(""), (String::new(), "syntax".into()));
        assert_eq!(rule("[]"), (String::new(), "type".into()));
        let sample = sample_with(|_| {});
        assert_eq!(
            rule(&format!("{sample} x")),
            (String::new(), "syntax".into())
        );
        assert_eq!(
            rule(&format!("{sample}{sample}")),
            (String::new(), "syntax".into())
        );
        let positional =
            sample_with(|v| *v = Value::Array(v.as_object().unwrap().values().cloned().collect()));
        assert_eq!(rule(&positional), (String::new(), "type".into()));
        assert_eq!(
            rule(&sample_with(|v| v["currency"] = 5.into())),
            ("currency".into(), "type".into())
        );
        assert_eq!(
            rule(&sample_with(|v| v["coupon"] = "FREE".into())),
            ("coupon".into(), "unknownField".into())
        );
        assert_eq!(
            rule(&sample_with(|v| v["customer"]["vip"] = true.into())),
            ("customer.vip".into(), "unknownField".into())
        );
        assert_eq!(
            rule(&sample_with(|v| {
                v["customer"].as_object_mut().unwrap().remove("email");
            })),
            ("customer.email".into(), "required".into())
        );
        assert_eq!(
            rule(&sample_with(|v| {
                v.as_object_mut().unwrap().remove("orderId");
            })),
            ("orderId".into(), "required".into())
        );
    }

    #[test]
    fn rule_errors_are_all_listed() {
        let errors = errors_of(&sample_with(|v| {
            v["currency"] = "usd".into();
            v["items"][0]["quantity"] = 0.into();
        }));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["currency", "items[0].quantity"]);
    }

    #[test]
    fn every_shape_error_is_listed_once() {
        let body = sample_with(|v| {
            v["currency"] = 5.into();
            v["coupon"] = "FREE".into();
            v["customer"].as_object_mut().unwrap().remove("email");
            v["customer"]["vip"] = true.into();
            v["items"][0]["quantity"] = "2".into();
            v["items"][1]["unitPriceMinor"] = 1.5.into();
            v["shippingAddress"]["line2"] = Value::Null;
            v["shippingAddress"]["country"] = Value::Null;
        });
        let rejection = parse(body.as_bytes()).unwrap_err();
        assert_eq!(rejection.kind, RejectionKind::Malformed);
        let mut found: Vec<(String, String)> = rejection
            .errors
            .iter()
            .map(|e| (e.field.clone(), e.rule.clone()))
            .collect();
        found.sort();
        let expected = [
            ("coupon", "unknownField"),
            ("currency", "type"),
            ("customer.email", "required"),
            ("customer.vip", "unknownField"),
            ("items[0].quantity", "type"),
            ("items[1].unitPriceMinor", "type"),
            ("shippingAddress.country", "type"),
        ];
        assert_eq!(
            found,
            expected.map(|(f, r)| (f.to_owned(), r.to_owned())),
            "{:#?}",
            rejection.errors
        );
    }

    #[test]
    fn the_shape_walk_agrees_with_serde() {
        // The valid sample has no shape error (a field added to `shared` fails here first).
        assert_eq!(shape_errors(sample_with(|_| {}).as_bytes()), []);
        // On a single error, serde's and the walk's name the same field and rule, so it is
        // listed once.
        for body in [
            sample_with(|v| v["currency"] = 5.into()),
            sample_with(|v| v["items"][1]["quantity"] = 1.5.into()),
            sample_with(|v| v["items"][0]["sku"] = Value::Null),
            sample_with(|v| v["shippingAddress"]["vip"] = true.into()),
            sample_with(|v| {
                v["items"][1].as_object_mut().unwrap().remove("sku");
            }),
        ] {
            let errors = errors_of(&body);
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert_eq!(shape_errors(body.as_bytes()).len(), 1);
        }
        // What only serde sees (a duplicate key, broken syntax) is still reported.
        let duplicate = sample_with(|_| {}).replacen('{', r#"{"orderId":"A-9","#, 1);
        assert!(shape_errors(duplicate.as_bytes()).is_empty());
        assert_eq!(errors_of(&duplicate).len(), 1);
    }
}
