//! How every mutating request runs: faults, then one atomic idempotent transaction, then maybe a
//! "lost" response.
//!
//! Inside a single `BEGIN IMMEDIATE` transaction on the single connection (see [`crate::db`]):
//! look the key up; replay or refuse if known; otherwise run the effect inside a savepoint and
//! store its response. A business failure (4xx) rolls back the savepoint — so e.g. a reservation
//! that runs out of stock on its third line leaves no trace — but its response is still stored,
//! as the contract says only 5xx responses are not. A 5xx rolls back everything.

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::extract::Mutation;
use crate::faults::Service;
use crate::idempotency::{self, IdempotencyKey, Lookup, REPLAYED_HEADER, StoredResponse};
use crate::problem::{Problem, ProblemKind, json_response};

/// A successful effect's response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn created(body: impl Serialize) -> Result<Self, Problem> {
        Self::with_status(StatusCode::CREATED, body)
    }

    pub fn ok(body: impl Serialize) -> Result<Self, Problem> {
        Self::with_status(StatusCode::OK, body)
    }

    fn with_status(status: StatusCode, body: impl Serialize) -> Result<Self, Problem> {
        Ok(Self {
            status,
            body: serde_json::to_value(body).map_err(Problem::internal)?,
        })
    }
}

/// The effect of one mutating request: synchronous SQL on a connection already inside a
/// transaction. It must not commit; `key` goes into the ledger rows it writes.
pub trait Effect<T>:
    FnOnce(&Connection, &IdempotencyKey, T) -> Result<Reply, Problem> + Send + 'static
{
}
impl<T, F> Effect<T> for F where
    F: FnOnce(&Connection, &IdempotencyKey, T) -> Result<Reply, Problem> + Send + 'static
{
}

/// Runs `effect` for `request` to `service` with the full idempotency and fault semantics.
pub async fn run<T: Send + 'static>(
    state: &AppState,
    service: Service,
    request: Mutation<T>,
    effect: impl Effect<T>,
) -> Response {
    if let Err(problem) = state.faults.before_effect(service, &request.json).await {
        return problem_response(problem);
    }
    let Mutation {
        key,
        fingerprint,
        body,
        ..
    } = request;
    let outcome = state
        .db
        .call(move |conn| -> Result<(StoredResponse, bool), Problem> {
            let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match idempotency::lookup(&tx, &key, &fingerprint)? {
                Lookup::Replay(stored) => return Ok((stored, true)),
                Lookup::Reused => {
                    return Err(Problem::new(
                        ProblemKind::IdempotencyKeyReused,
                        format!(
                            "Idempotency-Key {:?} was used for a different request",
                            key.as_str()
                        ),
                    ));
                }
                Lookup::New => {}
            }
            let savepoint = tx.savepoint()?;
            let response = match effect(&savepoint, &key, body) {
                Ok(reply) => {
                    savepoint.commit()?;
                    StoredResponse {
                        status: reply.status,
                        body: reply.body,
                    }
                }
                // Dropping the savepoint undoes the partial effect; dropping `tx` (via `?` or
                // the early return) undoes everything for a 5xx, which is then not stored.
                Err(problem) if problem.status().is_server_error() => return Err(problem),
                Err(problem) => {
                    drop(savepoint);
                    StoredResponse {
                        status: problem.status(),
                        body: problem.body(),
                    }
                }
            };
            idempotency::store(&tx, &key, &fingerprint, &response)?;
            tx.commit()?;
            Ok((response, false))
        })
        .await
        .and_then(|result| result);

    let (stored, replayed) = match outcome {
        Ok(done) => done,
        Err(problem) => return problem_response(problem),
    };
    if let Some(lost) = state.faults.lose_response(service) {
        return problem_response(lost);
    }
    let mut response = json_response(stored.status, &stored.body);
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    response
}

fn problem_response(problem: Problem) -> Response {
    json_response(problem.status(), &problem.body())
}
