//! The shop's wire contract as types, for both sides of it: the storefront that records effects
//! and everyone who reads its ledger (`devstack`'s invariant checks, the tests, the demo).
//!
//! One spelling per value, here: an effect kind is written one way in the database, in
//! `GET /ledger` and in every check of it.

use serde::{Deserialize, Serialize};

/// A real effect the shop recorded in its ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectKind {
    Reserve,
    Release,
    Charge,
    Refund,
    Ship,
    CancelShipment,
    Notify,
}

impl EffectKind {
    pub const ALL: [Self; 7] = [
        Self::Reserve,
        Self::Release,
        Self::Charge,
        Self::Refund,
        Self::Ship,
        Self::CancelShipment,
        Self::Notify,
    ];

    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserve => "reserve",
            Self::Release => "release",
            Self::Charge => "charge",
            Self::Refund => "refund",
            Self::Ship => "ship",
            Self::CancelShipment => "cancel_shipment",
            Self::Notify => "notify",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl std::fmt::Display for EffectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::EffectKind;

    #[test]
    fn serde_parse_and_as_str_agree() {
        for kind in EffectKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(EffectKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EffectKind::parse("cancel-shipment"), None);
    }
}
