//! The crate graph says what the system is (`docs/architecture.md`), checked with `cargo tree`
//! over normal (non-dev) dependencies: the domain and the long-lived binaries link no Lambda
//! crate, nothing depends on an entry point, and the reusable libraries depend on no ShopFlow
//! crate they do not need.

use std::collections::BTreeSet;
use std::process::Command;

const LAMBDA_CRATES: [&str; 3] = ["lambda_runtime", "lambda_http", "lambda-extension"];
const ENTRY_POINTS: [&str; 5] = [
    "ingest-fn",
    "worker-fn",
    "local-worker",
    "storefront",
    "push-events",
];

/// The names of every package `package` links (itself included), normal dependencies only.
fn links(package: &str) -> BTreeSet<String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree", "-e", "normal", "--prefix", "none", "-f", "{p}", "-p", package,
        ])
        .current_dir(devstack::workspace_root())
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn only_lambda_functions_link_a_lambda_runtime() {
    for package in [
        "shared",
        "local-worker",
        "storefront",
        "push-events",
        "devstack",
        "xtask",
        "temporal-aws-config",
        "aws-clients",
    ] {
        let linked = links(package);
        for lambda in LAMBDA_CRATES {
            assert!(
                !linked.contains(lambda),
                "{package} links {lambda}: see docs/architecture.md"
            );
        }
    }
    // And the functions do (the check has teeth).
    assert!(links("ingest-fn").contains("lambda_runtime"));
    assert!(links("worker-fn").contains("lambda-extension"));
}

#[test]
fn the_domain_links_no_aws_sdk() {
    let linked = links("shared");
    let aws: Vec<&String> = linked
        .iter()
        .filter(|p| p.starts_with("aws-sdk-") || *p == "aws-config")
        .collect();
    assert!(aws.is_empty(), "shared links {aws:?}");
}

#[test]
fn nothing_depends_on_an_entry_point() {
    let workspace = [
        "shared",
        "ingest-fn",
        "worker-fn",
        "local-worker",
        "storefront",
        "push-events",
        "devstack",
        "xtask",
        "lambda-emulator",
        "temporal-lambda-worker",
        "temporal-aws-config",
        "aws-clients",
    ];
    for package in workspace {
        let linked = links(package);
        for entry in ENTRY_POINTS.iter().filter(|e| **e != package) {
            assert!(
                !linked.contains(*entry),
                "{package} depends on the entry point {entry}"
            );
        }
    }
}

#[test]
fn reusable_libraries_stand_alone() {
    let shopflow = ["shared", "devstack", "ingest-fn", "worker-fn", "storefront"];
    for (library, allowed) in [
        ("temporal-lambda-worker", &["temporal-aws-config"][..]),
        ("lambda-emulator", &[][..]),
        ("temporal-aws-config", &[][..]),
    ] {
        let linked = links(library);
        for crate_ in shopflow.iter().chain(["aws-clients"].iter()) {
            if !allowed.contains(crate_) {
                assert!(!linked.contains(*crate_), "{library} depends on {crate_}");
            }
        }
    }
}
