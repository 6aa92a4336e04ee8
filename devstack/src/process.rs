//! A guard for a long-running child service.
//!
//! Services (the Temporal dev server, LocalStack) start their own helper processes, and a test
//! that panics must not leave any of them behind holding ports and memory. So each service is
//! spawned as the leader of its own process group, writes stdout and stderr to a log file (a
//! pipe nobody reads would eventually block it), and is stopped as a group: SIGTERM, a grace
//! period, then SIGKILL. Dropping the guard does the same, so `?` and panics clean up too.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How often readiness and exit are polled: short enough not to add visible latency to a start
/// that takes ~0.2 s, long enough not to load two cores with health probes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A child process group that is stopped when the guard goes away.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    log_file: PathBuf,
    grace: Duration,
    finished: bool,
}

impl ChildGuard {
    /// Spawns `command` as the leader of a new process group, appending its output to `log_file`.
    ///
    /// `grace` is how long a stop waits after SIGTERM before it sends SIGKILL.
    pub fn spawn(
        name: &str,
        mut command: Command,
        log_file: &Path,
        grace: Duration,
    ) -> Result<Self> {
        if let Some(dir) = log_file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_file)
            .with_context(|| format!("opening log file {}", log_file.display()))?;
        // A marker line separates runs when several share one log file.
        writeln!(log, "=== devstack: starting {name}: {command:?}")?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawning {name} ({:?})", command.get_program()))?;
        tracing::debug!(name, pid = child.id(), log = %log_file.display(), "spawned");
        Ok(Self {
            name: name.to_owned(),
            child,
            log_file: log_file.to_path_buf(),
            grace,
            finished: false,
        })
    }

    /// The process id, which is also the process group id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file that receives the child's stdout and stderr.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The exit status if the leader has already exited.
    pub fn try_exit_status(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Fails, with the end of the log, if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if let Some(status) = self.try_exit_status()? {
            bail!(
                "{} exited ({status}); end of {}:\n{}",
                self.name,
                self.log_file.display(),
                log_tail(&self.log_file, 30)
            );
        }
        Ok(())
    }

    /// Polls `ready` until it returns true; fails early, with the end of the log, if the child
    /// exits first or `timeout` passes. Returns how long it took.
    pub fn wait_until_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_exit_status()? {
                bail!(
                    "{} exited ({status}) before it became ready; end of {}:\n{}",
                    self.name,
                    self.log_file.display(),
                    log_tail(&self.log_file, 30)
                );
            }
            if ready() {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!(
                    "{} was not ready after {:.0?}; end of {}:\n{}",
                    self.name,
                    timeout,
                    self.log_file.display(),
                    log_tail(&self.log_file, 30)
                );
            }
            sleep(POLL_INTERVAL);
        }
    }

    /// Waits up to `within` for the leader to exit **by itself** — nothing is sent — and returns
    /// its status, or `None` if it still runs then. This is how a test tells a process that
    /// drained and exited on a signal from one that [`ChildGuard::stop`] had to end.
    pub fn wait_for_exit(&mut self, within: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.try_exit_status()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            sleep(POLL_INTERVAL);
        }
    }

    /// Stops the process group (SIGTERM, grace period, SIGKILL) and reaps the leader.
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let pgid = Pid::from_raw(self.child.id() as i32);
        if self.child.try_wait()?.is_none() {
            signal_group(pgid, Signal::SIGTERM)?;
            let deadline = Instant::now() + self.grace;
            while self.child.try_wait()?.is_none() && Instant::now() < deadline {
                sleep(POLL_INTERVAL);
            }
            if self.child.try_wait()?.is_none() {
                tracing::warn!(name = %self.name, grace = ?self.grace, "did not stop on SIGTERM; sending SIGKILL");
            }
        }
        // Also reaches helpers that outlived their leader (the group exists while any member does).
        signal_group(pgid, Signal::SIGKILL)?;
        self.child
            .wait()
            .with_context(|| format!("waiting for {} to exit", self.name))?;
        tracing::debug!(name = %self.name, "stopped");
        Ok(())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Err(err) = self.terminate() {
            tracing::error!(name = %self.name, "could not stop: {err:#}");
        }
    }
}

