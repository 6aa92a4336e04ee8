//! Where function output goes: each line a function writes to stdout or stderr is forwarded to
//! the emulator's stdout, prefixed with the function name and the request id it belongs to (as
//! CloudWatch Logs would group it), and optionally appended to a per-function log file.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

pub(crate) struct LogSink {
    dir: Option<PathBuf>,
    to_stderr: bool,
    files: Mutex<HashMap<String, File>>,
}

impl LogSink {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            to_stderr: false,
            files: Mutex::default(),
        }
    }

    /// Forwards to stderr instead of stdout (a one-shot `invoke` keeps stdout for the answer).
    pub(crate) fn forwarding_to_stderr(mut self, yes: bool) -> Self {
        self.to_stderr = yes;
        self
    }

    /// Writes one line of `function`'s output. Failures to write a log file are reported once
    /// per line through tracing and never fail the invocation.
    pub(crate) fn line(&self, function: &str, request_id: Option<&str>, line: &str) {
        let prefixed = format!("[{function} {}] {line}\n", request_id.unwrap_or("-"));
        if self.to_stderr {
            let _ = std::io::stderr().lock().write_all(prefixed.as_bytes());
        } else {
            let _ = std::io::stdout().lock().write_all(prefixed.as_bytes());
        }
        let Some(dir) = &self.dir else { return };
        let mut files = self.files.lock().expect("log files lock");
        let file = match files.get_mut(function) {
            Some(file) => file,
            None => {
                let opened = std::fs::create_dir_all(dir).and_then(|()| {
                    File::options()
                        .create(true)
                        .append(true)
                        .open(dir.join(format!("{function}.log")))
                });
                match opened {
                    Ok(file) => files.entry(function.to_owned()).or_insert(file),
                    Err(error) => {
                        tracing::warn!(%error, function, "cannot open the function's log file");
                        return;
                    }
                }
            }
        };
        if let Err(error) = file.write_all(prefixed.as_bytes()) {
            tracing::warn!(%error, function, "cannot write the function's log file");
        }
    }
}
