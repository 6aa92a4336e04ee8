//! The storefront's Temporal connection, made on first use rather than at startup: the shop's
//! services must start (and keep serving) whether or not Temporal is up, and only the endpoints
//! that ask about orders need it. A failed attempt is not remembered, so the next request tries
//! again; every call is bounded by a timeout so a hung server cannot hang the page's polling.

use std::future::Future;
use std::time::Duration;

use temporalio_client::Client;
use tokio::sync::OnceCell;

use super::settings::TemporalTarget;
use crate::problem::{Problem, ProblemKind};

/// Longest wait for connecting, and for any one call to Temporal.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct TemporalLink {
    target: TemporalTarget,
    client: OnceCell<Client>,
}

impl TemporalLink {
    pub fn new(target: TemporalTarget) -> Self {
        Self {
            target,
            client: OnceCell::new(),
        }
    }

    /// The client, connecting first if no attempt succeeded yet.
    pub async fn client(&self) -> Result<Client, Problem> {
        let connect = || async {
            let attempt = async {
                match &self.target {
                    TemporalTarget::Profile => shared::connection::connect().await,
                    TemporalTarget::Address { address, namespace } => {
                        shared::connection::connect_to(address, namespace).await
                    }
                }
            };
            match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
                Ok(Ok(client)) => Ok(client),
                Ok(Err(err)) => Err(unavailable(err)),
                Err(_) => Err(unavailable(format!(
                    "no answer within {} s",
                    CALL_TIMEOUT.as_secs()
                ))),
            }
        };
        self.client.get_or_try_init(connect).await.cloned()
    }
}

/// Runs one Temporal call with the timeout; a timeout is reported as Temporal being unavailable.
pub async fn bounded<T>(call: impl Future<Output = Result<T, Problem>>) -> Result<T, Problem> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(unavailable(format!(
                "no answer within {} s",
                CALL_TIMEOUT.as_secs()
            )))
        })
}

/// 503 `temporal-unavailable`: the order state cannot be read right now; retrying later may work.
pub fn unavailable(cause: impl std::fmt::Display) -> Problem {
    Problem::new(
        ProblemKind::TemporalUnavailable,
        format!("Temporal cannot be reached: {cause}"),
    )
}
