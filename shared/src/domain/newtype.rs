//! The machinery shared by every string newtype of the domain.
//!
//! Each newtype has one parser (its rules); the macro gives it the same surface: `parse`,
//! `as_str`, `Display`, serde that goes through the parser (so a workflow payload cannot smuggle
//! in a value that was never valid), and a `validator` custom-rule adapter so the wire types can
//! check the field with the very same parser.

macro_rules! string_newtype {
    (
        $(#[$meta:meta])*
        $name:ident, $validate_fn:ident, |$raw:ident| $parse:block
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parse a raw value, applying this type's rules.
            pub fn parse($raw: &str) -> Result<Self, $crate::domain::validation::RuleViolation> {
                let value: String = $parse?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::domain::validation::RuleViolation;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// `validator` custom rule backed by the newtype's parser.
        pub(crate) fn $validate_fn(value: &str) -> Result<(), validator::ValidationError> {
            $name::parse(value).map(|_| ()).map_err(Into::into)
        }
    };
}

pub(crate) use string_newtype;

use super::validation::RuleViolation;

/// Rule helper: `value` is 1..=`max` characters from `allowed`.
pub(crate) fn token(
    value: &str,
    what: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    allowed_desc: &str,
) -> Result<String, RuleViolation> {
    if value.is_empty() {
        return Err(RuleViolation::new(
            "required",
            format!("{what} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(RuleViolation::new(
            "length",
            format!("{what} must be at most {max} characters"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(RuleViolation::new(
            "charset",
            format!("{what} may only contain {allowed_desc} (found {bad:?})"),
        ));
    }
    Ok(value.to_owned())
}
