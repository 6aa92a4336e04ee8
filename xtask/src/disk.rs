//! Disk space: what a test run needs, what it used.
//!
//! A clean `cargo xtask test` writes tens of GiB under `target/` (clippy's metadata, the debug
//! build, the tests, two cross-built release profiles). Machines of this kind share their disk, so
//! a run that starts with too little free space dies an hour later in the linker with "No space
//! left on device" (a CI run did). Saying so before the build, and printing the footprint at the
//! end, turns that into a line anyone can act on.

use std::path::Path;

use nix::sys::statvfs::statvfs;

use crate::ui;

/// Below this much free space a clean run is likely to fail: the footprint measured for a clean
/// `cargo xtask test` (see `report`), with margin.
const FREE_SPACE_NEEDED: u64 = 20 << 30;

/// Free bytes on the filesystem holding `path`, for an unprivileged writer.
fn free_bytes(path: &Path) -> Option<u64> {
    let stat = statvfs(path).ok()?;
    Some(stat.blocks_available() * stat.fragment_size())
}

/// Bytes under `dir` (files only, symlinks not followed).
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => size_of(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Warns before a build when the target directory's filesystem has less than a clean run needs.
pub fn warn_if_short(target_dir: &Path) {
    let probe = if target_dir.exists() {
        target_dir
    } else {
        target_dir.parent().unwrap_or(target_dir)
    };
    if let Some(free) = free_bytes(probe)
        && free < FREE_SPACE_NEEDED
    {
        ui::note(&format!(
            "only {} free on {}; a clean test run writes up to ~{} (`cargo clean` frees old builds)",
            gib(free),
            probe.display(),
            gib(FREE_SPACE_NEEDED)
        ));
    }
}

/// One line with the target directory's size and the space left, after a run.
pub fn report(target_dir: &Path) {
    let free = free_bytes(target_dir).map_or_else(|| "?".to_owned(), gib);
    ui::note(&format!(
        "disk: {} under {}, {free} free",
        gib(size_of(target_dir)),
        target_dir.display()
    ));
}
