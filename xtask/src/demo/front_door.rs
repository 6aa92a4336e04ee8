//! The front door the demo's orders come through, as a real shop's would: the storefront's
//! `POST /shop/orders` (which prices the cart and forwards it to `ingest-fn` behind the
//! emulator's HTTP API), ingest's own `POST /orders`, and the orders queue — filled by the
//! `push-events` binary from the sample events in `events/orders`, drained by `ingest-fn`
//! through the emulator's SQS event source.
//!
//! Nothing here starts a workflow: ingest-fn does, exactly once per order ID. This module counts
//! what came in which way ([`Intake`]) and reads the dead-letter queue to show where a
//! never-valid message went. SQS is spoken through the AWS SDK, with `devstack::sqs`'s client for
//! the local LocalStack (the one that also creates the queues).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};

use super::world::Queues;

/// How the orders of a run came in.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Intake {
    /// Orders ingest-fn started from `POST /orders` (the storefront's or the demo's own).
    pub via_http: usize,
    /// Orders ingest-fn started from the queue.
    pub via_sqs: usize,
    /// Requests and messages refused as never valid (HTTP 4xx, or sent to the DLQ).
    pub rejected: usize,
    /// Of those, messages found on the dead-letter queue with ingest-fn's reason.
    pub dead_lettered: usize,
    /// Repeats of an order that was already in, each answered without a second workflow.
    pub duplicates: usize,
}

impl Intake {
    pub fn summary(&self) -> String {
        format!(
            "entered via HTTP: {}, via SQS: {}, rejected: {} (DLQ: {}), duplicates: {}",
            self.via_http, self.via_sqs, self.rejected, self.dead_lettered, self.duplicates
        )
    }
}

/// What `POST /orders` answered.
#[derive(Debug)]
pub struct IngestAnswer {
    pub status: u16,
    pub body: Value,
}

/// A message ingest-fn moved to the dead-letter queue, with its reason.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub order_id: String,
    pub rule: String,
    pub reason: String,
}

pub struct FrontDoor {
    http: reqwest::Client,
    shop_url: String,
    ingest_url: String,
    ingest_secret: shared::signing::Secret,
    queues: Queues,
    /// The local SQS (LocalStack), through the AWS SDK.
    sqs: aws_sdk_sqs::Client,
    /// Where the message files handed to `push-events` are written.
    outbox: PathBuf,
}

impl FrontDoor {
    pub fn new(
        shop_url: &str,
        (ingest_url, ingest_secret): (&str, &shared::signing::Secret),
        queues: Queues,
        outbox: PathBuf,
    ) -> Self {
        Self {
            // Bounded, so a stuck storefront, ingest-fn or LocalStack fails the demo instead of
            // hanging it.
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            shop_url: shop_url.to_owned(),
            ingest_url: ingest_url.to_owned(),
            ingest_secret: ingest_secret.clone(),
            sqs: devstack::sqs::client(&queues.endpoint),
            queues,
            outbox,
        }
    }

    /// Buy something on the storefront as its page does (`POST /shop/orders`): the shop adds the
    /// order ID, time and prices and forwards it to ingest-fn. The customer decides the outcome
    /// (`decline-…` is declined; a customer in the payment fault list meets the outage).
    /// Returns the order ID the shop gave it.
    pub async fn buy(&self, customer_id: &str) -> Result<String> {
        let cart = json!({
            "customer": { "id": customer_id, "email": "ada@example.com" },
            "items": [ { "sku": "TEE-BLK-M", "quantity": 1 }, { "sku": "STICKER-PACK", "quantity": 2 } ],
            "shippingAddress": {
                "name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin",
                "postalCode": "10117", "country": "DE"
            },
        });
        let url = format!("{}/shop/orders", self.shop_url);
        let response = self
            .http
            .post(&url)
            .json(&cart)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("reading the answer of POST {url}"))?;
        if status != reqwest::StatusCode::ACCEPTED || body["duplicate"] != json!(false) {
            bail!("POST {url} for {customer_id} answered {status}: {body}");
        }
        body["orderId"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no orderId in {body}"))
    }

