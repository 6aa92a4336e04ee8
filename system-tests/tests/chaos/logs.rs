//! What the chaos run reads back from log files, for its summary and its deadline check: how
//! each Lambda invocation ended and how long it ran (the worker's EMF records), and how many
//! faults the storefront injected (its per-request log lines).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One finished Lambda invocation, from the EMF record `worker-fn` prints as it ends.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `deadline`, `idle`, `shutdown`, ...
    pub end_reason: String,
    pub duration: Duration,
}

/// Every finished invocation in the function's log. The emulator writes each line of the
/// function's output there as `[shopflow-worker <requestId>] <line>`.
pub fn invocations(function_log: &Path) -> Vec<Invocation> {
    let text = std::fs::read_to_string(function_log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (_, json) = line.split_once("] ")?;
            let record: serde_json::Value = serde_json::from_str(json).ok()?;
            record.get("_aws")?;
            Some(Invocation {
                end_reason: record["EndReason"].as_str()?.to_owned(),
                duration: Duration::from_secs_f64(record["InvocationTime"].as_f64()? / 1000.0),
            })
        })
        .collect()
}

/// The storefront's log from a given point on. The file is named after the port and appended to,
/// so an earlier run on the same port may have written to it: only what follows the offset taken
/// at the start counts.
pub struct ShopLog {
    path: PathBuf,
    offset: u64,
}

/// Counts from the storefront's request log.
#[derive(Debug, Default)]
pub struct ShopRequests {
    pub total: usize,
    /// 503 `injected-fault`: an injected error, or an injected lost response.
    pub injected_faults: usize,
    /// Answered from the idempotency store: a retry of a request already processed.
    pub replayed: usize,
}

impl ShopLog {
    /// The log of the storefront at `shop_url`, from its current end on.
    pub fn from_now(shop_url: &str) -> ShopLog {
        let port = shop_url.rsplit(':').next().expect("shop URL has a port");
        let path = devstack::paths::logs_dir().join(format!("storefront-{port}.log"));
        let offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        ShopLog { path, offset }
    }

    pub fn requests(&self) -> ShopRequests {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.path) {
            let _ = file
                .seek(SeekFrom::Start(self.offset))
                .and_then(|_| file.read_to_string(&mut text));
        }
        let mut counts = ShopRequests::default();
        for line in text
            .lines()
            .map(strip_ansi)
            .filter(|l| l.contains(" request ") && l.contains("status="))
        {
            counts.total += 1;
            counts.injected_faults += usize::from(line.contains("status=503"));
            counts.replayed += usize::from(line.contains("replayed=true"));
        }
        counts
    }
}

/// The storefront colours its log (`tracing`'s terminal format): drop the escape sequences so
/// `status=503` reads as one word.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in '@'..='~'.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped() {
        let line = "\u{1b}[2m2026\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m request \u{1b}[3mstatus\u{1b}[0m\u{1b}[2m=\u{1b}[0m503";
        assert_eq!(strip_ansi(line), "2026  WARN request status=503");
    }
}
