//! An order event: the JSON a storefront sends, and the parsed [`Order`] the workflow runs on.
//!
//! [`OrderRequest`] is the wire shape, checked with `validator` (every broken rule is reported,
//! not just the first). [`parse_order`] turns bytes into an [`Order`] made of newtypes, so code
//! past this point never re-checks a value. Unknown fields are rejected
//! (`deny_unknown_fields`): a misspelt optional field would otherwise be silently ignored, and an
//! order is money.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use super::address::{Address, CountryCode, PostalCode, validate_country, validate_postal_code};
use super::contact::{Email, validate_email_address};
use super::ids::{CustomerId, OrderId, Sku, validate_customer_id, validate_order_id, validate_sku};
use super::money::{Currency, MAX_ORDER_TOTAL_MINOR, MinorUnits, validate_currency};
use super::validation::{FieldError, RuleViolation, flatten};

/// Most line items one order may carry.
pub const MAX_ITEMS: usize = 50;
/// Most units of one SKU per line.
pub const MAX_QUANTITY: i64 = 1_000;

// ---------------------------------------------------------------------------------------------
// Wire types
// ---------------------------------------------------------------------------------------------

/// An order as submitted (camelCase JSON).
#[derive(Debug, Clone, Deserialize, Serialize, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[validate(schema(function = "order_rules", skip_on_field_errors = false))]
pub struct OrderRequest {
    #[validate(custom(function = "validate_order_id"))]
    pub order_id: String,
    #[validate(nested)]
    pub customer: CustomerRequest,
    #[validate(length(min = 1, max = 50), nested)]
    pub items: Vec<LineItemRequest>,
    #[validate(custom(function = "validate_currency"))]
    pub currency: String,
    #[validate(nested)]
    pub shipping_address: AddressRequest,
    #[validate(custom(function = "validate_placed_at"))]
    pub placed_at: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerRequest {
    #[validate(custom(function = "validate_customer_id"))]
    pub id: String,
    #[validate(custom(function = "validate_email_address"))]
    pub email: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineItemRequest {
    #[validate(custom(function = "validate_sku"))]
    pub sku: String,
    #[validate(range(min = 1, max = 1000))]
    pub quantity: i64,
    #[validate(range(min = 1, max = 1_000_000_000))]
    pub unit_price_minor: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressRequest {
    #[validate(custom(function = "validate_name"))]
    pub name: String,
    #[validate(custom(function = "validate_line"))]
    pub line1: String,
    #[serde(default)]
    #[validate(custom(function = "validate_line"))]
    pub line2: Option<String>,
    #[validate(custom(function = "validate_city"))]
    pub city: String,
    #[validate(custom(function = "validate_postal_code"))]
    pub postal_code: String,
    #[validate(custom(function = "validate_country"))]
    pub country: String,
}

fn plain_text(value: &str, what: &str, max: usize) -> Result<(), ValidationError> {
    let v: Result<(), RuleViolation> = if value.trim().is_empty() {
        Err(RuleViolation::new(
            "required",
            format!("{what} must not be blank"),
        ))
    } else if value.chars().count() > max {
        Err(RuleViolation::new(
            "length",
            format!("{what} must be at most {max} characters"),
        ))
    } else if let Some(c) = super::text::forbidden_character(value, false) {
        let c = super::text::describe(c);
        Err(RuleViolation::new(
            "charset",
            format!("{what} must not contain control or invisible formatting characters ({c})"),
        ))
    } else {
        Ok(())
    };
    v.map_err(Into::into)
}

fn validate_name(v: &str) -> Result<(), ValidationError> {
    plain_text(v, "name", 100)
}
fn validate_line(v: &str) -> Result<(), ValidationError> {
    plain_text(v, "address line", 100)
}
fn validate_city(v: &str) -> Result<(), ValidationError> {
    plain_text(v, "city", 60)
}

fn parse_placed_at(raw: &str) -> Result<DateTime<Utc>, RuleViolation> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            RuleViolation::new(
                "rfc3339",
                format!("placedAt must be an RFC 3339 timestamp ({e})"),
            )
        })
}

fn validate_placed_at(v: &str) -> Result<(), ValidationError> {
    parse_placed_at(v).map(|_| ()).map_err(Into::into)
}