    /// `POST /orders` straight to ingest-fn, signed as the storefront signs.
    pub async fn post(&self, body: &[u8]) -> Result<IngestAnswer> {
        let mut request = self
            .http
            .post(&self.ingest_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        for (name, value) in shared::signing::signed_headers(&self.ingest_secret, body) {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {}", self.ingest_url))?;
        let status = response.status().as_u16();
        let body = response
            .json()
            .await
            .with_context(|| format!("reading the answer of POST {}", self.ingest_url))?;
        Ok(IngestAnswer { status, body })
    }

    /// Send each body as one message to the orders queue with the `push-events` binary, as a
    /// person would (`push-events files --queue … <files>`). `name` names each file.
    pub async fn push(&self, messages: &[(String, String)]) -> Result<()> {
        std::fs::create_dir_all(&self.outbox)
            .with_context(|| format!("creating {}", self.outbox.display()))?;
        let mut files = Vec::new();
        for (name, body) in messages {
            let file = self.outbox.join(format!("{name}.json"));
            std::fs::write(&file, body).with_context(|| format!("writing {}", file.display()))?;
            files.push(file);
        }
        let mut cmd = tokio::process::Command::new(devstack::apps::built_bin("push-events")?);
        cmd.args([
            "files",
            "--queue",
            &self.queues.orders_url,
            "--endpoint",
            &self.queues.endpoint,
        ])
        .args(&files)
        .kill_on_drop(true);
        // Bounded like the HTTP calls: a LocalStack that stopped answering fails the demo.
        let output = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
            .await
            .context("push-events did not finish within 60 s")?
            .context("running push-events")?;
        if !output.status.success() {
            bail!(
                "push-events failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Messages on the orders queue, visible or being handled: 0 once ingest-fn has dealt with
    /// every one (started, duplicate, or moved to the DLQ).
    pub async fn queue_depth(&self) -> Result<u64> {
        devstack::sqs::queue_depth(&self.sqs, &self.queues.orders_url).await
    }

    /// Wait until the orders queue is empty.
    pub async fn drained(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.queue_depth().await? > 0 {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the orders queue still holds messages after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// Find the messages of `order_ids` on the dead-letter queue, with the rule and reason
    /// ingest-fn attached. Only looks: each message is hidden for a few seconds while the rest
    /// are read, then stays on the queue for a person to inspect.
    pub async fn dead_letters(
        &self,
        order_ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<DeadLetter>> {
        let wanted: HashSet<&str> = order_ids.iter().copied().collect();
        let mut found: Vec<DeadLetter> = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while found.len() < wanted.len() && tokio::time::Instant::now() < deadline {
            let answer = self
                .sqs
                .receive_message()
                .queue_url(&self.queues.dlq_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .visibility_timeout(5)
                .wait_time_seconds(1)
                .send()
                .await
                .with_context(|| format!("SQS ReceiveMessage at {}", self.queues.endpoint))?;
            for message in answer.messages() {
                let body: Value = message
                    .body()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                let Some(order_id) = body["orderId"].as_str().filter(|id| wanted.contains(id))
                else {
                    continue;
                };
                if found.iter().any(|d| d.order_id == order_id) {
                    continue;
                }
                let attribute = |name: &str| {
                    message
                        .message_attributes()
                        .and_then(|a| a.get(name))
                        .and_then(|v| v.string_value())
                        .unwrap_or("?")
                        .to_owned()
                };
                found.push(DeadLetter {
                    order_id: order_id.to_owned(),
                    rule: attribute("shopflow-reject-rule"),
                    reason: attribute("shopflow-reject-reason"),
                });
            }
        }
        Ok(found)
    }
}

/// A sample event from `events/orders` with its `orderId` set to `order_id`: the repository's
/// own samples go through the queue as they are, except for the ID, which must be fresh for each
/// run (a reused ID is a duplicate — the point of one of them, not of all).
pub fn sample_event(events_dir: &Path, file: &str, order_id: &str) -> Result<String> {
    let path = events_dir.join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut event: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let object = event
        .as_object_mut()
        .with_context(|| format!("{} is not an object", path.display()))?;
    object.insert("orderId".into(), json!(order_id));
    Ok(event.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_events_get_the_fresh_id_and_keep_the_rest() {
        let events = devstack::workspace_root().join("events/orders");
        let valid: Value =
            serde_json::from_str(&sample_event(&events, "valid.json", "demo-1").unwrap()).unwrap();
        let duplicate: Value =
            serde_json::from_str(&sample_event(&events, "valid-duplicate.json", "demo-1").unwrap())
                .unwrap();
        assert_eq!(valid["orderId"], "demo-1");
        assert_eq!(
            valid, duplicate,
            "valid-duplicate.json is valid.json in another key order"
        );
        let invalid = sample_event(&events, "invalid-rules.json", "demo-2").unwrap();
        assert!(
            shared::domain::parse_order(invalid.as_bytes()).is_err(),
            "invalid-rules.json stays invalid"
        );
        assert!(
            shared::domain::parse_order(
                sample_event(&events, "valid-unicode.json", "demo-3")
                    .unwrap()
                    .as_bytes()
            )
            .is_ok()
        );
    }

    #[test]
    fn intake_summary_names_every_count() {
        let intake = Intake {
            via_http: 9,
            via_sqs: 6,
            rejected: 2,
            dead_lettered: 1,
            duplicates: 2,
        };
        assert_eq!(
            intake.summary(),
            "entered via HTTP: 9, via SQS: 6, rejected: 2 (DLQ: 1), duplicates: 2"
        );
    }
}
