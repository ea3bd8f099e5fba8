//! The command line against bad input, as a user makes it: each `case.yml` under
//! `tests/bad-input/` is one test, holding the arguments, the files to set up (those beside it,
//! plus what cannot be committed: symbolic links, empty directories, thousands of files, files
//! of many megabytes), the exit code, and text that must appear on stdout and stderr.
//!
//! `{repo}` in arguments is the repository root, for its rules. Every case runs in a copy of its
//! directory, so a case that writes files leaves nothing behind.
//!
//! The same harness runs the agreement suite: each `agree.yml` under `tests/agreement/` names
//! Sigma files that `validate`, `match`, `backtest` (and, where the case lists them, `convert`,
//! `generate`, or `test`, `coverage` and `mutate` over the case's own `rules/` and
//! `test-cases/`) all read, which of their documents load nowhere, where and under which lint
//! code each is refused, and each command's exit code. [`agree`] runs every command and requires
//! the same verdict from each: one loading path decides (fault 4 of issue 14;
//! `docs/semantics.md`, "Which documents load").

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// One case, as written in `case.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The arguments after `ruleproof`.
    args: Vec<String>,
    /// Text piped to standard input.
    #[serde(default)]
    stdin: Option<String>,
    #[serde(default)]
    setup: Setup,
    exit: i32,
    /// Text that must appear on stdout / stderr, and text that must not.
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    not_stdout: Vec<String>,
    #[serde(default)]
    not_stderr: Vec<String>,
    /// Permission bits files must have afterwards: `"0640"`, or `default` for what a new file
    /// gets under the test's umask.
    #[serde(default)]
    modes: BTreeMap<String, String>,
}

/// What is made before the run.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Setup {
    #[serde(default)]
    symlinks: Vec<Symlink>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    empty_files: Option<EmptyFiles>,
    #[serde(default)]
    generated: Vec<Generated>,
    /// Permission bits to give files before the run.
    #[serde(default)]
    modes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Symlink {
    link: String,
    target: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyFiles {
    dir: String,
    count: usize,
    extension: String,
}

/// A file too big or too odd to commit: the bytes of `from`, `before`, `fill` repeated `times`,
/// the bytes of `hex`,
/// then `after`; `gzip` compresses the result; `truncate` keeps only that many bytes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generated {
    path: String,
    /// A file whose bytes come first (`{repo}` is the repository root).
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    before: String,
    #[serde(default)]
    fill: String,
    #[serde(default)]
    times: usize,
    #[serde(default)]
    after: String,
    #[serde(default)]
    gzip: bool,
    #[serde(default)]
    truncate: Option<usize>,
    /// Raw bytes, as hexadecimal pairs.
    #[serde(default)]
    hex: String,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if entry.file_name() != "case.yml" {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8).map_err(|e| format!("mode `{text}`: {e}"))
}

#[cfg(unix)]
fn mode_of(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn set_up(dir: &Path, setup: &Setup, repo: &Path) -> Result<(), Box<dyn std::error::Error>> {
    for d in &setup.dirs {
        std::fs::create_dir_all(dir.join(d))?;
    }
    #[cfg(unix)]
    for link in &setup.symlinks {
        let path = dir.join(&link.link);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::os::unix::fs::symlink(&link.target, path)?;
    }
    if let Some(empty) = &setup.empty_files {
        let many = dir.join(&empty.dir);
        std::fs::create_dir_all(&many)?;
        for i in 0..empty.count {
            std::fs::File::create(many.join(format!("{i:05}.{}", empty.extension)))?;
        }
    }
    for generated in &setup.generated {
        let mut bytes = match &generated.from {
            Some(from) => std::fs::read(from.replace("{repo}", &repo.to_string_lossy()))?,
            None => Vec::new(),
        };
        bytes.extend_from_slice(generated.before.as_bytes());
        for _ in 0..generated.times {
            bytes.extend_from_slice(generated.fill.as_bytes());
        }
        let hex = generated.hex.replace(char::is_whitespace, "");
        for pair in hex.as_bytes().chunks(2) {
            bytes.push(u8::from_str_radix(std::str::from_utf8(pair)?, 16)?);
        }
        bytes.extend_from_slice(generated.after.as_bytes());
        if generated.gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&bytes)?;
            bytes = encoder.finish()?;
        }
        if let Some(length) = generated.truncate {
            bytes.truncate(length);
        }
        let path = dir.join(&generated.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    #[cfg(unix)]
    for (path, mode) in &setup.modes {
        set_mode(&dir.join(path), parse_mode(mode)?)?;
    }
    Ok(())
}

fn check(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let case: Case =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let scratch = tempfile::tempdir()?;
    let dir = scratch.path().join("case");
    copy_dir(path.parent().ok_or("a case file has a directory")?, &dir)?;
    let repo = repository().canonicalize()?;
    set_up(&dir, &case.setup, &repo)?;
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{repo}", &repo.to_string_lossy()))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleproof"))
        .current_dir(&dir)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("stdin is piped")?;
    stdin.write_all(case.stdin.as_deref().unwrap_or("").as_bytes())?;
    drop(stdin);
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(case.exit) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            output.status.code(),
            case.exit
        ));
    }
    for (wanted, present, stream, name) in [
        (&case.stdout, true, &stdout, "stdout"),
        (&case.stderr, true, &stderr, "stderr"),
        (&case.not_stdout, false, &stdout, "stdout"),
        (&case.not_stderr, false, &stderr, "stderr"),
    ] {
        for text in wanted {
            if stream.contains(text.as_str()) != present {
                let verb = if present { "lacks" } else { "holds" };
                problems.push(format!("{name} {verb} {text:?}"));
            }
        }
    }
    #[cfg(unix)]
    if !case.modes.is_empty() {
        let probe = dir.join(".mode-probe");
        std::fs::write(&probe, "")?;
        let default = mode_of(&probe)?;
        for (file, expected) in &case.modes {
            let expected = if expected == "default" {
                default
            } else {
                parse_mode(expected)?
            };
            let got = mode_of(&dir.join(file))?;
            if got != expected {
                problems.push(format!("{file}: mode {got:o}, expected {expected:o}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "ruleproof {}\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            args.join(" "),
            problems.join("\n")
        )
        .into())
    }
}

/// One agreement case, as written in `agree.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Agreement {
    /// The Sigma files every command is given, in order.
    files: Vec<String>,
    /// Arguments every command is also given (`--placeholders FILE`).
    #[serde(default)]
    args: Vec<String>,
    /// Every file whose document loads nowhere: where (`line:col`) and the lint code.
    #[serde(default)]
    refused: BTreeMap<String, Refusal>,
    /// The exit code of each command run: `validate`, `match`, `backtest`, `convert`,
    /// `generate`, and for a case that is a repository (`rules/`, `test-cases/`), `test`,
    /// `coverage`, `mutate`.
    exit: BTreeMap<String, i32>,
}

