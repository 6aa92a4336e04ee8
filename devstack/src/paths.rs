//! Where the local stack keeps its files.
//!
//! Everything the stack installs or writes lives under one folder, `<workspace root>/.shopflow/`
//! (gitignored), so a `rm -rf .shopflow` is a full reset and nothing leaks into `$HOME`.
//! `SHOPFLOW_HOME` moves that folder elsewhere (a shared cache on CI, say).

use std::path::{Path, PathBuf};

/// The workspace root: the nearest ancestor holding a `Cargo.toml` with a `[workspace]` table.
///
/// The search starts at this crate's manifest directory, which is baked in at compile time and is
/// therefore right for every binary and test of the workspace whatever their current directory;
/// should that tree have moved since the build, the current directory is tried next.
pub fn workspace_root() -> PathBuf {
    let compiled_in = Path::new(env!("CARGO_MANIFEST_DIR"));
    find_workspace_root(compiled_in)
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|d| find_workspace_root(&d))
        })
        .unwrap_or_else(|| compiled_in.parent().unwrap_or(compiled_in).to_path_buf())
}

/// Walks up from `start` to the first directory whose `Cargo.toml` declares `[workspace]`.
pub fn find_workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        manifest
            .lines()
            .any(|line| line.trim() == "[workspace]")
            .then(|| dir.to_path_buf())
    })
}

/// `.shopflow/` under the workspace root, or `$SHOPFLOW_HOME` when set.
pub fn shopflow_home() -> PathBuf {
    match std::env::var_os("SHOPFLOW_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => workspace_root().join(".shopflow"),
    }
}

/// Python virtual environments, one per tool.
pub fn venvs_dir() -> PathBuf {
    shopflow_home().join("venvs")
}

/// State of running services (LocalStack's volume dir, optional Temporal databases).
pub fn data_dir() -> PathBuf {
    shopflow_home().join("data")
}

/// Service and installer logs.
pub fn logs_dir() -> PathBuf {
    shopflow_home().join("logs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_workspace() {
        let root = workspace_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
        assert!(root.join("devstack").is_dir());
    }

    #[test]
    fn a_member_manifest_is_not_a_workspace() {
        let root = find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert_ne!(root, Path::new(env!("CARGO_MANIFEST_DIR")));
    }

    #[test]
    fn no_workspace_above_the_filesystem_root() {
        assert_eq!(find_workspace_root(Path::new("/proc/self")), None);
    }
}
