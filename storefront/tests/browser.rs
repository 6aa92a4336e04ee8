//! The storefront page and the dashboard in a real browser: headless Chromium (Debian's
//! `chromium`) driven by `playwright-core` under node's own test runner, against a real stack —
//! Temporal, ingest-fn in the Lambda emulator, this storefront, a local worker.
//!
//! The scenarios live in `storefront/browser-tests/` (JavaScript, since that is what drives a
//! browser); this test makes a fresh machine ready for them (installs Chromium with apt when it
//! is missing — CI runs as root — and the pinned npm packages with `npm ci`), starts the stack,
//! runs `node --test` and fails with its whole output. Screenshots of each page land in
//! `target/shopflow/screenshots/`.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::{Stack, StackOptions};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The whole browser run: installs, stack start and the scenarios (each order waits ≤ 90 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread")]
async fn the_page_and_the_dashboard_work_in_headless_chromium() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser-tests");
    tokio::time::timeout(RUN_TIMEOUT, async {
        ensure_chromium().await;
        ensure_node().await;
        run_checked(
            command("npm", &["ci", "--no-audit", "--no-fund"]).current_dir(&project),
            "npm ci",
        )
        .await;

        // The demo's serverless moment: the local worker is stopped (Ctrl+C), so the orders the
        // browser places run on Lambda workers the Worker Controller invokes — and the dashboard
        // must say so. (The local-worker path is covered by the `web` API tests.)
        let mut stack = Stack::start_with(StackOptions {
            lambda_worker: true,
            ..StackOptions::default()
        })
        .await;
        stack.stop_local_worker();
        let screenshots = devstack::target_dir().join("shopflow").join("screenshots");
        let output = command("node", &["--test"])
            .current_dir(&project)
            .env("SHOPFLOW_URL", &stack.shop.url)
            .env("SCREENSHOT_DIR", &screenshots)
            .env("CHROMIUM", CHROMIUM)
            .env("SHOPFLOW_WORKER", "lambda")
            .output()
            .await
            .expect("running node --test");
        assert!(
            output.status.success(),
            "browser scenarios failed ({}):\n{}",
            output.status,
            both(&output)
        );
        for page in [
            "shop-catalog",
            "shop-in-progress",
            "shop-completed",
            "shop-compensated",
            "dashboard",
        ] {
            let file = screenshots.join(format!("{page}.png"));
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert!(size > 0, "no screenshot at {}", file.display());
        }
        println!("{}", both(&output));
    })
    .await
    .expect("the browser test did not finish within 10 minutes");
}

/// Debian's Chromium; installed with apt when missing (needs root, which CI has).
async fn ensure_chromium() {
    if Path::new(CHROMIUM).is_file() {
        return;
    }
    let install = || {
        command(
            "apt-get",
            &["install", "-y", "--no-install-recommends", "chromium"],
        )
    };
    let first = install()
        .output()
        .await
        .expect("running apt-get (Chromium is missing)");
    if !first.status.success() {
        // A fresh machine may have no package lists yet.
        run_checked(&mut command("apt-get", &["update"]), "apt-get update").await;
        run_checked(&mut install(), "apt-get install chromium").await;
    }
    assert!(
        Path::new(CHROMIUM).is_file(),
        "apt installed chromium, but {CHROMIUM} is missing"
    );
}

/// playwright-core's minimum node major version.
const MIN_NODE_MAJOR: u32 = 20;

/// node ≥ 20 with npm (playwright-core's minimum); installed with apt when missing. An older node
/// (Debian bookworm's apt has 18) fails here with what to do, not later inside playwright.
async fn ensure_node() {
    let works = |name: &'static str| async move {
        command(name, &["--version"])
            .output()
            .await
            .is_ok_and(|o| o.status.success())
    };
    if !(works("node").await && works("npm").await) {
        run_checked(&mut command("apt-get", &["update"]), "apt-get update").await;
        run_checked(
            &mut command(
                "apt-get",
                &["install", "-y", "--no-install-recommends", "nodejs", "npm"],
            ),
            "apt-get install nodejs npm",
        )
        .await;
    }
    let version = run_checked(&mut command("node", &["--version"]), "node --version").await;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    assert!(
        node_major(&version).is_some_and(|major| major >= MIN_NODE_MAJOR),
        "node {version} is too old: playwright-core needs node {MIN_NODE_MAJOR} or newer \
         (install it from https://nodejs.org or NodeSource, then run the tests again)"
    );
}

/// `v20.20.2` → 20.
fn node_major(version: &str) -> Option<u32> {
    version
        .trim()
        .strip_prefix('v')?
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[test]
fn node_versions_are_read_by_major() {
    assert_eq!(node_major("v20.20.2\n"), Some(20));
    assert_eq!(node_major("v18.19.0"), Some(18));
    assert_eq!(node_major("20.1.0"), None);
    assert_eq!(node_major("vx"), None);
}

fn command(program: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

async fn run_checked(command: &mut tokio::process::Command, what: &str) -> Output {
    let output = command
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        both(&output)
    );
    output
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
