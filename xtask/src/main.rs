//! Repository chores, run as `cargo xtask <task>`: benchmarks, snapshot refreshes, screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  bench         run the criterion benchmarks (rule-set throughput, load, validation, mutation, generation) in release mode
  versus-sigma [ROUNDS]
                time `ruleproof validate` and sigma-cli's `sigma check` on SigmaHQ's four active
                rule folders in one run (SIGMA_CLI names the `sigma` executable; default `sigma`)
  bless         rewrite every snapshot and golden file from current output (review the diff!)
  screenshot    render the coverage HTML report with headless Chromium to target/coverage.png
  kql-check [--corpus]
                check the KQL goldens, the rules' queries and replay scripts with Microsoft's
                Kusto.Language analyser (tools/kql-check, Node) against the typed table schemas;
                --corpus also converts the active SigmaHQ corpus with every shipped pipeline and
                checks each query (needs ../shared/corpus/sigmahq)
";

/// The shipped pipelines, converted over the corpus by `kql-check --corpus`.
const PIPELINES: &[&str] = &["asim", "defender_xdr"];

/// The active SigmaHQ rule directories, beside the repository.
const CORPUS_DIRS: &[&str] = &["rules", "rules-emerging-threats", "rules-threat-hunting"];

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("bench") => bench(),
        Some("bless") => bless(),
        Some("versus-sigma") => versus_sigma(),
        Some("screenshot") => screenshot(),
        Some("kql-check") => kql_check(std::env::args().nth(2).as_deref() == Some("--corpus")),
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

/// SigmaHQ's active rule folders, as the benchmarks and `BENCHMARKS.md` name them.
const ACTIVE_DIRS: [&str; 4] = [
    "rules",
    "rules-emerging-threats",
    "rules-threat-hunting",
    "rules-compliance",
];

/// Times `ruleproof validate` (release build, all cores) and `sigma check` on the same folders,
/// alternating them so both see the same machine load, and prints the best time of each and
/// their ratio. Exit codes are printed, not judged: the corpus has warnings, and the point is
/// the time it takes to say so. An optional argument sets the number of rounds (default 3).
fn versus_sigma() -> anyhow::Result<()> {
    let rounds: usize = match std::env::args().nth(2) {
        Some(n) => n
            .parse()
            .context("the number of rounds must be a positive integer")?,
        None => 3,
    };
    if rounds == 0 {
        bail!("the number of rounds must be a positive integer");
    }
    let corpus = root().join("../shared/corpus/sigmahq");
    if !corpus.is_dir() {
        bail!("{} is missing", corpus.display());
    }
    let dirs: Vec<PathBuf> = ACTIVE_DIRS.iter().map(|d| corpus.join(d)).collect();
    let mut build = cargo();
    build.args(["build", "--release", "--quiet", "-p", "ruleproof"]);
    run(build)?;
    let ruleproof = root().join("target/release/ruleproof");
    let sigma = std::env::var("SIGMA_CLI").unwrap_or_else(|_| "sigma".into());
    let time = |program: &Path, first: &[&str]| -> anyhow::Result<(f64, Option<i32>)> {
        let started = std::time::Instant::now();
        let status = Command::new(program)
            .args(first)
            .args(&dirs)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", program.display()))?;
        Ok((started.elapsed().as_secs_f64(), status.code()))
    };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 1..=rounds {
        let (t, code) = time(&ruleproof, &["validate"])?;
        println!("round {round}: ruleproof validate {t:.3} s (exit {code:?})");
        ours.push(t);
        // The two validators that download MITRE ATT&CK and D3FEND data are left out: the
        // machine may be offline, and leaving work out only flatters `sigma check`.
        let (t, code) = time(
            Path::new(&sigma),
            &["check", "--exclude", "attacktag", "--exclude", "d3_fendtag"],
        )?;
        println!("round {round}: sigma check {t:.3} s (exit {code:?})");
        theirs.push(t);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (ours, theirs) = (best(&ours), best(&theirs));
    println!(
        "best of {rounds}: ruleproof validate {ours:.3} s, sigma check {theirs:.3} s: {:.0}x",
        theirs / ours
    );
    Ok(())
}

fn bless() -> anyhow::Result<()> {
    let mut command = cargo();
    command
        .args(["test", "--workspace"])
        .env("UPDATE_EXPECT", "1");
    run(command)
}

/// Runs `tools/kql-check` (installing its locked dependencies first when they are missing) on
/// the repository's queries and, with `corpus`, on a fresh conversion of the SigmaHQ corpus.
fn kql_check(corpus: bool) -> anyhow::Result<()> {
    let root = root();
    let tool = root.join("tools/kql-check");
    if !tool.join("node_modules").is_dir() {
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&tool);
        run(npm)?;
    }
    let check = |paths: &[PathBuf]| {
        let mut node = Command::new("node");
        node.current_dir(&root)
            .arg(tool.join("check.js"))
            .arg("--tables")
            .arg(root.join("crates/kql/tables"))
            .args(paths);
        run(node)
    };
    check(&[
        root.join("crates/kql/tests/golden"),
        root.join("replay"),
        root.join("rules"),
    ])?;
    if !corpus {
        return Ok(());
    }
    let sigmahq = root.join("../shared/corpus/sigmahq");
    if !sigmahq.is_dir() {
        bail!("the SigmaHQ corpus is not at {}", sigmahq.display());
    }
    let mut failed = Vec::new();
    for pipeline in PIPELINES {
        let out = root.join("target/kql-check").join(pipeline);
        if out.exists() {
            std::fs::remove_dir_all(&out)?;
        }
        std::fs::create_dir_all(&out)?;
        let mut convert = cargo();
        convert
            .args(["run", "--release", "--quiet", "-p", "ruleproof", "--"])
            .args(["convert", "--to", "kql", "--pipeline", pipeline, "--output"])
            .arg(&out)
            .args(CORPUS_DIRS.iter().map(|d| sigmahq.join(d)))
            .stdout(std::process::Stdio::null());
        // Rules that cannot be converted are reported on stderr (kept in a file beside the
        // queries) and make the exit code non-zero; what matters here is that every query written
        // passes the analyser.
        let refusals = root
            .join("target/kql-check")
            .join(format!("{pipeline}.refused"));
        convert.stderr(std::fs::File::create(&refusals)?);
        let status = convert.status().context("cannot run ruleproof convert")?;
        if status.code().is_none() {
            bail!("ruleproof convert --pipeline {pipeline} was killed ({status})");
        }
        let refused = std::fs::read_to_string(&refusals)?
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count();
        println!(
            "{pipeline}: {refused} rules refused (see {})",
            refusals.display()
        );
        if check(&[out]).is_err() {
            failed.push(*pipeline);
        }
    }
    if !failed.is_empty() {
        bail!(
            "Kusto.Language found errors in the {} conversions",
            failed.join(", ")
        );
    }
    Ok(())
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
