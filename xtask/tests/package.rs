//! `cargo xtask package` as CI runs it: real cargo-lambda, real zig, real binaries. The zips
//! must hold exactly an executable `bootstrap` and the project's `temporal.toml`, and each
//! bootstrap must start on `provided.al2023` (x86_64, glibc ≤ 2.34) — checked here again, from
//! the zip, by the same rules `package` applies.
//!
//! The build uses the `lambda` profile (release code, no LTO). It is the slowest test of xtask:
//! the first run compiles the SDK for a new target; later runs reuse `target/`.

#[path = "../src/glibc.rs"]
#[allow(dead_code)] // shared with the xtask binary, which uses all of it
mod glibc;

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

fn zip_path(function: &str) -> PathBuf {
    devstack::target_dir()
        .join("lambda")
        .join(format!("{function}-x86_64.zip"))
}

#[test]
fn packages_both_functions_for_x86_64() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["package", "--arch", "x86_64"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo xtask package failed:\n{stderr}"
    );
    eprintln!("{stderr}");

    let config = std::fs::read(devstack::workspace_root().join("temporal.toml")).unwrap();
    for function in ["ingest-fn", "worker-fn"] {
        let path = zip_path(function);
        assert!(
            stderr.contains(&format!("{function} (x86_64) fits provided.al2023")),
            "{stderr}"
        );
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let names: Vec<_> = zip.file_names().map(str::to_owned).collect();
        assert_eq!(names, ["bootstrap", "temporal.toml"], "{}", path.display());

        let mut bootstrap = zip.by_name("bootstrap").unwrap();
        let mode = bootstrap
            .unix_mode()
            .expect("bootstrap carries unix permissions");
        assert_eq!(mode & 0o111, 0o111, "bootstrap is not executable: {mode:o}");
        let mut binary = Vec::new();
        bootstrap.read_to_end(&mut binary).unwrap();
        drop(bootstrap);
        let needs = glibc::requirements(&binary).unwrap();
        let newest = needs
            .check(glibc::Machine::X86_64, glibc::AL2023_GLIBC)
            .unwrap();
        eprintln!("{function}: {} bytes, needs glibc {newest:?}", binary.len());

        let mut shipped = Vec::new();
        zip.by_name("temporal.toml")
            .unwrap()
            .read_to_end(&mut shipped)
            .unwrap();
        assert_eq!(shipped, config);
    }
}
