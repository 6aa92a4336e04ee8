//! Shipping addresses: ISO 3166-1 alpha-2 countries and postal codes.

use serde::{Deserialize, Serialize};

use super::newtype::{string_newtype, token};
use super::validation::RuleViolation;

/// ISO 3166-1 alpha-2 codes (officially assigned), sorted.
const ISO_3166_ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

string_newtype!(
    /// An ISO 3166-1 alpha-2 country code such as `US` (upper case).
    CountryCode, validate_country, |raw| {
        if ISO_3166_ALPHA2.binary_search(&raw).is_ok() {
            Ok(raw.to_owned())
        } else {
            Err(RuleViolation::new("iso3166", format!("{raw:?} is not an ISO 3166-1 alpha-2 country code (e.g. \"US\")")))
        }
    }
);

string_newtype!(
    /// A postal code: 1–16 letters, digits, spaces or '-'.
    PostalCode, validate_postal_code, |raw| {
        let v = token(raw, "postalCode", 16, |c| c.is_ascii_alphanumeric() || c == ' ' || c == '-',
            "letters, digits, spaces and '-'")?;
        if v.trim().is_empty() {
            return Err(RuleViolation::new("required", "postalCode must not be blank"));
        }
        Ok(v)
    }
);

/// A parsed shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: PostalCode,
    pub country: CountryCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_list_is_sorted_for_binary_search() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn countries_and_postal_codes() {
        assert!(CountryCode::parse("DE").is_ok());
        assert_eq!(CountryCode::parse("de").unwrap_err().rule, "iso3166");
        assert_eq!(CountryCode::parse("ZZ").unwrap_err().rule, "iso3166");
        assert!(PostalCode::parse("SW1A 1AA").is_ok());
        assert_eq!(PostalCode::parse("   ").unwrap_err().rule, "required");
        assert_eq!(PostalCode::parse("<script>").unwrap_err().rule, "charset");
    }
}
