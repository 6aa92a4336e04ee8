//! Deciding whether an invocation has enough time to be worth starting a worker.
//!
//! Work time is what is left of the invocation after the shutdown buffer (worker stop timeout +
//! hook time). A worker that polls for under a second mostly pays connection and poll set-up, and
//! any task it takes would be cut short — so such an invocation is refused with an error that
//! says which setting to change. Under five seconds it is allowed, with a warning.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::defaults::{MIN_WORK_TIME, SHUTDOWN_HOOK_BUFFER, WARN_WORK_TIME, WORKER_STOP_TIMEOUT};

/// Whether an invocation gets a worker, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Enough time: poll for `work_time`.
    Accept {
        /// Time until the worker is told to stop.
        work_time: Duration,
    },
    /// Under 5 s of work time: poll, and log `warning`.
    AcceptWithWarning {
        /// Time until the worker is told to stop.
        work_time: Duration,
        /// Which setting to change.
        warning: String,
    },
    /// A second or less: fail the invocation with `reason` instead of starting a worker.
    Refuse {
        /// Which setting to change.
        reason: String,
    },
}

/// Judge an invocation with `remaining` time until its deadline.
pub fn admit(remaining: Duration, shutdown_buffer: Duration) -> Admission {
    let work_time = remaining.saturating_sub(shutdown_buffer);
    if work_time <= MIN_WORK_TIME {
        Admission::Refuse {
            reason: format!(
                "the invocation leaves almost no time for work ({work_time:?} after a {shutdown_buffer:?} \
                 shutdown buffer); increase the function timeout or decrease the shutdown buffer"
            ),
        }
    } else if work_time < WARN_WORK_TIME {
        Admission::AcceptWithWarning {
            work_time,
            warning: format!(
                "the invocation leaves under 5 s for work ({work_time:?} after a {shutdown_buffer:?} \
                 shutdown buffer); consider a longer function timeout"
            ),
        }
    } else {
        Admission::Accept { work_time }
    }
}

/// A warning when the function timeout cannot fit the longest activity: an activity that may run
/// for its whole StartToClose needs that long plus the worker's stop timeout and hook buffer
/// (7 s by default), or Lambda cuts it off and it is retried elsewhere after its timeout.
pub fn function_timeout_warning(
    function_timeout: Duration,
    longest_start_to_close: Duration,
) -> Option<String> {
    let needed = longest_start_to_close + WORKER_STOP_TIMEOUT + SHUTDOWN_HOOK_BUFFER;
    (function_timeout < needed).then(|| {
        format!(
            "function timeout {function_timeout:?} is below the longest activity StartToClose \
             ({longest_start_to_close:?}) + 7 s = {needed:?}: long activities will be cut off by \
             Lambda and retried only after their timeout"
        )
    })
}

/// [`function_timeout_warning`] for a running function: judged at the first invocation only,
/// whose time left is the function timeout (less what Init took), so the warning is logged once
/// per environment rather than once per invocation.
#[derive(Debug)]
pub struct FunctionTimeoutCheck {
    longest_start_to_close: Option<Duration>,
    checked: AtomicBool,
}

impl FunctionTimeoutCheck {
    /// A check against this longest activity StartToClose; `None` never warns.
    pub fn new(longest_start_to_close: Option<Duration>) -> Self {
        Self {
            longest_start_to_close,
            checked: AtomicBool::new(false),
        }
    }

    /// The warning, if this is the first invocation and its `remaining` time is too short.
    pub fn on_invocation(&self, remaining: Duration) -> Option<String> {
        let longest = self.longest_start_to_close?;
        if self.checked.swap(true, Ordering::Relaxed) {
            return None;
        }
        function_timeout_warning(remaining, longest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUF: Duration = Duration::from_secs(7);

    #[test]
    fn refuses_when_a_second_or_less_is_left() {
        assert!(matches!(
            admit(Duration::from_secs(8), BUF),
            Admission::Refuse { .. }
        ));
        assert!(matches!(
            admit(Duration::from_secs(3), BUF),
            Admission::Refuse { .. }
        ));
        assert!(matches!(
            admit(Duration::ZERO, BUF),
            Admission::Refuse { .. }
        ));
    }

    #[test]
    fn warns_under_five_seconds() {
        match admit(Duration::from_millis(10_500), BUF) {
            Admission::AcceptWithWarning { work_time, .. } => {
                assert_eq!(work_time, Duration::from_millis(3_500))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_otherwise() {
        assert_eq!(
            admit(Duration::from_secs(300), BUF),
            Admission::Accept {
                work_time: Duration::from_secs(293)
            }
        );
    }

    #[test]
    fn function_timeout_rule() {
        let two_minutes = Duration::from_secs(120);
        assert!(function_timeout_warning(Duration::from_secs(300), two_minutes).is_none());
        assert!(function_timeout_warning(Duration::from_secs(127), two_minutes).is_none());
        assert!(function_timeout_warning(Duration::from_secs(126), two_minutes).is_some());
        assert!(function_timeout_warning(Duration::from_secs(60), two_minutes).is_some());
    }

    #[test]
    fn the_function_timeout_is_judged_once_per_environment() {
        let short = Duration::from_secs(60);
        let check = FunctionTimeoutCheck::new(Some(Duration::from_secs(120)));
        assert!(check.on_invocation(short).is_some(), "first invocation");
        assert!(check.on_invocation(short).is_none(), "logged once");
        let fine = FunctionTimeoutCheck::new(Some(Duration::from_secs(120)));
        assert!(fine.on_invocation(Duration::from_secs(300)).is_none());
        assert!(
            fine.on_invocation(short).is_none(),
            "only the first invocation is judged"
        );
        assert!(
            FunctionTimeoutCheck::new(None)
                .on_invocation(Duration::ZERO)
                .is_none()
        );
    }
}
