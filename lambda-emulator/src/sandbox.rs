//! What a Lambda sandbox does to the processes of one execution environment beyond starting and
//! signalling them: it caps their memory at the function's `MemorySize` and freezes them between
//! invocations. Locally both work on the environment's process group.
//!
//! **Memory.** Lambda runs a function in a micro-VM sized by `MemorySize`; a function that goes
//! over it is killed, the invocation fails with `Runtime.OutOfMemory` ("Runtime exited with
//! error: signal: killed") and the next invocation starts a new environment (AWS "Troubleshoot
//! invocation issues in Lambda", memory errors; "REPORT" lines: `Max Memory Used`). Here a
//! watcher samples the resident memory of the runtime process and all its descendants every
//! [`MEMORY_SAMPLE_INTERVAL`] and SIGKILLs the group once it exceeds the limit. Sampling can miss
//! a spike shorter than the interval, and RSS is not a VM's whole footprint (page cache, kernel
//! memory): the emulator's README lists that among the differences from AWS. It needs no cgroup
//! delegation, root or kernel setting, so it behaves the same on every machine this runs on.
//!
//! **Freeze.** Between invocations Lambda freezes the environment: no thread runs, timers stand
//! still, a background task spawned by the handler makes no progress until the next event (AWS
//! "Lambda execution environment lifecycle": "Lambda freezes the execution environment" after
//! the runtime and extensions signal completion). Here the group gets SIGSTOP once the invoke
//! phase is over and SIGCONT before the next event or the shutdown phase, so work after the
//! response and kept-alive connections behave as on Lambda.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;

/// How often an environment's memory is sampled.
pub(crate) const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

/// The memory watch of one environment: the highest use seen, and whether the limit was hit.
pub(crate) struct MemoryWatch {
    peak_bytes: AtomicU64,
    killed: AtomicBool,
}

impl MemoryWatch {
    /// Watches process group `pid` until the process exits (`exited` turns `Some`), killing the
    /// group when it uses more than `limit_bytes`.
    pub(crate) fn start(
        pid: u32,
        limit_bytes: u64,
        mut exited: watch::Receiver<Option<String>>,
    ) -> Arc<Self> {
        let memory = Arc::new(Self {
            peak_bytes: AtomicU64::new(0),
            killed: AtomicBool::new(false),
        });
        let watch = memory.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(MEMORY_SAMPLE_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = exited.wait_for(Option::is_some) => return,
                    _ = ticks.tick() => {}
                }
                let used = process_tree_rss(pid);
                watch.peak_bytes.fetch_max(used, Ordering::Relaxed);
                if used > limit_bytes {
                    watch.killed.store(true, Ordering::SeqCst);
                    tracing::debug!(
                        pid,
                        used,
                        limit_bytes,
                        "environment over its memory size; killing it"
                    );
                    let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    return;
                }
            }
        });
        memory
    }

    /// The most memory the environment was seen using, in whole MB as Lambda reports it.
    pub(crate) fn peak_mb(&self) -> u64 {
        self.peak_bytes
            .load(Ordering::Relaxed)
            .div_ceil(1024 * 1024)
    }

    /// Whether the watch killed the environment for going over its memory size.
    pub(crate) fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// Resident memory of `pid` and every process below it, in bytes; 0 once it is gone.
fn process_tree_rss(pid: u32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    while let Some(pid) = pending.pop() {
        total += rss_bytes(pid);
        pending.extend(children(pid));
    }
    total
}

fn rss_bytes(pid: u32) -> u64 {
    // `statm`'s second field is the resident set in pages.
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |size| size as u64)
}

/// Direct children of `pid`, from every thread's `children` list.
fn children(pid: u32) -> Vec<u32> {
    let tasks = Path::new("/proc").join(pid.to_string()).join("task");
    let Ok(threads) = std::fs::read_dir(tasks) else {
        return Vec::new();
    };
    threads
        .flatten()
        .filter_map(|thread| std::fs::read_to_string(thread.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Stops (`freeze`) or resumes (`thaw`) every process of an environment's group.
pub(crate) struct Freezer {
    pgid: Pid,
    frozen: AtomicBool,
}

impl Freezer {
    pub(crate) fn new(pgid: u32) -> Self {
        Self {
            pgid: Pid::from_raw(pgid as i32),
            frozen: AtomicBool::new(false),
        }
    }

    pub(crate) fn freeze(&self) {
        if !self.frozen.swap(true, Ordering::SeqCst) {
            let _ = killpg(self.pgid, Signal::SIGSTOP);
        }
    }

    pub(crate) fn thaw(&self) {
        if self.frozen.swap(false, Ordering::SeqCst) {
            let _ = killpg(self.pgid, Signal::SIGCONT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_for_a_live_process_and_zero_once_it_is_gone() {
        let me = std::process::id();
        assert!(rss_bytes(me) > 0);
        assert!(
            process_tree_rss(me) >= rss_bytes(me) / 2,
            "the tree includes the process itself"
        );
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(rss_bytes(pid), 0, "a process that is gone uses nothing");
        assert!(children(pid).is_empty());
    }
}
