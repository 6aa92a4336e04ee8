//! A customer's e-mail address.

use validator::ValidateEmail;

use super::newtype::string_newtype;
use super::validation::RuleViolation;

string_newtype!(
    /// An e-mail address (HTML5 rules as `validator` implements them), at most 254 characters.
    Email, validate_email_address, |raw| {
        if raw.len() > 254 {
            return Err(RuleViolation::new("length", "email must be at most 254 characters"));
        }
        if !raw.validate_email() {
            return Err(RuleViolation::new("email", "email must be a valid e-mail address"));
        }
        Ok(raw.to_owned())
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("ada@example.com").is_ok());
        assert_eq!(Email::parse("not-an-email").unwrap_err().rule, "email");
        assert_eq!(
            Email::parse(&format!("{}@x.io", "a".repeat(260)))
                .unwrap_err()
                .rule,
            "length"
        );
    }
}