/// Signals a whole process group; a group that no longer exists is not an error.
fn signal_group(pgid: Pid, signal: Signal) -> Result<()> {
    match killpg(pgid, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(err) => Err(err).with_context(|| format!("sending {signal} to process group {pgid}")),
    }
}

/// The last `lines` lines of a log file (at most 64 KiB are read), for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    const MAX_BYTES: u64 = 64 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(err) => format!("(log unreadable: {err})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_log(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("devstack-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn alive(pid: i32) -> bool {
        nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()
    }

    #[test]
    fn drop_kills_the_whole_group_even_a_child_that_ignores_sigterm() {
        let log = temp_log("group.log");
        // The grandchild ignores SIGTERM, so only the SIGKILL fallback can end it.
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "sh -c 'trap \"\" TERM; echo grandchild $$; while :; do sleep 1; done' & wait",
        ]);
        let mut guard =
            ChildGuard::spawn("group test", cmd, &log, Duration::from_millis(300)).unwrap();
        let mut grandchild = None;
        guard
            .wait_until_ready(Duration::from_secs(10), || {
                grandchild = std::fs::read_to_string(&log).ok().and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("grandchild ")?.trim().parse::<i32>().ok())
                });
                grandchild.is_some()
            })
            .unwrap();
        let grandchild = grandchild.unwrap();
        assert!(alive(grandchild));
        drop(guard);
        // SIGKILL was sent before drop returned; the orphan is then reaped by init, so wait for
        // it to stop running (a zombie counts as stopped) rather than for its pid to vanish.
        let state = || {
            let stat =
                std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
            stat.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(state(), None | Some('Z') | Some('X')) && Instant::now() < deadline {
            sleep(POLL_INTERVAL);
        }
        assert!(
            matches!(state(), None | Some('Z') | Some('X')),
            "grandchild state {:?}",
            state()
        );
    }

    #[test]
    fn wait_for_exit_tells_exiting_by_itself_from_still_running() {
        let log = temp_log("exit.log");
        let mut cmd = Command::new("sh");
        // Exits 0 on SIGINT, like a worker that drains; ignores nothing else.
        cmd.args([
            "-c",
            "trap 'exit 0' INT; echo ready; while :; do sleep 0.05; done",
        ]);
        let mut guard = ChildGuard::spawn("exit test", cmd, &log, Duration::from_secs(1)).unwrap();
        guard
            .wait_until_ready(Duration::from_secs(10), || {
                std::fs::read_to_string(&log).is_ok_and(|t| t.contains("ready"))
            })
            .unwrap();
        assert_eq!(
            guard.wait_for_exit(Duration::from_millis(200)).unwrap(),
            None
        );
        nix::sys::signal::kill(Pid::from_raw(guard.pid() as i32), Signal::SIGINT).unwrap();
        let status = guard.wait_for_exit(Duration::from_secs(10)).unwrap();
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
        guard.stop().unwrap();
    }

    #[test]
    fn an_early_exit_is_reported_with_the_log() {
        let log = temp_log("early.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'bind: address already in use' >&2; exit 3"]);
        let mut guard = ChildGuard::spawn("early exit", cmd, &log, Duration::from_secs(1)).unwrap();
        let err = guard
            .wait_until_ready(Duration::from_secs(30), || false)
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("exited"), "{msg}");
        assert!(msg.contains("address already in use"), "{msg}");
        guard.stop().unwrap();
    }

    #[test]
    fn a_service_that_never_gets_ready_times_out() {
        let log = temp_log("slow.log");
        let mut cmd = Command::new("sleep");
        cmd.arg("60");
        let mut guard =
            ChildGuard::spawn("never ready", cmd, &log, Duration::from_secs(1)).unwrap();
        let pid = guard.pid() as i32;
        let err = guard
            .wait_until_ready(Duration::from_millis(200), || false)
            .unwrap_err();
        assert!(err.to_string().contains("not ready"), "{err}");
        guard.stop().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let log = temp_log("tail.log");
        std::fs::write(
            &log,
            (1..=100).map(|i| format!("line {i}\n")).collect::<String>(),
        )
        .unwrap();
        assert_eq!(log_tail(&log, 2), "line 99\nline 100");
        assert!(log_tail(&log.with_extension("missing"), 2).contains("unreadable"));
    }
}
