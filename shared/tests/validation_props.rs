//! Property tests for order parsing: valid orders always parse and round-trip; any single
//! corruption is reported against the right field; arbitrary bytes never panic; an `Order` read
//! with serde (a workflow input) refuses what parsing refuses.

use proptest::prelude::*;
use shared::domain::{Order, OrderId, OrderRejection, Sku, parse_order, sample_order_json};

fn sku() -> impl Strategy<Value = String> {
    "[A-Z0-9][A-Z0-9-]{0,31}"
}

fn valid_order() -> impl Strategy<Value = serde_json::Value> {
    (
        "[A-Za-z0-9_-]{1,64}",
        "[A-Za-z0-9_-]{1,64}",
        proptest::collection::hash_set(sku(), 1..=20),
        proptest::collection::vec((1i64..=1000, 1i64..=100_000), 20),
        prop::sample::select(vec!["USD", "EUR", "JPY", "GBP"]),
        prop::sample::select(vec!["US", "DE", "JP", "BR"]),
    )
        .prop_map(|(order_id, customer_id, skus, amounts, currency, country)| {
            let items: Vec<_> = skus
                .into_iter()
                .zip(amounts)
                .map(|(sku, (q, p))| serde_json::json!({"sku": sku, "quantity": q, "unitPriceMinor": p}))
                .collect();
            let mut v: serde_json::Value = serde_json::from_str(&sample_order_json(&order_id)).unwrap();
            v["customer"]["id"] = customer_id.into();
            v["items"] = items.into();
            v["currency"] = currency.into();
            v["shippingAddress"]["country"] = country.into();
            v
        })
}

proptest! {
    #[test]
    fn valid_orders_parse_and_round_trip(v in valid_order()) {
        let order = parse_order(v.to_string().as_bytes()).expect("valid order must parse");
        let again = parse_order(&serde_json::to_vec(&order).unwrap()).unwrap();
        prop_assert_eq!(&again, &order);
        let expected: i64 = v["items"].as_array().unwrap().iter()
            .map(|i| i["quantity"].as_i64().unwrap() * i["unitPriceMinor"].as_i64().unwrap())
            .sum();
        prop_assert_eq!(order.total_minor(), expected);
    }

    #[test]
    fn a_bad_quantity_is_reported_at_its_index(v in valid_order(), q in prop_oneof![i64::MIN..=0, 1001i64..=i64::MAX]) {
        let mut v = v;
        let n = v["items"].as_array().unwrap().len();
        let idx = (q.unsigned_abs() as usize) % n;
        v["items"][idx]["quantity"] = q.into();
        match parse_order(v.to_string().as_bytes()) {
            Err(OrderRejection::Invalid(errors)) => {
                let field = format!("items[{idx}].quantity");
                prop_assert!(errors.iter().any(|e| e.field == field && e.rule == "range"), "{:?}", errors);
            }
            other => prop_assert!(false, "expected invalid, got {:?}", other),
        }
    }

    #[test]
    fn ids_accept_exactly_their_alphabet(s in "\\PC{0,80}") {
        let ok = !s.is_empty() && s.chars().count() <= 64
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        prop_assert_eq!(OrderId::parse(&s).is_ok(), ok);
        let sku_ok = !s.is_empty() && s.len() <= 32 && !s.starts_with('-')
            && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        prop_assert_eq!(Sku::parse(&s).is_ok(), sku_ok);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_order(&bytes);
    }

    #[test]
    fn truncated_json_is_malformed_not_a_panic(v in valid_order(), cut in 0usize..400) {
        let s = v.to_string();
        let cut = cut.min(s.len().saturating_sub(1));
        let malformed = matches!(parse_order(&s.as_bytes()[..cut]), Err(OrderRejection::Malformed { .. }));
        prop_assert!(malformed, "cut at {} was not malformed", cut);
    }
}

proptest! {
    /// A workflow's input is an `Order` read with serde, not through `parse_order`: that path
    /// must refuse the same orders (here: a zero quantity anywhere, or no items at all).
    #[test]
    fn deserialized_orders_refuse_zero_quantities_and_empty_item_lists(v in valid_order(), pick in any::<prop::sample::Index>()) {
        let mut zero = v.clone();
        let n = zero["items"].as_array().unwrap().len();
        let idx = pick.index(n);
        zero["items"][idx]["quantity"] = 0.into();
        let err = serde_json::from_value::<Order>(zero).expect_err("quantity 0 must be refused").to_string();
        let field = format!("items[{idx}].quantity");
        prop_assert!(err.contains(&field), "{}", err);

        let mut empty = v.clone();
        empty["items"] = serde_json::json!([]);
        prop_assert!(serde_json::from_value::<Order>(empty).is_err());

        let order: Order = serde_json::from_value(v.clone()).expect("a valid order deserializes");
        prop_assert_eq!(order, parse_order(v.to_string().as_bytes()).unwrap());
    }
}
