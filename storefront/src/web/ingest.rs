//! Forwarding an order to the ingest API, signed the way ingest-fn checks it.
//!
//! The signature is made by `shared::signing::signed_headers` — ingest-fn's own code — over the
//! exact bytes sent, so signer and verifier cannot disagree about the scheme. The secret stays in
//! this process; the browser only ever talks to `POST /shop/orders`.

use axum::http::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::settings::IngestTarget;
use crate::problem::{Problem, ProblemKind};

/// Largest ingest answer read (its answers are a few hundred bytes; a huge one is a wrong URL).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub struct IngestForwarder {
    target: Option<IngestTarget>,
    http: reqwest::Client,
}

/// What the ingest API answered: its status and its JSON body.
#[derive(Debug)]
pub struct IngestAnswer {
    pub status: StatusCode,
    pub body: Value,
}

impl IngestForwarder {
    pub fn new(target: Option<IngestTarget>, http: reqwest::Client) -> Self {
        Self { target, http }
    }

    /// Sends `body` (an order's JSON) and reads the answer. Only transport failures and answers
    /// that are not JSON are errors here; the caller decides what each status means.
    pub async fn forward(&self, body: Vec<u8>) -> Result<IngestAnswer, Problem> {
        let target = self.target.as_ref().ok_or_else(|| {
            Problem::new(
                ProblemKind::NotConfigured,
                "orders cannot be placed: the storefront has no ingest API (set --ingest-url or SHOPFLOW_INGEST_URL)",
            )
        })?;
        let mut request = self
            .http
            .post(target.url.clone())
            .header(CONTENT_TYPE, "application/json");
        if let Some(secret) = &target.secret {
            for (name, value) in shared::signing::signed_headers(secret, &body) {
                request = request.header(name, value);
            }
        }
        let upstream = |what: String| Problem::new(ProblemKind::UpstreamUnavailable, what);
        let mut response = request.body(body).send().await.map_err(|e| {
            upstream(format!(
                "the ingest API at {} did not answer: {e}",
                target.url
            ))
        })?;
        let status =
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| upstream(format!("reading the ingest API's answer failed: {e}")))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(upstream(format!(
                    "the ingest API's answer exceeds {MAX_ANSWER_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = serde_json::from_slice(&bytes).map_err(|_| {
            upstream(format!("the ingest API answered {status} with a body that is not JSON; is {} the right URL?", target.url))
        })?;
        Ok(IngestAnswer { status, body })
    }
}
