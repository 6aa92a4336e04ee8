//! The order domain: parsed types for everything an order carries.
//!
//! Values with rules are newtypes that can only be built by parsing ("parse, don't validate").

pub mod address;
pub mod contact;
pub mod ids;
pub mod money;
mod newtype;
pub mod order;
pub mod text;
pub mod validation;

pub use address::{Address, CountryCode, PostalCode};
pub use contact::Email;
pub use ids::{CustomerId, OrderId, Sku};
pub use money::{Currency, MinorUnits};
pub use order::{
    AddressRequest, Customer, CustomerRequest, LineItem, LineItemRequest, Order, OrderRejection,
    OrderRequest, parse_order,
};
pub use validation::{FieldError, RuleViolation};

/// A valid order as JSON, for tests, samples and the demo: two mugs and a sticker pack (SKUs of
/// the storefront's default catalogue), shipped to Berlin. Tweak fields with `serde_json::Value` to make the variants you need.
pub fn sample_order_json(order_id: &str) -> String {
    serde_json::json!({
        "orderId": order_id,
        "customer": { "id": "cust-42", "email": "ada@example.com" },
        "items": [
            { "sku": "MUG-CLASSIC", "quantity": 2, "unitPriceMinor": 1400 },
            { "sku": "STICKER-PACK", "quantity": 1, "unitPriceMinor": 500 }
        ],
        "currency": "USD",
        "shippingAddress": {
            "name": "Ada Lovelace",
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postalCode": "10117",
            "country": "DE"
        },
        "placedAt": "2026-11-25T10:00:00Z"
    })
    .to_string()
}
