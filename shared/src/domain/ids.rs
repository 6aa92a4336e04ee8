//! Identifiers: order, customer and SKU.
//!
//! They end up in workflow IDs, idempotency keys, URLs and log lines, so they are restricted to a
//! safe, printable alphabet instead of being escaped everywhere they go.

use super::newtype::{string_newtype, token};

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

string_newtype!(
    /// An order's ID as the storefront assigned it: 1–64 of `A–Z a–z 0–9 - _`.
    OrderId, validate_order_id, |raw| {
        token(raw, "orderId", 64, id_char, "letters, digits, '-' and '_'")
    }
);

string_newtype!(
    /// A customer's ID: 1–64 of `A–Z a–z 0–9 - _`.
    CustomerId, validate_customer_id, |raw| {
        token(raw, "customer id", 64, id_char, "letters, digits, '-' and '_'")
    }
);

string_newtype!(
    /// A stock-keeping unit: 1–32 of `A–Z 0–9 -`, upper case, starting with a letter or digit.
    Sku, validate_sku, |raw| {
        let v = token(raw, "sku", 32, |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-',
            "upper-case letters, digits and '-'")?;
        if v.starts_with('-') {
            return Err(super::validation::RuleViolation::new("charset", "sku must start with a letter or digit"));
        }
        Ok(v)
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_safe_tokens() {
        assert!(OrderId::parse("A-1001_x").is_ok());
        assert!(Sku::parse("MUG-01").is_ok());
        assert!(CustomerId::parse("cust_42").is_ok());
    }

    #[test]
    fn ids_reject_empty_long_and_hostile() {
        assert_eq!(OrderId::parse("").unwrap_err().rule, "required");
        assert_eq!(OrderId::parse(&"a".repeat(65)).unwrap_err().rule, "length");
        assert_eq!(OrderId::parse("1; DROP TABLE").unwrap_err().rule, "charset");
        assert_eq!(OrderId::parse("ünï").unwrap_err().rule, "charset");
        assert_eq!(Sku::parse("mug").unwrap_err().rule, "charset");
        assert_eq!(Sku::parse("-MUG").unwrap_err().rule, "charset");
    }

    #[test]
    fn serde_goes_through_the_parser() {
        assert!(serde_json::from_str::<OrderId>("\"../etc\"").is_err());
        let id: OrderId = serde_json::from_str("\"A-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"A-1\"");
    }
}
