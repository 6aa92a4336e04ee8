//! The shop's read and admin API (ledger, faults, stock), and the invariants its ledger must
//! satisfy whatever happened to the workers — what the demo, the chaos test and the end-to-end
//! tests check to prove that nothing was lost or done twice.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
pub use shared::shop_api::EffectKind;

/// A row of the shop's ledger: one real effect.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    pub seq: i64,
    pub kind: EffectKind,
    pub order_id: String,
    pub reference: String,
    pub idempotency_key: String,
    #[serde(default)]
    pub amount_minor: Option<i64>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ledger {
    pub effects: Vec<Effect>,
    pub stock: HashMap<String, i64>,
}

impl Ledger {
    pub fn count(&self, kind: EffectKind) -> usize {
        self.effects.iter().filter(|e| e.kind == kind).count()
    }

    pub fn kinds(&self) -> Vec<EffectKind> {
        self.effects.iter().map(|e| e.kind).collect()
    }

    /// The rows of one order.
    pub fn of(&self, order_id: &str) -> Vec<&Effect> {
        self.effects
            .iter()
            .filter(|e| e.order_id == order_id)
            .collect()
    }
}

/// How an order ended, as far as the ledger check needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Completed,
    Compensated,
}

/// Check every order's effects against how it ended, and that stock is conserved:
/// `initial - final == units kept by completed orders` for every SKU.
///
/// Per order: a completed order has one reservation per line, one charge, one shipment, no
/// refund, release or cancellation, at most one notification; a compensated one has every
/// reservation released, every charge refunded and every shipment cancelled. No idempotency key
/// appears twice for the same kind and SKU. Returns every violation, not just the first.
pub fn check_invariants(
    initial_stock: &HashMap<String, i64>,
    ledger: &Ledger,
    endings: &HashMap<String, Ending>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen_keys = std::collections::HashSet::new();
    for e in &ledger.effects {
        let key = (e.kind, e.idempotency_key.clone(), e.sku.clone());
        if !seen_keys.insert(key) {
            problems.push(format!(
                "order {}: {} with key {} recorded twice",
                e.order_id, e.kind, e.idempotency_key
            ));
        }
    }
    let mut kept: HashMap<String, i64> = HashMap::new();
    for (order_id, ending) in endings {
        let rows = ledger.of(order_id);
        let n = |kind: EffectKind| rows.iter().filter(|e| e.kind == kind).count();
        let (reserve, release, charge, refund, ship, cancel, notify) = (
            n(EffectKind::Reserve),
            n(EffectKind::Release),
            n(EffectKind::Charge),
            n(EffectKind::Refund),
            n(EffectKind::Ship),
            n(EffectKind::CancelShipment),
            n(EffectKind::Notify),
        );
        match ending {
            Ending::Completed => {
                if reserve == 0
                    || charge != 1
                    || ship != 1
                    || refund + release + cancel != 0
                    || notify > 1
                {
                    problems.push(format!(
                        "order {order_id} completed but its ledger has reserve={reserve} charge={charge} ship={ship} \
                         refund={refund} release={release} cancel={cancel} notify={notify}"
                    ));
                }
                for e in rows.iter().filter(|e| e.kind == EffectKind::Reserve) {
                    if let (Some(sku), Some(q)) = (&e.sku, e.quantity) {
                        *kept.entry(sku.clone()).or_default() += q;
                    }
                }
            }
            Ending::Compensated => {
                if release != reserve
                    || refund != charge
                    || cancel != ship
                    || charge > 1
                    || ship > 1
                {
                    problems.push(format!(
                        "order {order_id} compensated but its ledger has reserve={reserve} release={release} \
                         charge={charge} refund={refund} ship={ship} cancel={cancel}"
                    ));
                }
            }
        }
    }
    for (sku, before) in initial_stock {
        let after = ledger.stock.get(sku).copied().unwrap_or(0);
        let used = kept.get(sku).copied().unwrap_or(0);
        if before - after != used {
            problems.push(format!("stock of {sku} not conserved: {before} before, {after} after, {used} kept by completed orders"));
        }
    }
    problems
}

/// Client for the shop's read/admin endpoints.
#[derive(Clone, Debug)]
pub struct ShopAdmin {
    http: reqwest::Client,
    base: String,
}

impl ShopAdmin {
    pub fn new(base_url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn ledger(&self, order_id: Option<&str>) -> Result<Ledger> {
        let mut url = format!("{}/ledger", self.base);
        if let Some(id) = order_id {
            url.push_str(&format!("?orderId={id}"));
        }
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !response.status().is_success() {
            bail!("GET {url}: {}", response.status());
        }
        Ok(response.json().await?)
    }

    pub async fn stock(&self) -> Result<HashMap<String, i64>> {
        Ok(self.ledger(Some("-")).await?.stock)
    }

    /// Replace the fault configuration (fields left out reset to their defaults).
    pub async fn set_faults(&self, faults: serde_json::Value) -> Result<()> {
        let url = format!("{}/admin/faults", self.base);
        self.http
            .put(&url)
            .json(&faults)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("PUT {url}"))?;
        Ok(())
    }

    pub async fn set_stock(&self, sku: &str, available: i64) -> Result<()> {
        let url = format!("{}/admin/stock/{sku}", self.base);
        self.http
            .put(&url)
            .json(&serde_json::json!({ "available": available }))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("PUT {url}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(seq: i64, kind: &str, order: &str, key: &str, sku: Option<(&str, i64)>) -> Effect {
        Effect {
            seq,
            kind: EffectKind::parse(kind).expect("an effect kind"),
            order_id: order.into(),
            reference: format!("ref-{seq}"),
            idempotency_key: key.into(),
            amount_minor: None,
            sku: sku.map(|s| s.0.to_owned()),
            quantity: sku.map(|s| s.1),
        }
    }

    fn completed_ledger() -> Ledger {
        Ledger {
            effects: vec![
                effect(1, "reserve", "A", "order-A/reserve", Some(("MUG", 2))),
                effect(2, "charge", "A", "order-A/charge", None),
                effect(3, "ship", "A", "order-A/ship", None),
                effect(4, "notify", "A", "order-A/notify", None),
                effect(5, "reserve", "B", "order-B/reserve", Some(("MUG", 1))),
                effect(6, "charge", "B", "order-B/charge", None),
                effect(7, "refund", "B", "order-B/refund", None),
                effect(8, "release", "B", "order-B/release", Some(("MUG", 1))),
            ],
            stock: HashMap::from([("MUG".into(), 8)]),
        }
    }

    #[test]
    fn a_consistent_ledger_passes() {
        let endings = HashMap::from([
            ("A".into(), Ending::Completed),
            ("B".into(), Ending::Compensated),
        ]);
        let problems = check_invariants(
            &HashMap::from([("MUG".into(), 10)]),
            &completed_ledger(),
            &endings,
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn double_charges_missing_refunds_and_lost_stock_are_reported() {
        let mut ledger = completed_ledger();
        ledger
            .effects
            .push(effect(9, "charge", "A", "order-A/charge", None));
        ledger.effects.retain(|e| e.kind != EffectKind::Refund);
        ledger.stock.insert("MUG".into(), 7);
        let endings = HashMap::from([
            ("A".into(), Ending::Completed),
            ("B".into(), Ending::Compensated),
        ]);
        let problems = check_invariants(&HashMap::from([("MUG".into(), 10)]), &ledger, &endings);
        assert!(
            problems.iter().any(|p| p.contains("recorded twice")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("order A completed")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("order B compensated")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("not conserved")),
            "{problems:?}"
        );
    }
}