/// Rules across fields: one line per SKU, and a total that fits.
fn order_rules(order: &OrderRequest) -> Result<(), ValidationError> {
    let mut seen = std::collections::HashSet::new();
    for (i, item) in order.items.iter().enumerate() {
        if !seen.insert(item.sku.as_str()) {
            let mut e: ValidationError = RuleViolation::new(
                "unique",
                format!(
                    "sku {:?} appears on more than one line; use one line with a quantity",
                    item.sku
                ),
            )
            .into();
            e.add_param("field".into(), &format!("items[{i}].sku"));
            return Err(e);
        }
    }
    let total = order.items.iter().try_fold(0i64, |acc, item| {
        item.quantity
            .checked_mul(item.unit_price_minor)
            .and_then(|line| acc.checked_add(line))
    });
    match total {
        Some(t) if t <= MAX_ORDER_TOTAL_MINOR => Ok(()),
        _ => {
            let mut e: ValidationError = RuleViolation::new(
                "range",
                format!("order total must be at most {MAX_ORDER_TOTAL_MINOR} minor units"),
            )
            .into();
            e.add_param("field".into(), &"items");
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsed types
// ---------------------------------------------------------------------------------------------

/// A valid order. Every field is a parsed type; it serializes with the same JSON shape as
/// [`OrderRequest`], and deserializes *through* [`OrderRequest`], so every rule — the
/// newtypes', quantity and price ranges, 1..=[`MAX_ITEMS`] lines, unique SKUs, the total limit —
/// is applied again. A workflow input (or any payload) can therefore never hold an order that
/// [`parse_order`] would have refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "OrderRequest")]
pub struct Order {
    pub order_id: OrderId,
    pub customer: Customer,
    pub items: Vec<LineItem>,
    pub currency: Currency,
    pub shipping_address: Address,
    pub placed_at: DateTime<Utc>,
}

// `Customer` and `LineItem` are not `Deserialize` on their own: they are only ever read as part
// of an [`Order`], which goes through [`OrderRequest`]'s rules; a bare derive would accept
// quantity 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    pub email: Email,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub sku: Sku,
    pub quantity: u32,
    pub unit_price_minor: MinorUnits,
}

impl Order {
    /// The order total in minor units. Cannot overflow: parsing bounded it.
    pub fn total_minor(&self) -> i64 {
        self.items
            .iter()
            .map(|i| i64::from(i.quantity) * i.unit_price_minor.get())
            .sum()
    }
}

/// Why bytes were not an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRejection {
    /// Not JSON, or JSON of the wrong shape (missing field, wrong type, unknown field).
    #[error("malformed order JSON at `{path}`: {message}")]
    Malformed { path: String, message: String },
    /// Well-formed, but breaks one or more rules; every broken rule is listed.
    #[error("invalid order: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
}

impl OrderRequest {
    /// Check every rule and build the parsed [`Order`], or list every broken rule.
    pub fn parse(self) -> Result<Order, Vec<FieldError>> {
        if let Err(errors) = self.validate() {
            return Err(flatten(&errors));
        }
        // Validation ran each newtype's parser already; running them again here is what turns
        // strings into types. A failure now would be a bug in the rules above, reported as such.
        let at = |field: &str| {
            let field = field.to_owned();
            move |v: RuleViolation| vec![v.at(field)]
        };
        Ok(Order {
            order_id: OrderId::parse(&self.order_id).map_err(at("orderId"))?,
            customer: Customer {
                id: CustomerId::parse(&self.customer.id).map_err(at("customer.id"))?,
                email: Email::parse(&self.customer.email).map_err(at("customer.email"))?,
            },
            items: self
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    Ok(LineItem {
                        sku: Sku::parse(&item.sku).map_err(at(&format!("items[{i}].sku")))?,
                        quantity: u32::try_from(item.quantity).map_err(|_| {
                            vec![
                                RuleViolation::new("range", "quantity out of range")
                                    .at(format!("items[{i}].quantity")),
                            ]
                        })?,
                        unit_price_minor: MinorUnits::new(item.unit_price_minor)
                            .map_err(at(&format!("items[{i}].unitPriceMinor")))?,
                    })
                })
                .collect::<Result<_, Vec<FieldError>>>()?,
            currency: Currency::parse(&self.currency).map_err(at("currency"))?,
            shipping_address: Address {
                name: self.shipping_address.name,
                line1: self.shipping_address.line1,
                line2: self.shipping_address.line2,
                city: self.shipping_address.city,
                postal_code: PostalCode::parse(&self.shipping_address.postal_code)
                    .map_err(at("shippingAddress.postalCode"))?,
                country: CountryCode::parse(&self.shipping_address.country)
                    .map_err(at("shippingAddress.country"))?,
            },
            placed_at: parse_placed_at(&self.placed_at).map_err(at("placedAt"))?,
        })
    }
}

/// What `Order`'s `Deserialize` runs (`#[serde(try_from)]`): the same rules as [`parse_order`].
impl TryFrom<OrderRequest> for Order {
    type Error = OrderRejection;
    fn try_from(request: OrderRequest) -> Result<Self, Self::Error> {
        request.parse().map_err(OrderRejection::Invalid)
    }
}

