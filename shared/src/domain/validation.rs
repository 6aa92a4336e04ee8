//! Field-level validation errors that name the field and the rule.
//!
//! Two layers produce them: `validator`'s derive on the wire types (lengths, ranges, e-mail,
//! nesting) and the newtypes' own parsers (plugged into `validator` as custom rules). Both end up
//! as a flat list of [`FieldError`]s with JSON paths in camelCase (`items[2].quantity`), which is
//! what an API client can act on.

use std::borrow::Cow;

use serde::Serialize;
use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

/// One broken rule on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, camelCase, e.g. `shippingAddress.country` or `items[0].sku`.
    pub field: String,
    /// Machine-readable rule name, e.g. `length`, `range`, `email`, `iso4217`.
    pub rule: String,
    /// Human-readable explanation.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.rule)
    }
}

/// A value broke a rule of its type. Newtype parsers return this; the caller knows the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleViolation {
    pub rule: &'static str,
    pub message: String,
}

impl RuleViolation {
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
        }
    }

    /// Attach the field this violation belongs to.
    pub fn at(self, field: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            rule: self.rule.to_owned(),
            message: self.message,
        }
    }
}

impl From<RuleViolation> for ValidationError {
    fn from(v: RuleViolation) -> Self {
        ValidationError::new(v.rule).with_message(Cow::Owned(v.message))
    }
}

/// Flatten `validator`'s nested error tree into field errors with camelCase JSON paths, sorted
/// by path so responses are stable.
pub fn flatten(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field).then(a.rule.cmp(&b.rule)));
    out
}

fn walk(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        // `__all__` is where schema-level (whole-struct) rules report.
        let path = if field.as_ref() == "__all__" {
            prefix.to_owned()
        } else {
            join(prefix, &camel_case(field))
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(FieldError {
                        field: e
                            .params
                            .get("field")
                            .and_then(|v| v.as_str())
                            .map(|f| join(&path, f))
                            .unwrap_or_else(|| path.clone()),
                        rule: e.code.to_string(),
                        message: describe(e),
                    });
                }
            }
            ValidationErrorsKind::Struct(inner) => walk(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    walk(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}.{field}"),
    }
}

/// `validator` reports Rust field names; the API speaks camelCase JSON.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A message for built-in rules that carry none, from their parameters.
fn describe(e: &ValidationError) -> String {
    if let Some(m) = &e.message {
        return m.to_string();
    }
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => {
                format!("must have between {min} and {max} entries or characters")
            }
            (Some(min), None) => format!("must have at least {min} entries or characters"),
            (None, Some(max)) => format!("must have at most {max} entries or characters"),
            _ => "has the wrong length".to_owned(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".to_owned(),
        },
        "email" => "must be a valid e-mail address".to_owned(),
        other => format!("breaks rule `{other}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_cases_snake_names() {
        assert_eq!(camel_case("shipping_address"), "shippingAddress");
        assert_eq!(camel_case("unit_price_minor"), "unitPriceMinor");
        assert_eq!(camel_case("sku"), "sku");
    }
}
