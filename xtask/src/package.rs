//! `cargo xtask package`: the Lambda zips that `template.yaml` deploys.
//!
//! For each architecture asked for, both functions (`ingest-fn`, `worker-fn`) are built with
//! cargo-lambda and zipped as `target/lambda/<binary>-<arch>.zip`, holding exactly
//! `bootstrap` (the binary, mode 0755: `provided.al2023` executes it) and `temporal.toml` (found
//! through `$LAMBDA_TASK_ROOT`; profiles only, never secrets). Then each binary is checked
//! against `provided.al2023` (see [`crate::glibc`]) and the sizes are printed.
//!
//! * **cargo-lambda** comes from PyPI with its zig linker, pinned, into
//!   `.shopflow/venvs/cargo-lambda` (devstack's venv helper). Zig links against glibc 2.34 (the
//!   `.2.34` target suffix) whatever this machine's glibc is, and cross-links arm64 with no
//!   cross toolchain.
//! * **One target dir**: cargo-lambda builds in the workspace's `target/` (per-triple folders,
//!   so it never invalidates the host build) and puts the binaries in
//!   `target/lambda/<arch>/<binary>/bootstrap`.
//! * **Profile** `lambda` by default (see the root `Cargo.toml`): release code without LTO builds
//!   in minutes on two cores; `--profile release` for the smallest binary.
//! * **arm64** needs the Rust standard library for `aarch64-unknown-linux-gnu`. If it is
//!   missing, one `rustup target add` is tried; if that fails too, `--arch all` packages x86_64
//!   and says so, `--arch arm64` fails.
//! * Zips are reproducible: fixed entry order, timestamps and modes, so the same code gives the
//!   same bytes and CloudFormation sees no change to deploy.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use crate::glibc::{self, AL2023_GLIBC, Machine};
use crate::tools::CARGO_LAMBDA;
use crate::ui;

/// The workspace binaries that become Lambda functions (`Metadata.BuildProperties.Binary`).
pub const FUNCTIONS: [&str; 2] = ["ingest-fn", "worker-fn"];

/// Every zip holds these two entries, in this order.
pub const BOOTSTRAP: &str = "bootstrap";
pub const CONFIG_FILE: &str = "temporal.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchChoice {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
    All,
}

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

impl Arch {
    /// The name Lambda and `template.yaml`'s `Architecture` parameter use.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    fn machine(self) -> Machine {
        match self {
            Arch::X86_64 => Machine::X86_64,
            Arch::Arm64 => Machine::Aarch64,
        }
    }
}

#[derive(Args)]
pub struct PackageArgs {
    /// Architectures to package: `all` packages arm64 only where its Rust target can be had.
    #[arg(long, value_enum, default_value = "x86_64")]
    pub arch: ArchChoice,
    /// Cargo profile: `lambda` (fast build) or `release` (thin LTO: smaller, slower to build).
    #[arg(long, default_value = "lambda")]
    pub profile: String,
}

/// One zip written.
#[derive(Debug)]
pub struct Package {
    pub function: &'static str,
    pub arch: Arch,
    pub zip: PathBuf,
    pub binary_bytes: u64,
    pub zip_bytes: u64,
}

