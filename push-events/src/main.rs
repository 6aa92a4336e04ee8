//! `push-events`: sends order events to an SQS queue in concurrent batches of 10 (files from
//! `events/`, or N generated orders with a chosen share invalid or duplicated), and signs
//! `POST /orders` bodies for `curl`. Locally the queue is on LocalStack (`--endpoint` or
//! `AWS_ENDPOINT_URL_SQS`), in AWS it is SQS with the usual credentials.

mod cli;
mod generate;
mod send;
mod sign;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use indicatif::ProgressBar;

use cli::{Cli, Command, Target};
use generate::{Kind, generate};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Sign {
            body_file,
            secret,
            url,
        } => print!("{}", sign::sign(&body_file, &secret, url.as_deref())?),
        Command::Files { target, paths } => {
            let bodies = read_bodies(&paths)?;
            eprintln!("{} files", bodies.len());
            push(&target, &bodies).await?;
        }
        Command::Generate {
            target,
            count,
            invalid_percent,
            duplicate_percent,
        } => {
            let prefix = format!("gen-{}", ulid::Ulid::new().to_string().to_lowercase());
            let messages = generate(&prefix, count, invalid_percent, duplicate_percent);
            let of = |kind| messages.iter().filter(|(k, _)| *k == kind).count();
            eprintln!(
                "{count} orders {prefix}-*: {} valid, {} invalid, {} duplicates",
                of(Kind::Valid),
                of(Kind::Invalid),
                of(Kind::Duplicate)
            );
            let bodies: Vec<String> = messages.into_iter().map(|(_, body)| body).collect();
            push(&target, &bodies).await?;
        }
    }
    Ok(())
}

async fn push(target: &Target, bodies: &[String]) -> anyhow::Result<()> {
    let client =
        aws_clients::sqs_client(target.endpoint.as_deref(), target.region.as_deref()).await;
    let url = send::queue_url(&client, &target.queue).await?;
    let progress = ProgressBar::new(bodies.len() as u64);
    let report = send::send_all(
        &client,
        &url,
        bodies,
        usize::from(target.concurrency),
        &progress,
    )
    .await;
    println!(
        "sent {} of {} messages to {url} in {:.2} s: {:.0} msg/s",
        report.sent,
        bodies.len(),
        report.elapsed.as_secs_f64(),
        report.rate()
    );
    if !report.failed.is_empty() {
        for (index, reason) in report.failed.iter().take(10) {
            eprintln!("message {index} not sent: {reason}");
        }
        bail!("{} messages were not sent", report.failed.len());
    }
    Ok(())
}

/// Each file is one body; a folder contributes its `.json` files (sorted, not recursive).
fn read_bodies(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    // SQS takes any text; the samples' invalid bodies (not JSON, not UTF-8 safe) go as they are.
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display())))
        .collect()
}
