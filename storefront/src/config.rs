//! Storefront configuration: catalog, decline rules, shipping rules and initial faults.
//!
//! Everything has a default so `storefront --db shop.db` runs with no file: a six-item catalog,
//! the default decline rules and a list of deliverable countries. A file (`.json` or `.toml`,
//! camelCase keys) replaces any section it names; a few `SHOPFLOW_*` environment variables then
//! override single values, which is what the orchestrator and CI use:
//! `SHOPFLOW_DECLINE_ABOVE_MINOR`, `SHOPFLOW_DECLINED_CUSTOMERS` (comma list),
//! `SHOPFLOW_DELIVERABLE_COUNTRIES` (comma list), `SHOPFLOW_FAULT_ERROR_RATE`,
//! `SHOPFLOW_FAULT_LOST_RESPONSE_RATE`, `SHOPFLOW_FAULT_LATENCY_MS`.
//! See `config.example.toml` for the file format.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::domain::{AmountMinor, CountryCode, Currency, Sku};
use crate::faults::FaultConfig;

/// The whole configuration. Unknown keys are errors: a typo must not silently use a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Config {
    pub catalog: Vec<CatalogItem>,
    pub declines: DeclineRules,
    pub shipping: ShippingRules,
    pub faults: FaultConfig,
}

/// One product and the stock it starts with in a new database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogItem {
    pub sku: Sku,
    pub name: String,
    pub unit_price_minor: AmountMinor,
    pub currency: Currency,
    pub initial_stock: u32,
}

/// When a charge is declined with 402 `card-declined`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DeclineRules {
    /// Customer IDs that are always declined.
    pub customers: Vec<String>,
    /// Customer IDs starting with this are declined (empty disables the rule).
    pub customer_prefix: String,
    /// Charges above this many minor units are declined.
    pub max_amount_minor: i64,
}

/// Which addresses `POST /shipments` accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ShippingRules {
    pub countries: Vec<CountryCode>,
    pub undeliverable_postal_codes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            catalog: default_catalog(),
            declines: DeclineRules::default(),
            shipping: ShippingRules::default(),
            faults: FaultConfig::default(),
        }
    }
}

impl Default for DeclineRules {
    fn default() -> Self {
        Self {
            customers: Vec::new(),
            customer_prefix: "decline-".into(),
            max_amount_minor: 1_000_000,
        }
    }
}

impl Default for ShippingRules {
    fn default() -> Self {
        let countries = [
            "US", "CA", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "JP", "AU",
        ];
        Self {
            countries: countries.iter().map(|c| parse_default(c)).collect(),
            undeliverable_postal_codes: vec!["00000".into()],
        }
    }
}

fn default_catalog() -> Vec<CatalogItem> {
    let item = |sku: &str, name: &str, price: i64, stock: u32| CatalogItem {
        sku: parse_default(sku),
        name: name.into(),
        unit_price_minor: AmountMinor::try_from(price).expect("default prices are positive"),
        currency: parse_default("USD"),
        initial_stock: stock,
    };
    vec![
        item("TEE-BLK-M", "Temporal tee, black, M", 2_500, 100),
        item("TEE-WHT-L", "Temporal tee, white, L", 2_500, 100),
        item("MUG-CLASSIC", "Classic mug", 1_400, 50),
        item("HOODIE-GRY-M", "Hoodie, grey, M", 5_900, 25),
        item("STICKER-PACK", "Sticker pack", 500, 500),
        item("CAP-NAVY", "Cap, navy", 2_200, 10),
    ]
}

/// Parses a compile-time constant through the same checks as client input.
fn parse_default<T: TryFrom<String, Error = String>>(value: &str) -> T {
    T::try_from(value.to_owned())
        .unwrap_or_else(|err| panic!("bad built-in default {value:?}: {err}"))
}