pub fn run(args: PackageArgs) -> Result<std::process::ExitCode> {
    let (arches, required) = match args.arch {
        ArchChoice::X86_64 => (vec![Arch::X86_64], true),
        ArchChoice::Arm64 => (vec![Arch::Arm64], true),
        ArchChoice::All => (vec![Arch::X86_64, Arch::Arm64], false),
    };
    let mut packaged = Vec::new();
    for arch in arches {
        if let Err(why) = ensure_rust_target(arch) {
            if required {
                bail!("cannot package {}: {why}", arch.lambda_name());
            }
            ui::failed(&format!("skipping {}: {why}", arch.lambda_name()));
            continue;
        }
        packaged.extend(package(arch, &args.profile)?);
    }
    for p in &packaged {
        ui::note(&format!(
            "{} ({}): {} ({}, bootstrap {})",
            p.function,
            p.arch.lambda_name(),
            relative(&p.zip).display(),
            mib(p.zip_bytes),
            mib(p.binary_bytes)
        ));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Builds, zips and checks both functions for `arch`.
pub fn package(arch: Arch, profile: &str) -> Result<Vec<Package>> {
    let root = devstack::workspace_root();
    let lambda_dir = lambda_dir().join(arch.lambda_name());
    let tool = ui::step(&format!("{} ready", CARGO_LAMBDA.requirement), || {
        CARGO_LAMBDA.ensure()
    })?;

    let label = format!(
        "cargo lambda build --profile {profile} ({})",
        arch.lambda_name()
    );
    let finished = ui::streamed(&label);
    let status = cargo_lambda_build(&tool, arch, profile, &lambda_dir)
        .status()
        .context("running cargo lambda build")?;
    finished(status.success());
    if !status.success() {
        bail!("cargo lambda build failed ({status})");
    }

    let config =
        fs::read(root.join(CONFIG_FILE)).with_context(|| format!("reading {CONFIG_FILE}"))?;
    FUNCTIONS
        .iter()
        .map(|&function| {
            let binary_path = lambda_dir.join(function).join(BOOTSTRAP);
            let binary = fs::read(&binary_path)
                .with_context(|| format!("reading {}", binary_path.display()))?;
            let needs = glibc::requirements(&binary).map_err(anyhow::Error::msg)?;
            let newest = needs.check(arch.machine(), AL2023_GLIBC).map_err(|why| {
                anyhow::anyhow!(
                    "{function} ({}) would not start on provided.al2023: {why}",
                    arch.lambda_name()
                )
            })?;
            ui::ok(&format!(
                "{function} ({}) fits provided.al2023: needs glibc {} ≤ {AL2023_GLIBC}",
                arch.lambda_name(),
                newest.map_or_else(|| "nothing (static)".to_owned(), |v| v.to_string())
            ));
            let zip = zip_path(function, arch);
            write_zip(&zip, &binary, &config)?;
            Ok(Package {
                function,
                arch,
                binary_bytes: binary.len() as u64,
                zip_bytes: fs::metadata(&zip)?.len(),
                zip,
            })
        })
        .collect()
}

/// `target/lambda`: cargo-lambda's output folder, in the workspace's target dir.
pub fn lambda_dir() -> PathBuf {
    devstack::target_dir().join("lambda")
}

/// `target/lambda/<binary>-<arch>.zip`.
pub fn zip_path(function: &str, arch: Arch) -> PathBuf {
    lambda_dir().join(format!("{function}-{}.zip", arch.lambda_name()))
}

fn cargo_lambda_build(tool: &Path, arch: Arch, profile: &str, lambda_dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // `cargo lambda` finds `cargo-lambda`, and cargo-lambda finds zig (`python -m ziglang`),
    // through the venv's bin folder.
    let venv_bin = tool.join("bin");
    let path = std::env::join_paths(
        std::iter::once(venv_bin).chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        ),
    )
    .expect("PATH entries are joinable");
    cmd.env("PATH", path)
        .current_dir(devstack::workspace_root())
        .args(["lambda", "build", "--profile", profile, "--target"])
        // The `.2.34` suffix makes zig link against AL2023's glibc (see `crate::glibc`).
        .arg(format!(
            "{}.{}.{}",
            arch.rust_target(),
            AL2023_GLIBC.0,
            AL2023_GLIBC.1
        ))
        .arg("--lambda-dir")
        .arg(lambda_dir);
    for function in FUNCTIONS {
        cmd.args(["--bin", function]);
    }
    cmd
}

/// The Rust standard library for `arch` is installed, or is installed now by rustup.
fn ensure_rust_target(arch: Arch) -> Result<(), String> {
    let has_target = || {
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            .is_some_and(|sysroot| {
                sysroot
                    .join("lib/rustlib")
                    .join(arch.rust_target())
                    .join("lib")
                    .is_dir()
            })
    };
    if has_target() {
        return Ok(());
    }
    let target = arch.rust_target();
    let tried = Command::new("rustup")
        .args(["target", "add", target])
        .output();
    match tried {
        Ok(out) if out.status.success() && has_target() => Ok(()),
        Ok(out) => Err(format!(
            "the Rust target {target} is not installed and `rustup target add {target}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("no output")
        )),
        Err(e) => Err(format!(
            "the Rust target {target} is not installed and rustup cannot run ({e})"
        )),
    }
}

/// Writes `bootstrap` (0755) and `temporal.toml` (0644) into `path`, reproducibly.
pub fn write_zip(path: &Path, bootstrap: &[u8], config: &[u8]) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let tmp = path.with_extension("zip.tmp");
    let file = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, mode, data) in [(BOOTSTRAP, 0o755, bootstrap), (CONFIG_FILE, 0o644, config)] {
        zip.start_file(name, options.unix_permissions(mode))?;
        zip.write_all(data)?;
    }
    zip.finish()?;
    // Rename last, so a reader never sees half a zip under the final name.
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix(devstack::workspace_root())
        .unwrap_or(path)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-package-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn zips_hold_exactly_bootstrap_and_config_and_are_reproducible() {
        let dir = scratch("zip");
        let (a, b) = (dir.join("a.zip"), dir.join("b.zip"));
        write_zip(&a, b"\x7fELF binary", b"[profile.cloud]\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100)); // a clock tick that must not show
        write_zip(&b, b"\x7fELF binary", b"[profile.cloud]\n").unwrap();
        assert_eq!(
            fs::read(&a).unwrap(),
            fs::read(&b).unwrap(),
            "same input, same bytes"
        );
        assert!(!a.with_extension("zip.tmp").exists());

        let mut zip = zip::ZipArchive::new(fs::File::open(&a).unwrap()).unwrap();
        let names: Vec<_> = zip.file_names().map(str::to_owned).collect();
        assert_eq!(names, [BOOTSTRAP, CONFIG_FILE]);
        let bootstrap = zip.by_name(BOOTSTRAP).unwrap();
        assert_eq!(bootstrap.unix_mode().map(|m| m & 0o777), Some(0o755));
        drop(bootstrap);
        assert_eq!(
            zip.by_name(CONFIG_FILE)
                .unwrap()
                .unix_mode()
                .map(|m| m & 0o777),
            Some(0o644)
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn arches_name_their_targets() {
        assert_eq!(
            (Arch::X86_64.lambda_name(), Arch::X86_64.rust_target()),
            ("x86_64", "x86_64-unknown-linux-gnu")
        );
        assert_eq!(
            (Arch::Arm64.lambda_name(), Arch::Arm64.rust_target()),
            ("arm64", "aarch64-unknown-linux-gnu")
        );
        assert!(zip_path("worker-fn", Arch::Arm64).ends_with("lambda/worker-fn-arm64.zip"));
    }
}
