//! Money: ISO 4217 currency codes and amounts in integer minor units.
//!
//! Amounts are never floats: a price is an integer count of the currency's minor unit (cents),
//! and totals use checked arithmetic so an absurd order is rejected instead of wrapping.

use serde::{Deserialize, Serialize};

use super::newtype::string_newtype;
use super::validation::RuleViolation;

/// Active ISO 4217 alphabetic codes.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

string_newtype!(
    /// An ISO 4217 currency code such as `USD` (upper case).
    Currency, validate_currency, |raw| {
        if ISO_4217.binary_search(&raw).is_ok() {
            Ok(raw.to_owned())
        } else {
            Err(RuleViolation::new("iso4217", format!("{raw:?} is not an ISO 4217 currency code (e.g. \"USD\")")))
        }
    }
);

/// The largest order total accepted, in minor units (10 million in major units).
pub const MAX_ORDER_TOTAL_MINOR: i64 = 1_000_000_000;

/// A positive amount in a currency's minor unit (e.g. cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct MinorUnits(i64);

impl MinorUnits {
    pub fn new(value: i64) -> Result<Self, RuleViolation> {
        if value <= 0 {
            return Err(RuleViolation::new("range", "amount must be positive"));
        }
        if value > MAX_ORDER_TOTAL_MINOR {
            return Err(RuleViolation::new(
                "range",
                format!("amount must be at most {MAX_ORDER_TOTAL_MINOR} minor units"),
            ));
        }
        Ok(Self(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for MinorUnits {
    type Error = RuleViolation;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<MinorUnits> for i64 {
    fn from(value: MinorUnits) -> i64 {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_list_is_sorted_for_binary_search() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn currencies() {
        assert!(Currency::parse("USD").is_ok());
        assert!(Currency::parse("JPY").is_ok());
        assert_eq!(Currency::parse("usd").unwrap_err().rule, "iso4217");
        assert_eq!(Currency::parse("XXX").unwrap_err().rule, "iso4217");
        assert_eq!(Currency::parse("").unwrap_err().rule, "iso4217");
    }

    #[test]
    fn amounts() {
        assert!(MinorUnits::new(1).is_ok());
        assert!(MinorUnits::new(0).is_err());
        assert!(MinorUnits::new(-5).is_err());
        assert!(MinorUnits::new(MAX_ORDER_TOTAL_MINOR + 1).is_err());
    }
}
