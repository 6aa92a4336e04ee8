//! The shop's services as synchronous SQL over one connection, free of HTTP.
//!
//! Each mutating function runs inside the transaction opened by [`crate::pipeline`], writes its
//! rows plus one ledger row per real effect, and returns the response body (or a 4xx problem,
//! whose partial writes the pipeline rolls back). Keeping them synchronous and HTTP-free makes
//! the transaction boundary obvious and lets them be tested against a bare connection.

pub mod inventory;
pub mod ledger;
pub mod notifications;
pub mod payments;
pub mod shipments;

/// A new resource ID such as `rsv_01jbz…`: prefixed so a misplaced ID is obvious in logs, ULID so
/// IDs sort by creation time.
pub fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}
