//! Repository chores, run as `cargo xtask <task>`: benchmarks, snapshot refreshes, screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  bench         run the criterion benchmarks (rule-set throughput, load, validation, mutation, generation) in release mode
  bless         rewrite every snapshot and golden file from current output (review the diff!)
  screenshot    render the coverage HTML report with headless Chromium to target/coverage.png
";

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("bench") => bench(),
        Some("bless") => bless(),
        Some("screenshot") => screenshot(),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n{USAGE}"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(mut command: Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    let mut command = cargo();
    command.args([
        "bench",
        "-p",
        "ruleproof-sigma",
        "-p",
        "ruleproof-validate",
        "-p",
        "ruleproof-mutate",
        "-p",
        "ruleproof-generate",
        "--benches",
        "--",
    ]);
    command.args(std::env::args().skip(2));
    run(command)
}

fn bless() -> anyhow::Result<()> {
    let mut command = cargo();
    command
        .args(["test", "--workspace"])
        .env("UPDATE_EXPECT", "1");
    run(command)
}

fn screenshot() -> anyhow::Result<()> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("Chromium is not installed (apt-get install chromium)")?;
    let target = root().join("target");
    std::fs::create_dir_all(&target)?;
    let html = target.join("coverage.html");
    let png = target.join("coverage.png");
    let mut report = cargo();
    report.args([
        "run",
        "--quiet",
        "-p",
        "ruleproof",
        "--",
        "coverage",
        "--format",
        "html",
        "--force",
        "--output",
    ]);
    report.arg(&html);
    run(report)?;
    let profile = tempfile_dir(&target)?;
    let mut browser = Command::new(chromium);
    browser
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()));
    run(browser)?;
    println!("{}", png.display());
    Ok(())
}

/// A fresh, empty Chromium profile directory, so no earlier state leaks into the screenshot.
fn tempfile_dir(target: &Path) -> anyhow::Result<PathBuf> {
    let dir = target.join("chromium-profile");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
