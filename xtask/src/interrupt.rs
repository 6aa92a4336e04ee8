//! Ctrl+C and SIGTERM, turned into a flag that the commands poll.
//!
//! The default action of both signals would kill xtask at once and leave the dev server and
//! LocalStack running (they live in their own process groups, on purpose, so a terminal's Ctrl+C
//! does not kill them half-way through a test run). With this handler xtask stays alive, lets
//! the test runner finish its own shutdown, and then drops the services' guards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

/// Set once the process has received SIGINT or SIGTERM.
#[derive(Clone)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Installs the handler; call once per process.
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        ctrlc::set_handler(move || set.store(true, Ordering::SeqCst))
            .context("installing the Ctrl+C/SIGTERM handler")?;
        Ok(Self(flag))
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Fails when interrupted, so a command stops between phases (and its guards clean up).
    pub fn check(&self) -> Result<()> {
        anyhow::ensure!(!self.is_set(), "interrupted");
        Ok(())
    }

    /// Sleeps a short while; true once interrupted.
    pub fn wait_a_moment(&self) -> bool {
        std::thread::sleep(Duration::from_millis(100));
        self.is_set()
    }
}
