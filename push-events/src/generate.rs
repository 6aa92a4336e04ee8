//! Generated order messages: valid orders with unique IDs, with a chosen share of invalid ones
//! (each kind of invalid in turn) and of exact repeats of earlier valid ones.
//!
//! The mix is spread evenly and deterministically over the sequence (not random), so a run of
//! 1000 with 10 % invalid has exactly 100 invalid messages, and two runs are comparable.

use serde_json::Value;

/// What a generated message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Valid,
    Invalid,
    Duplicate,
}

/// Breaks one rule of a valid order.
type Breaker = fn(&mut Value);

/// The kinds of invalid message (name, how), used in turn. Each breaks exactly one thing.
const INVALID: [(&str, Breaker); 5] = [
    ("lowercase currency", |v| v["currency"] = "usd".into()),
    ("zero quantity", |v| v["items"][0]["quantity"] = 0.into()),
    ("unknown field", |v| v["coupon"] = "FREE".into()),
    ("missing email", |v| {
        v["customer"].as_object_mut().map(|c| c.remove("email"));
    }),
    ("bad country", |v| {
        v["shippingAddress"]["country"] = "Germany".into()
    }),
];

/// `count` message bodies with their kinds. Order IDs are `{prefix}-{n}`.
pub fn generate(
    prefix: &str,
    count: usize,
    invalid_percent: f64,
    duplicate_percent: f64,
) -> Vec<(Kind, String)> {
    let share = |percent: f64| ((count as f64) * percent / 100.0).round() as usize;
    let total_invalid = share(invalid_percent).min(count);
    let total_duplicates = share(duplicate_percent).min(count - total_invalid);
    // Due when the running quota `(i + 1) * total / count` has got ahead of what was sent; forced
    // when only just enough slots remain, so the totals are met exactly.
    let due = |i: usize, total: usize, sent: usize| (i + 1) * total / count.max(1) > sent;
    let mut out: Vec<(Kind, String)> = Vec::with_capacity(count);
    let mut valid_bodies: Vec<usize> = Vec::new();
    let (mut invalid_sent, mut duplicates_sent) = (0usize, 0usize);
    for i in 0..count {
        let (invalid_left, duplicates_left) = (
            total_invalid - invalid_sent,
            total_duplicates - duplicates_sent,
        );
        let forced = invalid_left + duplicates_left >= count - i;
        let invalid_due = invalid_left > 0 && (forced || due(i, total_invalid, invalid_sent));
        // A duplicate needs an earlier valid order to repeat.
        let duplicate_due = duplicates_left > 0
            && !valid_bodies.is_empty()
            && (forced || due(i, total_duplicates, duplicates_sent));
        let order_id = format!("{prefix}-{i}");
        if invalid_due && (!duplicate_due || invalid_left >= duplicates_left) {
            let (_, break_it) = INVALID[invalid_sent % INVALID.len()];
            let mut v: Value = serde_json::from_str(&shared::domain::sample_order_json(&order_id))
                .expect("sample is JSON");
            break_it(&mut v);
            out.push((Kind::Invalid, v.to_string()));
            invalid_sent += 1;
        } else if duplicate_due {
            let original = valid_bodies[duplicates_sent % valid_bodies.len()];
            out.push((Kind::Duplicate, out[original].1.clone()));
            duplicates_sent += 1;
        } else {
            valid_bodies.push(out.len());
            out.push((Kind::Valid, shared::domain::sample_order_json(&order_id)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(messages: &[(Kind, String)], kind: Kind) -> usize {
        messages.iter().filter(|(k, _)| *k == kind).count()
    }

    #[test]
    fn the_mix_is_exact_and_each_kind_is_what_it_claims() {
        let messages = generate("g", 1000, 10.0, 5.0);
        assert_eq!(messages.len(), 1000);
        assert_eq!(
            (
                count(&messages, Kind::Invalid),
                count(&messages, Kind::Duplicate)
            ),
            (100, 50)
        );
        for (n, invalid, duplicate) in [
            (7, 33.0, 33.0),
            (1, 50.0, 50.0),
            (333, 1.0, 99.0),
            (10, 0.0, 100.0),
        ] {
            let messages = generate("g", n, invalid, duplicate);
            assert_eq!(messages.len(), n);
            let expected_invalid = ((n as f64) * invalid / 100.0).round() as usize;
            assert_eq!(
                count(&messages, Kind::Invalid),
                expected_invalid,
                "{n} {invalid} {duplicate}"
            );
        }
        let mut valid_ids = std::collections::HashSet::new();
        for (kind, body) in &messages {
            let parsed = shared::parse_order(body.as_bytes());
            match kind {
                Kind::Invalid => assert!(parsed.is_err(), "{body}"),
                Kind::Valid => assert!(
                    valid_ids.insert(parsed.unwrap().order_id.to_string()),
                    "valid IDs are unique"
                ),
                Kind::Duplicate => assert!(
                    valid_ids.contains(parsed.unwrap().order_id.as_str()),
                    "repeats an earlier order"
                ),
            }
        }
    }

    #[test]
    fn zero_shares_are_all_valid_and_full_shares_do_not_break() {
        assert_eq!(count(&generate("g", 20, 0.0, 0.0), Kind::Valid), 20);
        assert_eq!(count(&generate("g", 20, 100.0, 0.0), Kind::Invalid), 20);
        // A duplicate needs an earlier valid order; with none, a valid one is sent instead.
        let all_dup = generate("g", 10, 0.0, 100.0);
        assert_eq!(all_dup[0].0, Kind::Valid);
    }
}
