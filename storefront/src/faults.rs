//! Fault injection, so the order pipeline's retries and compensations can be exercised on demand.
//!
//! The configuration lives in memory (set at startup from the config file, changed at runtime with
//! `PUT /admin/faults`) and applies to the mutating endpoints of the selected services. Two moments
//! matter, and [`crate::pipeline`] calls one hook for each:
//! - [`Faults::before_effect`]: added latency, then a random `errorRate` failure or a failure for a
//!   request that mentions a `failSkus`/`failCustomers` value. Nothing has happened yet.
//! - [`Faults::lose_response`]: after the effect and its idempotent response are committed, the
//!   response is "lost" with probability `lostResponseRate`; the client's retry must then be
//!   answered from the idempotency store.

use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::problem::{Problem, ProblemKind};

/// The services faults can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Inventory,
    Payments,
    Shipments,
    Notifications,
}

/// Upper bound for injected latency: enough to trip any client timeout, never a hung server.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The fault settings, as `GET/PUT /admin/faults` show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    pub error_rate: f64,
    pub latency_ms: u64,
    pub lost_response_rate: f64,
    /// Targeted services; empty means all.
    pub services: Vec<Service>,
    pub fail_skus: Vec<String>,
    pub fail_customers: Vec<String>,
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("errorRate", self.error_rate),
            ("lostResponseRate", self.lost_response_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(format!(
                "latencyMs must be at most {MAX_LATENCY_MS}, got {}",
                self.latency_ms
            ));
        }
        Ok(())
    }

    fn targets(&self, service: Service) -> bool {
        self.services.is_empty() || self.services.contains(&service)
    }

    /// The first `failSkus`/`failCustomers` value found anywhere in the request body, if any.
    fn mentioned_failure<'a>(&'a self, body: &Value) -> Option<&'a str> {
        let mut found = None;
        visit_strings(body, &mut |text| {
            if found.is_none() {
                found = self
                    .fail_skus
                    .iter()
                    .chain(&self.fail_customers)
                    .find(|f| *f == text);
            }
        });
        found.map(String::as_str)
    }
}

fn visit_strings(value: &Value, visit: &mut impl FnMut(&str)) {
    match value {
        Value::String(text) => visit(text),
        Value::Array(items) => items.iter().for_each(|item| visit_strings(item, visit)),
        Value::Object(map) => map.values().for_each(|item| visit_strings(item, visit)),
        _ => {}
    }
}

/// Shared, runtime-adjustable fault settings.
#[derive(Debug, Default)]
pub struct Faults {
    config: RwLock<FaultConfig>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        Self {
            config: RwLock::new(config),
        }
    }

    pub fn get(&self) -> FaultConfig {
        // A panic while holding this lock cannot leave a half-written config (writes are one
        // assignment), so a poisoned lock is safe to keep using.
        self.config
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn set(&self, config: FaultConfig) {
        *self
            .config
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
    }

    /// Runs before anything is read or written for a request to `service` with JSON `body`.
    pub async fn before_effect(&self, service: Service, body: &Value) -> Result<(), Problem> {
        let config = self.get();
        if !config.targets(service) {
            return Ok(());
        }
        if config.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
        }
        if roll(config.error_rate) {
            return Err(injected("injected error (errorRate); nothing was changed"));
        }
        if let Some(value) = config.mentioned_failure(body) {
            return Err(injected(format!(
                "injected failure for {value:?}; nothing was changed"
            ))
            .with("failing", value));
        }
        Ok(())
    }

    /// Runs after the effect is committed: `Some` means answer with this instead.
    pub fn lose_response(&self, service: Service) -> Option<Problem> {
        let config = self.get();
        (config.targets(service) && roll(config.lost_response_rate)).then(|| {
            injected("injected lost response (lostResponseRate); the request WAS processed, retry with the same Idempotency-Key")
                .with("lostResponse", true)
        })
    }
}

fn roll(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

fn injected(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::InjectedFault, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rates_must_be_probabilities() {
        let bad = FaultConfig {
            error_rate: 1.5,
            ..FaultConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = FaultConfig {
            lost_response_rate: -0.1,
            ..FaultConfig::default()
        };
        assert!(bad.validate().is_err());
        assert!(
            FaultConfig {
                error_rate: 1.0,
                ..FaultConfig::default()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn failure_values_are_found_anywhere_in_the_body() {
        let config = FaultConfig {
            fail_skus: vec!["MUG".into()],
            ..FaultConfig::default()
        };
        let body = json!({"orderId": "o1", "items": [{"sku": "TEE", "quantity": 1}, {"sku": "MUG", "quantity": 2}]});
        assert_eq!(config.mentioned_failure(&body), Some("MUG"));
        assert_eq!(
            config.mentioned_failure(&json!({"items": [{"sku": "TEE"}]})),
            None
        );
    }

    #[tokio::test]
    async fn only_targeted_services_fail() {
        let faults = Faults::new(FaultConfig {
            error_rate: 1.0,
            services: vec![Service::Payments],
            ..FaultConfig::default()
        });
        assert!(
            faults
                .before_effect(Service::Payments, &json!({}))
                .await
                .is_err()
        );
        assert!(
            faults
                .before_effect(Service::Inventory, &json!({}))
                .await
                .is_ok()
        );
    }
}
