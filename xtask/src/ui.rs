//! Progress for humans and one status line per phase for logs.
//!
//! A spinner shows that a long phase (an install, a server start) is alive; when the phase ends
//! it is replaced by a single line with the outcome and the time taken. indicatif draws nothing
//! when stderr is not a terminal (CI), but the status lines are always printed, so CI logs read
//! the same as a terminal session.

use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

fn spinner(label: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
            .expect("valid template"),
    );
    bar.set_message(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Runs one phase under a spinner; prints `✔ label (1.2s)` or `✘ label (1.2s)`.
pub fn step<T>(label: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    step_in(None, label, f)
}

/// [`step`] drawn inside a [`MultiProgress`], for phases that run side by side.
pub fn step_in<T>(
    multi: Option<&MultiProgress>,
    label: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let bar = match multi {
        Some(multi) => multi.add(spinner(label)),
        None => spinner(label),
    };
    let started = Instant::now();
    let result = f();
    bar.finish_and_clear();
    let line = format!("{label} ({})", seconds(started.elapsed()));
    match (&result, multi) {
        (Ok(_), Some(multi)) => multi.suspend(|| ok(&line)),
        (Ok(_), None) => ok(&line),
        (Err(_), Some(multi)) => multi.suspend(|| failed(&line)),
        (Err(_), None) => failed(&line),
    }
    result
}

/// Starts a phase whose own output streams to the terminal (no spinner over it); returns a
/// closure that prints its status line.
pub fn streamed(label: &str) -> impl FnOnce(bool) {
    eprintln!("▶ {label}");
    let started = Instant::now();
    let label = label.to_owned();
    move |success| {
        let line = format!("{label} ({})", seconds(started.elapsed()));
        if success { ok(&line) } else { failed(&line) }
    }
}

pub fn ok(line: &str) {
    eprintln!("✔ {line}");
}

pub fn failed(line: &str) {
    eprintln!("✘ {line}");
}

/// An indented detail under the last status line.
pub fn note(line: &str) {
    eprintln!("  {line}");
}

pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