impl Config {
    /// Loads `path` (format chosen by extension) over the defaults, then validates.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let config: Self = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => serde_json::from_str(&text)
                .with_context(|| format!("invalid JSON config {}", path.display()))?,
            Some("toml") => toml::from_str(&text)
                .with_context(|| format!("invalid TOML config {}", path.display()))?,
            _ => bail!("config file {} must end in .json or .toml", path.display()),
        };
        Ok(config)
    }

    /// Applies `SHOPFLOW_*` overrides from `vars` (the process environment in `main`).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<()> {
        fn parsed<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T>
        where
            T::Err: std::fmt::Display,
        {
            value
                .trim()
                .parse()
                .map_err(|err| anyhow::anyhow!("{name}={value:?}: {err}"))
        }
        let list = |value: &str| -> Vec<String> {
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        for (name, value) in vars {
            match name.as_str() {
                "SHOPFLOW_DECLINE_ABOVE_MINOR" => {
                    self.declines.max_amount_minor = parsed(&name, &value)?
                }
                "SHOPFLOW_DECLINED_CUSTOMERS" => self.declines.customers = list(&value),
                "SHOPFLOW_DELIVERABLE_COUNTRIES" => {
                    self.shipping.countries = list(&value)
                        .into_iter()
                        .map(|c| {
                            CountryCode::try_from(c).map_err(|err| anyhow::anyhow!("{name}: {err}"))
                        })
                        .collect::<anyhow::Result<_>>()?;
                }
                "SHOPFLOW_FAULT_ERROR_RATE" => self.faults.error_rate = parsed(&name, &value)?,
                "SHOPFLOW_FAULT_LOST_RESPONSE_RATE" => {
                    self.faults.lost_response_rate = parsed(&name, &value)?
                }
                "SHOPFLOW_FAULT_LATENCY_MS" => self.faults.latency_ms = parsed(&name, &value)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Rules serde cannot express: unique SKUs, one currency, sane faults.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.catalog.is_empty() {
            bail!("the catalog must have at least one item");
        }
        let mut seen = HashSet::new();
        for item in &self.catalog {
            if !seen.insert(item.sku.as_str()) {
                bail!("catalog lists SKU {} twice", item.sku);
            }
        }
        if self.declines.max_amount_minor <= 0 {
            bail!("declines.maxAmountMinor must be positive");
        }
        self.faults
            .validate()
            .map_err(|err| anyhow::anyhow!("faults: {err}"))
    }

    pub fn catalog_item(&self, sku: &Sku) -> Option<&CatalogItem> {
        self.catalog.iter().find(|item| &item.sku == sku)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn toml_file_replaces_sections_and_rejects_typos() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.toml");
        std::fs::write(
            &path,
            "[declines]\ncustomers = [\"bob\"]\nmaxAmountMinor = 50\n[faults]\nerrorRate = 0.5\n",
        )
        .unwrap();
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.declines.customers, vec!["bob".to_owned()]);
        assert_eq!(config.declines.customer_prefix, "decline-");
        assert_eq!(config.faults.error_rate, 0.5);
        assert_eq!(config.catalog, default_catalog());

        std::fs::write(&path, "[declines]\nmaxAmount = 5\n").unwrap();
        assert!(Config::from_file(&path).is_err());
    }

    #[test]
    fn example_config_parses_and_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let config = Config::from_file(&path).unwrap();
        config.validate().unwrap();
        assert_eq!(config.catalog.len(), 2);
        assert_eq!(config.declines.customers, vec!["cust-broke".to_owned()]);
    }

    #[test]
    fn env_overrides_single_values() {
        let mut config = Config::default();
        let vars = [
            (
                "SHOPFLOW_DELIVERABLE_COUNTRIES".to_owned(),
                "US, PT".to_owned(),
            ),
            ("SHOPFLOW_FAULT_ERROR_RATE".to_owned(), "0.25".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ];
        config.apply_env(vars).unwrap();
        let countries: Vec<&str> = config
            .shipping
            .countries
            .iter()
            .map(CountryCode::as_str)
            .collect();
        assert_eq!(countries, ["US", "PT"]);
        assert_eq!(config.faults.error_rate, 0.25);
        assert!(
            config
                .apply_env([("SHOPFLOW_FAULT_LATENCY_MS".into(), "soon".into())])
                .is_err()
        );
    }
}
