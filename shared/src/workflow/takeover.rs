//! How fast a dead worker's activity moves on: the heartbeat timeout and the first retry.
//!
//! A worker killed mid-activity stops heartbeating. The server notices after the heartbeat
//! timeout (plus its timer's lateness: up to 1 s on a server with default settings) and schedules
//! a retry after the retry policy's first interval, which the next polling worker — a Lambda the
//! Worker Controller invokes, say — picks up. Shorter settings move work faster and cost more
//! heartbeat RPCs: the SDK sends at most one beat per 0.8 × the timeout, and the activities beat
//! every quarter of it.
//!
//! The defaults are ShopFlow's policy. An order may carry other values in its workflow memo
//! (`takeover`), which is how the benchmark compares settings on one worker and one server; the
//! memo is written once, at the start, so every replay reads the same values.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The memo key an order's [`Takeover`] settings are read from.
pub const TAKEOVER_MEMO: &str = "takeover";

/// Heartbeat timeout and first retry interval of an order's activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Takeover {
    pub heartbeat_timeout_ms: u32,
    pub first_retry_ms: u32,
}

impl Default for Takeover {
    /// [`super::ACTIVITY_HEARTBEAT_TIMEOUT`] and [`super::ACTIVITY_FIRST_RETRY`].
    fn default() -> Self {
        Takeover {
            heartbeat_timeout_ms: super::ACTIVITY_HEARTBEAT_TIMEOUT.as_millis() as u32,
            first_retry_ms: super::ACTIVITY_FIRST_RETRY.as_millis() as u32,
        }
    }
}

/// Settings outside these bounds are not used: a heartbeat timeout under 100 ms would time out
/// healthy activities on a busy machine; above a minute, or a first retry above the retry policy's
/// 10 s cap, is not a takeover setting any more.
const HEARTBEAT_TIMEOUT_MS: std::ops::RangeInclusive<u32> = 100..=60_000;
const FIRST_RETRY_MS: std::ops::RangeInclusive<u32> = 1..=10_000;

impl Takeover {
    pub fn heartbeat_timeout(&self) -> Duration {
        Duration::from_millis(self.heartbeat_timeout_ms.into())
    }

    pub fn first_retry(&self) -> Duration {
        Duration::from_millis(self.first_retry_ms.into())
    }

    /// These settings, or the defaults when they are out of bounds.
    pub fn or_default_if_out_of_bounds(self) -> Takeover {
        if HEARTBEAT_TIMEOUT_MS.contains(&self.heartbeat_timeout_ms)
            && FIRST_RETRY_MS.contains(&self.first_retry_ms)
        {
            self
        } else {
            Takeover::default()
        }
    }

    /// Heartbeat RPCs per second one running activity sends at most: the SDK throttles beats to
    /// one per 0.8 × the heartbeat timeout.
    pub fn heartbeats_per_second(&self) -> f64 {
        1.0 / (0.8 * self.heartbeat_timeout().as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_settings_fall_back_to_the_defaults() {
        let fast = Takeover {
            heartbeat_timeout_ms: 300,
            first_retry_ms: 50,
        };
        assert_ne!(fast, Takeover::default());
        assert_eq!(fast.or_default_if_out_of_bounds(), fast);
        for bad in [
            Takeover {
                heartbeat_timeout_ms: 10,
                first_retry_ms: 50,
            },
            Takeover {
                heartbeat_timeout_ms: 300,
                first_retry_ms: 0,
            },
            Takeover {
                heartbeat_timeout_ms: 120_000,
                first_retry_ms: 50,
            },
        ] {
            assert_eq!(bad.or_default_if_out_of_bounds(), Takeover::default());
        }
    }

    #[test]
    fn the_memo_shape_is_camel_case() {
        let json = serde_json::to_value(Takeover::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"heartbeatTimeoutMs": 500, "firstRetryMs": 100})
        );
        assert!((Takeover::default().heartbeats_per_second() - 2.5).abs() < 1e-9);
    }
}