impl From<&Order> for OrderRequest {
    fn from(o: &Order) -> Self {
        OrderRequest {
            order_id: o.order_id.to_string(),
            customer: CustomerRequest {
                id: o.customer.id.to_string(),
                email: o.customer.email.to_string(),
            },
            items: o
                .items
                .iter()
                .map(|i| LineItemRequest {
                    sku: i.sku.to_string(),
                    quantity: i64::from(i.quantity),
                    unit_price_minor: i.unit_price_minor.get(),
                })
                .collect(),
            currency: o.currency.to_string(),
            shipping_address: AddressRequest {
                name: o.shipping_address.name.clone(),
                line1: o.shipping_address.line1.clone(),
                line2: o.shipping_address.line2.clone(),
                city: o.shipping_address.city.clone(),
                postal_code: o.shipping_address.postal_code.to_string(),
                country: o.shipping_address.country.to_string(),
            },
            placed_at: o
                .placed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// Parse an order from JSON bytes: shape first (with the path of the first shape error), then
/// every rule. Objects must be JSON objects — serde would also take a struct as a positional
/// array (`"customer": ["c-1", "a@b.c"]`), which no sender means — and nothing may follow the
/// order.
pub fn parse_order(json: &[u8]) -> Result<Order, OrderRejection> {
    let malformed = |path: &str, message: String| OrderRejection::Malformed {
        path: path.to_owned(),
        message,
    };
    // Straight from the bytes, so a syntax error carries its path and a duplicate key is an error.
    let de = &mut serde_json::Deserializer::from_slice(json);
    let request: OrderRequest = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        malformed(
            if path == "." { "" } else { &path },
            e.into_inner().to_string(),
        )
    })?;
    de.end().map_err(|e| malformed("", e.to_string()))?;
    // serde also takes a struct as a positional array; no sender means that.
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| malformed("", e.to_string()))?;
    require_objects(&value)
        .map_err(|path| malformed(&path, "expected a JSON object".to_owned()))?;
    Order::try_from(request)
}

