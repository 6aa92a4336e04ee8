//! `cargo xtask package` as CI runs it: real cargo-lambda, real zig, real binaries. The zips
//! must hold exactly an executable `bootstrap` and the project's `temporal.toml`, and each
//! bootstrap must start on `provided.al2023` (its CPU, glibc ≤ 2.34) — checked here again, from
//! the zip, by the same rules `package` applies. x86_64 must build; arm64 is tried, and where its
//! Rust target cannot be had it must be refused with the command that fixes that.
//!
//! The build uses the `lambda` profile (release code, no LTO). It is the slowest test of xtask:
//! the first run compiles the SDK for a new target; later runs reuse `target/`.

#[path = "../src/glibc.rs"]
#[allow(dead_code)] // shared with the xtask binary, which uses all of it
mod glibc;

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

fn zip_path(function: &str, arch: &str) -> PathBuf {
    devstack::target_dir()
        .join("lambda")
        .join(format!("{function}-{arch}.zip"))
}

fn package(arch: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["package", "--arch", arch])
        .output()
        .unwrap()
}

#[test]
fn packages_both_functions_for_x86_64() {
    let out = package("x86_64");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo xtask package failed:\n{stderr}"
    );
    eprintln!("{stderr}");
    check_zips("x86_64", glibc::Machine::X86_64, &stderr);
}

/// CI tries arm64 too. Where the aarch64 standard library can be had (installed, or added by the
/// `rustup target add` that `package` tries), both zips must hold AArch64 binaries that start on
/// `provided.al2023`; where it cannot, `package` must fail before building anything and name the
/// command that fixes it. Either way the arm64 path ran. (Cold, the arm64 build takes about as
/// long as the x86_64 one: docs/aws.md, "Numbers".)
#[test]
fn packages_arm64_or_says_how_to_get_its_target() {
    let target = "aarch64-unknown-linux-gnu";
    let out = package("arm64");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    if out.status.success() {
        check_zips("arm64", glibc::Machine::Aarch64, &stderr);
        return;
    }
    assert!(
        stderr.contains("cannot package arm64")
            && stderr.contains(&format!("rustup target add {target}")),
        "arm64 failed without saying how to get its target:\n{stderr}"
    );
    // ...and only because the target really is missing.
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    assert!(
        !sysroot
            .join("lib/rustlib")
            .join(target)
            .join("lib")
            .is_dir(),
        "{target} is installed, yet arm64 was refused:\n{stderr}"
    );
}

/// Both zips of `arch`: exactly an executable `bootstrap` for `machine` within AL2023's glibc,
/// and the project's `temporal.toml`; and `package` said so.
fn check_zips(arch: &str, machine: glibc::Machine, stderr: &str) {
    let config = std::fs::read(devstack::workspace_root().join("temporal.toml")).unwrap();
    for function in ["ingest-fn", "worker-fn"] {
        let path = zip_path(function, arch);
        assert!(
            stderr.contains(&format!("{function} ({arch}) fits provided.al2023")),
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
        // `check` refuses a binary for another CPU: an x86_64 bootstrap in the arm64 zip fails here.
        let newest = needs.check(machine, glibc::AL2023_GLIBC).unwrap();
        eprintln!(
            "{function} ({arch}): {} bytes, needs glibc {newest:?}",
            binary.len()
        );

        let mut shipped = Vec::new();
        zip.by_name("temporal.toml")
            .unwrap()
            .read_to_end(&mut shipped)
            .unwrap();
        assert_eq!(shipped, config);
    }
}
