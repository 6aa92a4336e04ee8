//! Where `temporal.toml` is: the file shipped in a function's zip is found without configuration.
//!
//! The SDK looks at `TEMPORAL_CONFIG_FILE`, else in the user's config directory — which does not
//! exist in Lambda. A zip puts the file next to `bootstrap`, in `$LAMBDA_TASK_ROOT`; a checkout
//! has it at the root, where the binaries run from.

use std::path::PathBuf;

/// The variable that names the file explicitly (the SDK's).
pub const ENV_CONFIG_FILE: &str = "TEMPORAL_CONFIG_FILE";
/// Lambda's variable for where the function's zip is unpacked.
pub const ENV_LAMBDA_TASK_ROOT: &str = "LAMBDA_TASK_ROOT";
/// The file's name.
pub const CONFIG_FILE_NAME: &str = "temporal.toml";

/// `TEMPORAL_CONFIG_FILE`, else `$LAMBDA_TASK_ROOT/temporal.toml`, else `./temporal.toml`.
pub fn config_file_path(getenv: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(file) = getenv(ENV_CONFIG_FILE).filter(|f| !f.is_empty()) {
        return PathBuf::from(file);
    }
    let root = getenv(ENV_LAMBDA_TASK_ROOT)
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| ".".to_owned());
    PathBuf::from(root).join(CONFIG_FILE_NAME)
}

/// The `temporal.toml` to load for this process (see [`config_file_path`]): an explicit
/// `TEMPORAL_CONFIG_FILE` always (a missing file is then an error, not a silent fallback),
/// otherwise the task-root or working-directory file if it exists; `None` leaves the SDK's own
/// default location and the `TEMPORAL_*` variables.
pub fn config_file() -> Option<PathBuf> {
    config_file_in(|k| std::env::var(k).ok())
}

/// [`config_file`] in the environment `getenv` describes.
pub fn config_file_in(getenv: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let explicit = getenv(ENV_CONFIG_FILE).is_some_and(|f| !f.is_empty());
    let path = config_file_path(getenv);
    (explicit || path.is_file()).then_some(path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn config_file_lookup_order() {
        assert_eq!(
            config_file_path(env(&[
                ("TEMPORAL_CONFIG_FILE", "/x.toml"),
                ("LAMBDA_TASK_ROOT", "/var/task")
            ])),
            PathBuf::from("/x.toml")
        );
        assert_eq!(
            config_file_path(env(&[("LAMBDA_TASK_ROOT", "/var/task")])),
            PathBuf::from("/var/task/temporal.toml")
        );
        assert_eq!(config_file_path(env(&[])), PathBuf::from("./temporal.toml"));
        assert_eq!(
            config_file_path(env(&[("TEMPORAL_CONFIG_FILE", "")])),
            PathBuf::from("./temporal.toml")
        );
    }
}