/// The order and its nested records are objects: returns the path of the first that is not.
fn require_objects(order: &serde_json::Value) -> Result<(), String> {
    if !order.is_object() {
        return Err(String::new());
    }
    for field in ["customer", "shippingAddress"] {
        if order.get(field).is_some_and(|v| !v.is_object()) {
            return Err(field.to_owned());
        }
    }
    if let Some(items) = order.get("items").and_then(|i| i.as_array())
        && let Some(i) = items.iter().position(|item| !item.is_object())
    {
        return Err(format!("items[{i}]"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sample_order_json;

    #[test]
    fn sample_parses_and_round_trips() {
        let order = parse_order(sample_order_json("A-1").as_bytes()).unwrap();
        assert_eq!(order.order_id.as_str(), "A-1");
        assert_eq!(order.total_minor(), 2 * 1400 + 500);
        let json = serde_json::to_vec(&order).unwrap();
        assert_eq!(parse_order(&json).unwrap(), order);
    }

    #[test]
    fn malformed_json_names_the_path() {
        match parse_order(br#"{"orderId": 5}"#) {
            Err(OrderRejection::Malformed { path, .. }) => assert_eq!(path, "orderId"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_order(b"not json"),
            Err(OrderRejection::Malformed { .. })
        ));
    }

    #[test]
    fn positional_arrays_and_trailing_data_are_malformed() {
        let v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        let trailing = format!("{v} x");
        assert!(matches!(
            parse_order(trailing.as_bytes()),
            Err(OrderRejection::Malformed { .. })
        ));
        let mut positional = v.clone();
        positional["customer"] = serde_json::json!(["cust-1", "a@example.com"]);
        match parse_order(positional.to_string().as_bytes()) {
            Err(OrderRejection::Malformed { path, .. }) => assert_eq!(path, "customer"),
            other => panic!("{other:?}"),
        }
        let mut item = v.clone();
        item["items"][1] = serde_json::json!(["MUG-CLASSIC", 1, 1400]);
        match parse_order(item.to_string().as_bytes()) {
            Err(OrderRejection::Malformed { path, .. }) => assert_eq!(path, "items[1]"),
            other => panic!("{other:?}"),
        }
        let whole: Vec<serde_json::Value> = v.as_object().unwrap().values().cloned().collect();
        assert!(matches!(
            parse_order(serde_json::Value::Array(whole).to_string().as_bytes()),
            Err(OrderRejection::Malformed { .. })
        ));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        v["coupon"] = "FREE".into();
        match parse_order(v.to_string().as_bytes()) {
            Err(OrderRejection::Malformed { message, .. }) => {
                assert!(message.contains("coupon"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_broken_rule_is_listed_with_field_and_rule() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        v["currency"] = "usd".into();
        v["customer"]["email"] = "nope".into();
        v["items"][0]["quantity"] = 0.into();
        v["items"][1]["sku"] = "bad sku".into();
        v["shippingAddress"]["country"] = "XX".into();
        v["placedAt"] = "yesterday".into();
        let Err(OrderRejection::Invalid(errors)) = parse_order(v.to_string().as_bytes()) else {
            panic!("expected invalid");
        };
        let pairs: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("currency", "iso4217"),
                ("customer.email", "email"),
                ("items[0].quantity", "range"),
                ("items[1].sku", "charset"),
                ("placedAt", "rfc3339"),
                ("shippingAddress.country", "iso3166"),
            ]
        );
    }

    #[test]
    fn invisible_and_bidi_characters_in_free_text_are_refused() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        v["shippingAddress"]["name"] = "Evil Corp\u{202E}gpj.exe".into();
        v["shippingAddress"]["city"] = "Ber\u{200B}lin".into();
        let Err(OrderRejection::Invalid(errors)) = parse_order(v.to_string().as_bytes()) else {
            panic!("expected invalid");
        };
        let pairs: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("shippingAddress.city", "charset"),
                ("shippingAddress.name", "charset")
            ]
        );
        assert!(
            errors.iter().any(|e| e.message.contains("U+202E")),
            "{errors:?}"
        );

        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-2")).unwrap();
        v["shippingAddress"]["name"] = "می\u{200C}خواهم".into();
        assert!(
            parse_order(v.to_string().as_bytes()).is_ok(),
            "ZWNJ is part of Persian spelling"
        );
    }

    #[test]
    fn duplicate_skus_and_overflowing_totals_are_rejected() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        v["items"][1]["sku"] = v["items"][0]["sku"].clone();
        let Err(OrderRejection::Invalid(errors)) = parse_order(v.to_string().as_bytes()) else {
            panic!()
        };
        assert_eq!(
            (errors[0].field.as_str(), errors[0].rule.as_str()),
            ("items[1].sku", "unique")
        );

        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        v["items"][0]["quantity"] = 1000.into();
        v["items"][0]["unitPriceMinor"] = 1_000_000_000i64.into();
        let Err(OrderRejection::Invalid(errors)) = parse_order(v.to_string().as_bytes()) else {
            panic!()
        };
        assert!(
            errors
                .iter()
                .any(|e| e.field == "items" && e.rule == "range"),
            "{errors:?}"
        );
    }

    /// `Order` is also read straight from JSON (a workflow's input payload), bypassing
    /// [`parse_order`]; that path must refuse what `parse_order` refuses.
    #[test]
    fn deserializing_an_order_applies_every_rule() {
        let v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = v.clone();
            edit(&mut v);
            serde_json::from_value::<Order>(v)
        };
        let order = edited(&|_| {}).expect("the sample is valid");
        assert_eq!(
            serde_json::from_value::<Order>(serde_json::to_value(&order).unwrap()).unwrap(),
            order
        );

        type Edit = fn(&mut serde_json::Value);
        let cases: [(&str, Edit, &str, &str); 7] = [
            (
                "quantity 0",
                |v| v["items"][0]["quantity"] = 0.into(),
                "items[0].quantity",
                "range",
            ),
            (
                "quantity 1001",
                |v| v["items"][1]["quantity"] = 1001.into(),
                "items[1].quantity",
                "range",
            ),
            (
                "no items",
                |v| v["items"] = serde_json::json!([]),
                "items",
                "length",
            ),
            (
                "too many items",
                |v| {
                    v["items"] = (0..=MAX_ITEMS)
                    .map(|i| serde_json::json!({"sku": format!("SKU-{i}"), "quantity": 1, "unitPriceMinor": 1}))
                    .collect();
                },
                "items",
                "length",
            ),
            (
                "total over the limit",
                |v| {
                    v["items"][0]["quantity"] = 1000.into();
                    v["items"][0]["unitPriceMinor"] = 1_000_000_000i64.into();
                },
                "items",
                "range",
            ),
            (
                "duplicate sku",
                |v| v["items"][1]["sku"] = "MUG-CLASSIC".into(),
                "items[1].sku",
                "unique",
            ),
            (
                "blank name",
                |v| v["shippingAddress"]["name"] = " ".into(),
                "shippingAddress.name",
                "required",
            ),
        ];
        for (what, edit, field, rule) in cases {
            let err = edited(&edit).expect_err(what).to_string();
            assert!(
                err.contains(&format!("{field}: ")) && err.contains(&format!("({rule})")),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn empty_and_oversized_item_lists() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_order_json("A-1")).unwrap();
        v["items"] = serde_json::json!([]);
        let Err(OrderRejection::Invalid(errors)) = parse_order(v.to_string().as_bytes()) else {
            panic!()
        };
        assert_eq!(
            (errors[0].field.as_str(), errors[0].rule.as_str()),
            ("items", "length")
        );
    }
}
