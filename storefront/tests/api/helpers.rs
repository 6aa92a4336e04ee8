//! Test harness: every test gets the real app on a random port with its own SQLite file.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use storefront::{Application, Config, Settings};
use tempfile::TempDir;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    // Dropped last: deleting the directory before the server stops would break it mid-test.
    _dir: TempDir,
}

/// A response, read completely.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn replayed(&self) -> bool {
        self.headers.get("idempotent-replayed") == Some(&HeaderValue::from_static("true"))
    }

    /// Asserts this is a problem+json response of the given status and type slug.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, slug: &str) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "problems must be application/problem+json"
        );
        assert_eq!(
            self.body["type"],
            format!("https://shopflow.dev/problems/{slug}"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        self
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        self
    }
}

/// A fresh idempotency key, unique within the test process.
pub fn key() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("test-key-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    spawn_app_guarded(config, None).await
}

/// An app that requires `token` for state changes (`SHOPFLOW_SHOP_TOKEN`).
pub async fn spawn_app_guarded(
    config: Config,
    shop_token: Option<storefront::guard::ShopToken>,
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("storefront.db");
    let settings = Settings {
        shop_token,
        listen: "127.0.0.1:0".parse().unwrap(),
        db_path,
        config,
        web: Default::default(),
    };
    let app = Application::build(settings).await.expect("app builds");
    let addr = app.local_addr().unwrap();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

pub async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON body: {}", String::from_utf8_lossy(&bytes)))
    };
    Answer {
        status,
        headers,
        body,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST `body` as JSON with `Idempotency-Key: key` (none if `key` is `None`).
    pub async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Answer {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// POST raw bytes with a JSON content type and the given key.
    pub async fn post_raw(&self, path: &str, key: &str, body: impl Into<reqwest::Body>) -> Answer {
        let request = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body(body);
        read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        read(
            self.client
                .get(self.url(path))
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        read(
            self.client
                .put(self.url(path))
                .json(body)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// Ledger effects, optionally for one order.
    pub async fn effects(&self, order_id: Option<&str>) -> Vec<Value> {
        let path = match order_id {
            Some(order_id) => format!("/ledger?orderId={order_id}"),
            None => "/ledger".to_owned(),
        };
        let ledger = self.get(&path).await;
        ledger.assert_status(200);
        ledger.body["effects"]
            .as_array()
            .expect("effects array")
            .clone()
    }

    /// Effects of one kind, optionally for one order.
    pub async fn effects_of(&self, kind: &str, order_id: Option<&str>) -> Vec<Value> {
        self.effects(order_id)
            .await
            .into_iter()
            .filter(|e| e["kind"] == kind)
            .collect()
    }

    pub async fn stock(&self, sku: &str) -> i64 {
        let ledger = self.get("/ledger").await;
        ledger.body["stock"][sku]
            .as_i64()
            .unwrap_or_else(|| panic!("no stock for {sku}: {}", ledger.body))
    }

    pub async fn set_stock(&self, sku: &str, available: u32) {
        self.put(
            &format!("/admin/stock/{sku}"),
            &json!({ "available": available }),
        )
        .await
        .assert_status(200);
    }

    pub async fn set_faults(&self, faults: Value) {
        self.put("/admin/faults", &faults).await.assert_status(200);
    }

    pub async fn reserve(&self, key: &str, order_id: &str, items: &[(&str, u32)]) -> Answer {
        self.post(
            "/inventory/reservations",
            Some(key),
            &reservation(order_id, items),
        )
        .await
    }

    pub async fn charge(
        &self,
        key: &str,
        order_id: &str,
        customer_id: &str,
        amount_minor: i64,
    ) -> Answer {
        self.post(
            "/payments/charges",
            Some(key),
            &charge(order_id, customer_id, amount_minor),
        )
        .await
    }
}

pub fn reservation(order_id: &str, items: &[(&str, u32)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
        .collect();
    json!({ "orderId": order_id, "items": items })
}

pub fn charge(order_id: &str, customer_id: &str, amount_minor: i64) -> Value {
    json!({ "orderId": order_id, "customerId": customer_id, "amountMinor": amount_minor, "currency": "USD" })
}

pub fn shipment(order_id: &str, country: &str, postal_code: &str) -> Value {
    json!({
        "orderId": order_id,
        "address": { "line1": "1 Main St", "city": "Springfield", "postalCode": postal_code, "country": country },
        "items": [{ "sku": "MUG-CLASSIC", "quantity": 1 }],
    })
}

pub fn notification(order_id: &str, message: &str) -> Value {
    json!({ "orderId": order_id, "email": "ana@example.com", "kind": "order-confirmed", "message": message })
}

impl TestApp {
    /// `available` of one SKU as `GET /catalog` reports it.
    pub async fn catalog_available(&self, sku: &str) -> i64 {
        let catalog = self.get("/catalog").await;
        let items = catalog.body["items"].as_array().expect("items");
        let item = items
            .iter()
            .find(|item| item["sku"] == sku)
            .expect("sku in catalog");
        item["available"].as_i64().expect("available")
    }
}
