//! The reusable libraries as a crates.io user would get them. `cargo package` packs
//! `temporal-aws-config` and `temporal-lambda-worker` and builds each from its package alone
//! (with only the dependency features it asks for itself, not the workspace's unified set),
//! so a crate that compiles here only thanks to a neighbour's features fails this test. The
//! packages must carry their README and license and name nothing of this project.
//!
//! Slow on a cold machine (the SDK is compiled again for the libraries' own feature set, about
//! four minutes on two cores), so it runs alone (`.config/nextest.toml`).

use std::path::Path;
use std::process::Command;

const LIBRARIES: [&str; 2] = ["temporal-aws-config", "temporal-lambda-worker"];

/// Every file under `dir`, recursively.
fn files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn the_reusable_libraries_package_and_build_on_their_own() {
    let root = devstack::workspace_root();
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // `--allow-dirty`: what is tested is the package, not whether the working tree is committed.
    cargo.args(["package", "--allow-dirty"]).current_dir(&root);
    for library in LIBRARIES {
        cargo.args(["-p", library]);
    }
    let out = cargo.output().expect("running cargo package");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo package failed:\n{stderr}");

    let version = env!("CARGO_PKG_VERSION"); // the workspace's, which both libraries share
    for library in LIBRARIES {
        let unpacked = devstack::target_dir()
            .join("package")
            .join(format!("{library}-{version}"));
        let mut packaged = Vec::new();
        files(&unpacked, &mut packaged);
        for required in ["README.md", "LICENSE", "Cargo.toml"] {
            assert!(
                unpacked.join(required).is_file(),
                "{library}'s package has no {required}"
            );
        }
        for file in &packaged {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            let lower = text.to_lowercase();
            for name in ["shopflow", "storefront", "worker-fn", "ingest-fn"] {
                assert!(
                    !lower.contains(name),
                    "{} names {name:?}: a library for other projects should not",
                    file.display()
                );
            }
        }
    }
}
