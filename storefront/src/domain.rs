//! Validated request values ("parse, don't validate").
//!
//! Every field a client sends is parsed into one of these newtypes while the JSON body is
//! deserialized (`#[serde(try_from = ...)]`), so a handler that holds a `ChargeRequest` holds
//! only sane values, and the rejection message names the rule that was broken. Limits are
//! deliberately tight: the storefront stores what it receives, so unbounded or control-character
//! strings would end up in the database and in logs.

use serde::{Deserialize, Serialize};

/// Declares a `String` newtype whose only constructor runs `$check`.
macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map(|()| Self(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Opaque identifiers: 1–128 printable ASCII characters, no whitespace.
fn identifier(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 {
        return Err(format!(
            "must be 1 to 128 characters, got {}",
            value.chars().count()
        ));
    }
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".into());
    }
    Ok(())
}

/// Free text for humans: non-blank, at most `max` characters, no control characters
/// (except newline and tab when `multiline`).
fn text(value: &str, max: usize, multiline: bool) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be blank".into());
    }
    let count = value.chars().count();
    if count > max {
        return Err(format!("must be at most {max} characters, got {count}"));
    }
    if let Some(c) = shared::domain::text::forbidden_character(value, multiline) {
        return Err(format!(
            "must not contain control or invisible formatting characters ({})",
            shared::domain::text::describe(c)
        ));
    }
    Ok(())
}

fn uppercase_letters(value: &str, len: usize, what: &str) -> Result<(), String> {
    if value.len() == len && value.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!(
            "must be {len} uppercase letters ({what}), got {value:?}"
        ))
    }
}

checked_string!(
    /// The shop's order ID (ShopFlow uses it in the workflow ID `order-{orderId}`).
    OrderId,
    identifier
);
checked_string!(
    /// The paying customer's ID; decline rules match on it.
    CustomerId,
    identifier
);
checked_string!(
    /// Stock-keeping unit: 1–64 of `A-Z a-z 0-9 . _ -`. Anything else cannot be in a catalog.
    Sku,
    |value| {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok { Ok(()) } else { Err(format!("must be 1 to 64 of A-Z a-z 0-9 . _ -, got {value:?}")) }
    }
);
checked_string!(
    /// ISO 4217 currency code.
    Currency,
    |value| uppercase_letters(value, 3, "ISO 4217")
);
checked_string!(
    /// ISO 3166-1 alpha-2 country code.
    CountryCode,
    |value| uppercase_letters(value, 2, "ISO 3166-1 alpha-2")
);
checked_string!(
    /// An e-mail address, checked only for shape: the storefront never sends real mail.
    Email,
    |value| {
        let shape_ok = value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(value.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if shape_ok { Ok(()) } else { Err(format!("must be an e-mail address, got {value:?}")) }
    }
);
checked_string!(
    /// One line of a postal address, a city, or a notification kind.
    Line,
    |value| text(value, 200, false)
);
checked_string!(
    /// A postal code.
    PostalCode,
    |value| text(value, 20, false)
);
checked_string!(
    /// The body of a notification.
    Message,
    |value| text(value, 4000, true)
);

/// Largest quantity of one SKU in one request; bigger is surely a client bug.
pub const MAX_QUANTITY: u32 = 10_000;

/// A positive quantity of one SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = String;
    fn try_from(value: u32) -> Result<Self, String> {
        if (1..=MAX_QUANTITY).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!(
                "quantity must be between 1 and {MAX_QUANTITY}, got {value}"
            ))
        }
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> u32 {
        value.0
    }
}

/// Largest amount in minor units the storefront accepts at all (decline rules cut lower).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// A positive amount of money in minor units (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct AmountMinor(i64);

impl AmountMinor {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for AmountMinor {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        if (1..=MAX_AMOUNT_MINOR).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!(
                "amountMinor must be between 1 and {MAX_AMOUNT_MINOR}, got {value}"
            ))
        }
    }
}

impl From<AmountMinor> for i64 {
    fn from(value: AmountMinor) -> i64 {
        value.0
    }
}

/// One line of a reservation or shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Largest number of lines in one request.
pub const MAX_LINES: usize = 100;

/// A non-empty list of line items with distinct SKUs, so "reserve all or nothing" is well defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<LineItem>", into = "Vec<LineItem>")]
pub struct LineItems(Vec<LineItem>);

impl LineItems {
    pub fn iter(&self) -> std::slice::Iter<'_, LineItem> {
        self.0.iter()
    }
}

impl TryFrom<Vec<LineItem>> for LineItems {
    type Error = String;
    fn try_from(items: Vec<LineItem>) -> Result<Self, String> {
        if items.is_empty() || items.len() > MAX_LINES {
            return Err(format!(
                "items must have 1 to {MAX_LINES} entries, got {}",
                items.len()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = items.iter().find(|item| !seen.insert(item.sku.as_str())) {
            return Err(format!(
                "items lists SKU {:?} more than once",
                dup.sku.as_str()
            ));
        }
        Ok(Self(items))
    }
}

impl From<LineItems> for Vec<LineItem> {
    fn from(value: LineItems) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_rejects_injection_and_unicode() {
        assert!(Sku::try_from("TEE-BLK-M".to_owned()).is_ok());
        assert!(Sku::try_from("x'; DROP TABLE stock;--".to_owned()).is_err());
        assert!(Sku::try_from("tée".to_owned()).is_err());
        assert!(Sku::try_from(String::new()).is_err());
    }

    #[test]
    fn quantities_and_amounts_must_be_positive() {
        assert!(Quantity::try_from(0).is_err());
        assert!(Quantity::try_from(MAX_QUANTITY + 1).is_err());
        assert!(AmountMinor::try_from(0).is_err());
        assert!(AmountMinor::try_from(-5).is_err());
        assert_eq!(AmountMinor::try_from(1).map(AmountMinor::get), Ok(1));
    }

    #[test]
    fn text_allows_unicode_but_not_control_characters() {
        assert!(Line::try_from("Straße 5, 東京".to_owned()).is_ok());
        assert!(Line::try_from("a\u{0}b".to_owned()).is_err());
        assert!(
            Line::try_from("Evil\u{202E}gpj.exe".to_owned()).is_err(),
            "a right-to-left override"
        );
        assert!(
            Line::try_from("a\u{200B}b".to_owned()).is_err(),
            "a zero-width space"
        );
        assert!(Line::try_from("   ".to_owned()).is_err());
        assert!(Message::try_from("line one\nline two".to_owned()).is_ok());
    }

    #[test]
    fn email_needs_exactly_one_at() {
        assert!(Email::try_from("ana@example.com".to_owned()).is_ok());
        assert!(Email::try_from("ana@@example.com".to_owned()).is_err());
        assert!(Email::try_from("ana example.com".to_owned()).is_err());
    }

    #[test]
    fn duplicate_skus_are_rejected() {
        let line = |sku: &str| LineItem {
            sku: Sku::try_from(sku.to_owned()).unwrap(),
            quantity: Quantity::try_from(1).unwrap(),
        };
        assert!(LineItems::try_from(vec![line("A"), line("B")]).is_ok());
        assert!(LineItems::try_from(vec![line("A"), line("A")]).is_err());
        assert!(LineItems::try_from(vec![]).is_err());
    }
}
