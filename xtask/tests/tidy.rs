//! Tidy: the architecture invariants no compiler checks, checked on every `cargo test`, as
//! rust-analyzer's tidy test does.
//!
//! - The crate dependencies are exactly the ones ARCHITECTURE.md lists (from `cargo metadata`).
//! - `anyhow` is a dependency of binaries only (`ruleproof` and `xtask`); libraries return
//!   `thiserror` errors.
//! - Every library crate denies missing documentation, so an undocumented public item fails
//!   the build.
//! - Every Rust file opens with a `//!` comment that says what it is for.
//! - Every JSON output carries a versioned `format` field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}

/// `cargo metadata` for the workspace's own packages.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Each workspace package with the names of its normal (not dev, not build) dependencies.
fn packages() -> BTreeMap<String, BTreeSet<String>> {
    let metadata = metadata();
    let mut out = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("a package list") {
        let name = package["name"].as_str().unwrap().to_owned();
        let deps = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect();
        out.insert(name, deps);
    }
    out
}

/// The dependency list of ARCHITECTURE.md: the fenced block after the `tidy: crate dependencies`
/// marker, one `crate → dep, dep` line per crate of the workspace.
fn documented_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let marker = "<!-- tidy: crate dependencies -->";
    let after = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{marker}` block"))
        .1;
    let block = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a ```text block follows the marker")
        .0;
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, deps) = line
                .split_once('→')
                .unwrap_or_else(|| panic!("`{line}` is not `crate → dep, dep`"));
            let deps = deps
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect();
            (name.trim().to_owned(), deps)
        })
        .collect()
}

#[test]
fn crate_dependencies_are_the_documented_ones() {
    let packages = packages();
    let workspace: BTreeSet<&String> = packages.keys().collect();
    let actual: BTreeMap<String, BTreeSet<String>> = packages
        .iter()
        .map(|(name, deps)| {
            let internal = deps.iter().filter(|d| workspace.contains(d)).cloned();
            (name.clone(), internal.collect())
        })
        .collect();
    assert_eq!(
        documented_dependencies(),
        actual,
        "the crate dependencies differ from ARCHITECTURE.md's list (left: documented, right: \
         cargo metadata); change the code or the document, and its diagram, together"
    );
}

#[test]
fn anyhow_is_for_binaries_only() {
    let binaries = ["ruleproof", "xtask"];
    for (name, deps) in packages() {
        if deps.contains("anyhow") {
            assert!(
                binaries.contains(&name.as_str()),
                "{name} depends on anyhow; libraries return thiserror errors with path and position"
            );
        }
    }
}

/// Where a modifier chain may be read from the rule as written: the engine, which lowers it;
/// the lints, which judge how a rule is written (a single-value `all`, a duplicate value, an
/// escape), not what it means; mutation testing, which changes the written chain on purpose;
/// processing pipelines, which change the parsed rule before it compiles (as pySigma's
/// transformations change a parsed rule). Every other crate reads the engine's `LoweredRule`
/// or `CompiledRule`, so a rule is read once.
const READS_MODIFIERS: [&str; 4] = [
    "crates/sigma/",
    "crates/validate/src/lints/",
    "crates/mutate/src/",
    "crates/pipeline/src/",
];

/// Crates that still read modifier chains themselves and are to move to `LoweredRule`, with
/// why they have not yet. Each must still read them, so the list cannot go stale.
const NOT_YET_LOWERED: [(&str, &str); 1] = [(
    "crates/generate/src/",
    "event generation landed while the converter moved to the lowered form",
)];

#[test]
fn only_the_engine_and_lints_read_modifier_chains() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    let readers: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .filter(|f| f.contains("/src/") && !READS_MODIFIERS.iter().any(|p| f.starts_with(p)))
        .filter(|f| {
            let text = std::fs::read_to_string(root().join(f)).unwrap();
            text.contains("modifier::Modifier") || text.contains(".modifiers")
        })
        .collect();
    for (dir, why) in NOT_YET_LOWERED {
        assert!(
            readers.iter().any(|f| f.starts_with(dir)),
            "{dir} no longer reads modifier chains ({why}); remove it from NOT_YET_LOWERED"
        );
    }
    let readers: Vec<&String> = readers
        .iter()
        .filter(|f| !NOT_YET_LOWERED.iter().any(|(dir, _)| f.starts_with(dir)))
        .collect();
    assert!(
        readers.is_empty(),
        "these files read a rule's modifier chains instead of the engine's lowered form \
         (`ruleproof_sigma::LoweredRule`): {readers:#?}"
    );
}

#[test]
fn library_crates_deny_missing_docs() {
    let crates = root().join("crates");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/lib.rs").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "library crates: {dirs:?}");
    for dir in dirs {
        let relative = format!("crates/{}", dir.file_name().unwrap().to_string_lossy());
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("#![deny(missing_docs)]"),
            "{relative}: add #![deny(missing_docs)] to src/lib.rs and document its public items"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_opens_with_a_module_comment() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    assert!(files.len() > 100, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.starts_with("//!")
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` comment: {missing:#?}"
    );
}

/// Whether a text holds a versioned format name, `ruleproof.<name>/<version>`.
fn has_format_name(text: &str) -> bool {
    text.match_indices("\"ruleproof.").any(|(at, _)| {
        let rest = &text[at + "\"ruleproof.".len()..];
        let Some(end) = rest.find('"') else {
            return false;
        };
        let Some((name, version)) = rest[..end].split_once('/') else {
            return false;
        };
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !version.is_empty()
            && version.chars().all(|c| c.is_ascii_digit())
    })
}

#[test]
fn every_json_output_is_versioned() {
    // Every function that renders a JSON output (`pub fn json(`) sits beside the versioned name
    // of its format, and inserts it as `format`.
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    let mut renderers = 0;
    for file in files
        .iter()
        .filter(|f| f.components().any(|c| c.as_os_str() == "src"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        if !text.contains("pub fn json(") {
            continue;
        }
        renderers += 1;
        assert!(
            has_format_name(&text) && text.contains("\"format\""),
            "{}: renders JSON without a versioned `format` field",
            file.display()
        );
    }
    assert!(renderers >= 6, "found only {renderers} JSON renderers");
    // And every JSON snapshot of an output starts from such a field.
    let mut snapshots = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        json_files(
            &entry.unwrap().path().join("tests/snapshots"),
            &mut snapshots,
        );
    }
    assert!(snapshots.len() >= 5, "JSON snapshots: {snapshots:?}");
    for snapshot in snapshots {
        let text = std::fs::read_to_string(&snapshot).unwrap();
        let documents = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
        for document in documents {
            let document = document.unwrap_or_else(|e| panic!("{}: {e}", snapshot.display()));
            // A MITRE ATT&CK Navigator layer (`coverage --format navigator`) is MITRE's format,
            // versioned by its own `versions.layer`; it gets no field of ours.
            if document["versions"]["layer"].is_string() {
                continue;
            }
            let format = document["format"].as_str().unwrap_or_default();
            assert!(
                has_format_name(&format!("\"{format}\"")),
                "{}: `format` is {:?}, not `ruleproof.<name>/<version>`",
                snapshot.display(),
                document["format"]
            );
        }
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}
