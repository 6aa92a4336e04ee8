//! The process environment as setup sees it, passed in rather than read where it is used.
//!
//! Setup reads a handful of variables (`TEMPORAL_TASK_QUEUE`, `AWS_LAMBDA_FUNCTION_NAME`, the
//! `temporal.toml` location, every `TEMPORAL_*` setting and secret name). Taking them as a value
//! — as Go's lambdaworker takes a `getenv` in its `workerDeps` — lets each test describe its own
//! environment without touching the process's, which tests running in parallel share.

use std::collections::HashMap;

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// The variables of this process (those that are UTF-8).
    pub(crate) fn from_process() -> Self {
        Self {
            vars: temporal_aws_config::process_env(),
        }
    }

    /// An environment of exactly these variables (what a test describes).
    #[cfg(test)]
    pub(crate) fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value, trimmed; `None` when unset or blank (an empty variable in a SAM
    /// template or a shell means "not set").
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every variable, for the SDK's envconfig.
    pub(crate) fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_means_unset() {
        let env = Environment::from_vars([("A", " x "), ("B", "  "), ("C", "")]);
        assert_eq!(env.get("A"), Some("x"));
        assert_eq!(env.get("B"), None);
        assert_eq!(env.get("C"), None);
        assert_eq!(env.get("D"), None);
    }
}
