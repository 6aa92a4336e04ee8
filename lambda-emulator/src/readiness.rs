//! Who in an execution environment has said "I am done, give me the next event".
//!
//! Lambda moves an environment from one phase to the next only when the runtime **and every
//! registered extension** have called their `next` API: Init ends then (the first event is handed
//! out only after it), and an Invoke phase ends then — the environment stays busy, and is not
//! frozen or handed another event, until the runtime and the extensions subscribed to `INVOKE`
//! are back in `next` (AWS, "Lambda execution environment lifecycle": Init phase and Invoke phase;
//! aws-lambda-runtime-interface-emulator, `rapid/handlers.go` and `core/statejson` flows).
//!
//! Each party's "parked in next" flag lives here, set by a [`Parked`] guard for exactly as long
//! as its long poll is open (a caller that drops the connection is no longer parked), and a
//! change counter lets anyone wait for a condition over those flags without polling.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The change counter that the `next` handlers bump and phase changes wait on.
pub(crate) struct Readiness {
    changed: watch::Sender<()>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            changed: watch::Sender::new(()),
        }
    }
}

impl Readiness {
    /// Wakes everyone waiting in [`Readiness::until`] to re-check their condition.
    pub(crate) fn bump(&self) {
        self.changed.send_replace(());
    }

    /// Waits until `condition` holds. The condition is re-checked after every [`bump`], so it
    /// must read state that is changed only before a bump.
    ///
    /// [`bump`]: Readiness::bump
    pub(crate) async fn until(&self, condition: impl Fn() -> bool) {
        // Subscribing before the first check means a bump between check and wait is not lost.
        let mut changes = self.changed.subscribe();
        while !condition() {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Marks a party as parked in `next` while it lives.
pub(crate) struct Parked<'a> {
    flag: &'a AtomicBool,
    readiness: &'a Readiness,
}

impl<'a> Parked<'a> {
    pub(crate) fn new(flag: &'a AtomicBool, readiness: &'a Readiness) -> Self {
        flag.store(true, Ordering::SeqCst);
        readiness.bump();
        Self { flag, readiness }
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.flag.store(false, Ordering::SeqCst);
        self.readiness.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn until_returns_once_the_flag_is_parked_and_not_after_it_left() {
        let readiness = Arc::new(Readiness::default());
        let flag = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (readiness, flag) = (readiness.clone(), flag.clone());
            tokio::spawn(async move { readiness.until(|| flag.load(Ordering::SeqCst)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "nobody parked yet");
        let parked = Parked::new(&flag, &readiness);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        drop(parked);
        assert!(
            !flag.load(Ordering::SeqCst),
            "leaving next (or dropping the connection) un-parks"
        );
    }
}
