//! The chaos run's seeded plan: which orders to place and how each must end, the pauses between
//! them, when the local worker dies and for how long, which outages also kill a Lambda
//! environment, and after which order the Temporal server is restarted.
//!
//! Everything random comes from one seed, printed at the start, so a failing run's orders and
//! outage lengths can be replayed with `SHOPFLOW_CHAOS_SEED=<seed>` (the exact interleaving with
//! the workers cannot be: it depends on the machine's timing).

use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;
use shared::OrderStep;

/// Replays a run: the seed it printed.
pub const SEED_VAR: &str = "SHOPFLOW_CHAOS_SEED";
/// How many orders to place (default [`DEFAULT_ORDERS`]); fewer for a quick local try.
pub const ORDERS_VAR: &str = "SHOPFLOW_CHAOS_ORDERS";
pub const DEFAULT_ORDERS: usize = 200;

/// SKUs (with catalog prices) stocked so deep for the run that no order runs out of them.
pub const STOCKED: [(&str, i64); 5] = [
    ("TEE-BLK-M", 2_500),
    ("TEE-WHT-L", 2_500),
    ("MUG-CLASSIC", 1_400),
    ("HOODIE-GRY-M", 5_900),
    ("STICKER-PACK", 500),
];
pub const DEEP_STOCK: u32 = 100_000;
/// Sold out for the whole run: an order with a line of it is refused at reservation.
pub const SOLD_OUT: (&str, i64) = ("CAP-NAVY", 2_200);

/// The seed from [`SEED_VAR`], or a fresh one.
pub fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{SEED_VAR}={v:?}: {e}")),
        Err(_) => rand::random(),
    }
}

pub fn order_count() -> usize {
    match std::env::var(ORDERS_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{ORDERS_VAR}={v:?}: {e}")),
        Err(_) => DEFAULT_ORDERS,
    }
}

/// What kind of order, and so how it must end — whatever the workers and services go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Completes,
    /// The storefront declines customer IDs starting with `decline-`.
    Declined,
    /// Has a line of [`SOLD_OUT`].
    OutOfStock,
    /// Ships to postal code 00000, which the storefront cannot deliver to.
    Undeliverable,
}

impl Kind {
    /// `None` for an order that completes, else the step that fails for good and its reason code.
    pub fn expected_failure(self) -> Option<(OrderStep, &'static str)> {
        match self {
            Kind::Completes => None,
            Kind::Declined => Some((OrderStep::ChargingCustomer, "card-declined")),
            Kind::OutOfStock => Some((OrderStep::ReservingInventory, "out-of-stock")),
            Kind::Undeliverable => Some((OrderStep::CreatingShipment, "undeliverable-address")),
        }
    }
}

/// One order of the plan.
#[derive(Debug, Clone)]
pub struct PlannedOrder {
    pub kind: Kind,
    /// `(sku, unit price, quantity)`, distinct SKUs.
    lines: Vec<(&'static str, i64, u32)>,
    /// Pause before placing it.
    pub gap: Duration,
    /// Place it a second time right after the first: must be refused as a duplicate.
    pub resubmit: bool,
}

impl PlannedOrder {
    /// Edits the sample order's JSON into this one.
    pub fn apply(&self, order: &mut serde_json::Value) {
        order["items"] = self
            .lines
            .iter()
            .map(|(sku, price, quantity)| json!({ "sku": sku, "quantity": quantity, "unitPriceMinor": price }))
            .collect();
        match self.kind {
            Kind::Completes | Kind::OutOfStock => {}
            Kind::Declined => order["customer"]["id"] = "decline-chaos".into(),
            Kind::Undeliverable => order["shippingAddress"]["postalCode"] = "00000".into(),
        }
    }
}

/// `n` orders: about 70 % that complete and 10 % of each way to compensate, 1–3 lines each,
/// placed on average 0.3 s apart (a minute for 200 — long enough for several outages).
pub fn orders(rng: &mut StdRng, n: usize) -> Vec<PlannedOrder> {
    (0..n)
        .map(|_| {
            let kind = match rng.random_range(0..10) {
                0 => Kind::Declined,
                1 => Kind::OutOfStock,
                2 => Kind::Undeliverable,
                _ => Kind::Completes,
            };
            let mut skus: Vec<(&str, i64)> = STOCKED.to_vec();
            let mut lines = Vec::new();
            for _ in 0..rng.random_range(1..=3) {
                let (sku, price) = skus.swap_remove(rng.random_range(0..skus.len()));
                lines.push((sku, price, rng.random_range(1..=3)));
            }
            if kind == Kind::OutOfStock {
                lines.push((SOLD_OUT.0, SOLD_OUT.1, 1));
            }
            PlannedOrder {
                kind,
                lines,
                gap: Duration::from_millis(rng.random_range(0..600)),
                resubmit: rng.random_bool(0.05),
            }
        })
        .collect()
}

/// One cycle of the local worker's life: it runs for `up`, is SIGKILLed, and restarts after
/// `down`. During a slow outage every shop call takes longer than a Lambda invocation's work
/// time plus its stop grace, so the invocations that take over are cut off by their deadline
/// mid-activity.
#[derive(Debug, Clone, Copy)]
pub struct Outage {
    pub up: Duration,
    pub down: Duration,
    pub slow: bool,
    /// Also SIGKILL one running Lambda environment (a worker-fn process) when the worker dies.
    pub kill_lambda: bool,
}

/// The Temporal server is restarted once, when this many orders have been placed: somewhere in
/// the middle third of the run, so work is in flight on both workers when it goes away.
pub fn temporal_restart_after(rng: &mut StdRng, orders: usize) -> usize {
    let third = (orders / 3).max(1);
    rng.random_range(third..=(2 * third).max(third))
}

/// The `index`-th outage (from 0). The first is slow, so every run has at least one; after that
/// one in three. Slow ones last long enough for an invocation to reach its deadline.
pub fn outage(rng: &mut StdRng, index: usize) -> Outage {
    let slow = index.is_multiple_of(3);
    let up = Duration::from_millis(rng.random_range(2_000..8_000));
    let down = if slow {
        Duration::from_millis(rng.random_range(11_000..14_000))
    } else {
        Duration::from_millis(rng.random_range(1_000..5_000))
    };
    Outage {
        up,
        down,
        slow,
        kill_lambda: rng.random_bool(0.5),
    }
}
