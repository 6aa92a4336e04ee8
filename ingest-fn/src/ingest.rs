//! Ingesting one order, whatever carried it: parse with `shared`'s rules, start it exactly once,
//! and log the outcome under the request's ingest ID. The HTTP and SQS handlers differ only in
//! how they answer; this is the part they share.

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

/// What became of one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Not an order; nothing was started. Never valid, however often it is retried.
    Rejected(OrderRejection),
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

/// Parses `body` and starts the order. Every outcome is logged once, with `ingest_id`.
pub async fn ingest(
    starter: &impl OrderStarter,
    body: &[u8],
    ingest_id: Ulid,
    source: Source,
) -> Ingested {
    let source = source.as_str();
    let order = match parse(body) {
        Ok(order) => order,
        Err(rejection) => {
            tracing::info!(%ingest_id, source, reason = %rejection, "order rejected");
            return Ingested::Rejected(rejection);
        }
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
        }) => {
            tracing::warn!(%ingest_id, source, order_id, %workflow_id, "order ID exists with different contents");
            Ingested::Conflict {
                workflow_id,
                run_id,
            }
        }
        Err(unavailable) => {
            tracing::warn!(%ingest_id, source, order_id, error = %unavailable, "order not started: Temporal unavailable");
            Ingested::Unavailable(unavailable)
        }
    }
}

/// An order from a request or message body: `shared`'s rules, plus [`require_single_object`].
pub fn parse(body: &[u8]) -> Result<shared::Order, OrderRejection> {
    require_single_object(body).and_then(|()| parse_order(body))
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

/// The field errors of a rejection: every broken rule, or the one shape error serde stops at
/// (named with a rule: `syntax`, `type`, `required`, `unknownField`).
pub fn field_errors(rejection: &OrderRejection) -> Vec<FieldError> {
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
            Err(rejection) => field_errors(&rejection),
            Ok(order) => panic!("{body} parsed: {order:?}"),
        }
    }

    fn sample_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        edit(&mut v);
        v.to_string()
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
}