/// Where a document is refused (`line:col`) and under which lint code.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refusal {
    at: String,
    code: String,
}

/// The files each command refused, with `line:col` and code: `validate`'s from its JSON
/// report (error-severity diagnostics), the others' from their `error: FILE:LINE:COL: … [CODE]`
/// lines on either stream.
fn refusals(
    command: &str,
    stdout: &str,
    stderr: &str,
) -> Result<Vec<(String, String, String)>, String> {
    if command == "validate" {
        let report: serde_json::Value =
            serde_json::from_str(stdout).map_err(|e| format!("validate's JSON: {e}"))?;
        let diagnostics = report["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        return Ok(diagnostics
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(|d| {
                (
                    d["file"].as_str().unwrap_or_default().to_owned(),
                    format!("{}:{}", d["line"], d["column"]),
                    d["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect());
    }
    // `test`, `coverage` and `mutate` list load errors in their report, on stdout.
    Ok(stderr
        .lines()
        .chain(stdout.lines())
        .filter_map(|line| line.trim_start().strip_prefix("error: "))
        .filter_map(|rest| {
            let mut parts = rest.splitn(4, ':');
            let (file, line, col) = (parts.next()?, parts.next()?, parts.next()?);
            line.parse::<u32>().ok()?;
            col.parse::<u32>().ok()?;
            let code = rest.rsplit_once('[')?.1.strip_suffix(']')?;
            Some((file.to_owned(), format!("{line}:{col}"), code.to_owned()))
        })
        .collect())
}

fn agree(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let case: Agreement =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let scratch = tempfile::tempdir()?;
    let dir = scratch.path().join("case");
    copy_dir(path.parent().ok_or("a case file has a directory")?, &dir)?;
    std::fs::write(dir.join(".events.jsonl"), "{\"Image\":\"C:\\\\cmd.exe\"}\n")?;
    let mut problems = Vec::new();
    let mut transcript = String::new();
    for (command, exit) in &case.exit {
        let mut args: Vec<String> = vec![command.clone()];
        match command.as_str() {
            "validate" => {
                args.extend(["--format".into(), "json".into()]);
                args.extend(case.files.iter().cloned());
            }
            "match" | "backtest" => {
                args.push("--rules".into());
                args.extend(case.files.iter().cloned());
                args.extend(["--events".into(), ".events.jsonl".into()]);
            }
            "generate" => {
                args.push("--rules".into());
                args.extend(case.files.iter().cloned());
            }
            // The whole repository of the case: `files` are the contents of its `rules/`.
            "test" | "coverage" | "mutate" => {}
            "convert" => {
                args.extend([
                    "--to".into(),
                    "kql".into(),
                    "--pipeline".into(),
                    "asim".into(),
                ]);
                args.extend(case.files.iter().cloned());
            }
            other => {
                return Err(format!("{}: no agreement run for `{other}`", path.display()).into());
            }
        }
        args.extend(case.args.iter().cloned());
        let output = Command::new(env!("CARGO_BIN_EXE_ruleproof"))
            .current_dir(&dir)
            .args(&args)
            .stdin(Stdio::null())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        transcript.push_str(&format!(
            "--- ruleproof {}\n{stdout}{stderr}",
            args.join(" ")
        ));
        if output.status.code() != Some(*exit) {
            problems.push(format!(
                "{command}: exit code {:?}, expected {exit}",
                output.status.code()
            ));
        }
        let found = refusals(command, &stdout, &stderr)?;
        for file in &case.files {
            let of_file: Vec<_> = found.iter().filter(|(f, _, _)| f == file).collect();
            match case.refused.get(file) {
                Some(refusal)
                    if !of_file
                        .iter()
                        .any(|(_, at, code)| *at == refusal.at && *code == refusal.code) =>
                {
                    problems.push(format!(
                        "{command} does not refuse {file} at {} with {}",
                        refusal.at, refusal.code
                    ));
                }
                None if !of_file.is_empty() => {
                    problems.push(format!("{command} refuses {file}: {of_file:?}"));
                }
                _ => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}\n{transcript}", path.display(), problems.join("\n")).into())
    }
}

datatest_stable::harness! {
    { test = check, root = "tests/bad-input", pattern = r"case\.yml$" },
    { test = agree, root = "tests/agreement", pattern = r"agree\.yml$" },
}
