//! `ruleproof convert`: translate Sigma rules into KQL through a field pipeline.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;
use ruleproof_cases::ruleset::yaml_files;
use ruleproof_kql::{Pipeline, convert_document};
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{CompileOptions, DocumentBody, load_file};

use super::matching::load_placeholders;
use crate::{EXIT_FAILURES, EXIT_OK};

/// Query languages a rule can be converted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Microsoft Sentinel / Defender XDR Kusto Query Language.
    Kql,
}

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// The target query language.
    #[arg(long, value_enum)]
    to: Target,
    /// A shipped pipeline (`asim`, `defender_xdr`) or the path of a pipeline YAML file.
    #[arg(long)]
    pipeline: String,
    /// Rule files or directories.
    #[arg(required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Write one `.kql` file per rule file into this directory instead of printing.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Overwrite existing files in the output directory.
    #[arg(long, requires = "output")]
    force: bool,
    /// A YAML file mapping placeholder names to lists of values, for rules that use `|expand`.
    #[arg(long)]
    placeholders: Option<PathBuf>,
}

/// Loads a shipped pipeline by name, or a pipeline file by path.
fn load_pipeline(name: &str) -> anyhow::Result<Pipeline> {
    if let Some(pipeline) = Pipeline::builtin(name) {
        return Ok(pipeline);
    }
    let path = Path::new(name);
    if !path.is_file() {
        bail!(
            "unknown pipeline `{name}` (shipped: {}; or give the path of a pipeline file)",
            Pipeline::builtin_names().join(", ")
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Pipeline::from_yaml(&text).with_context(|| format!("{}", path.display()))
}

pub fn run(args: ConvertArgs) -> anyhow::Result<u8> {
    let Target::Kql = args.to;
    let pipeline = load_pipeline(&args.pipeline)?;
    let options = CompileOptions {
        placeholders: args
            .placeholders
            .as_deref()
            .map(load_placeholders)
            .transpose()?,
    };
    let mut failed = 0usize;
    // Output file (relative to --output) → its text, in a stable order.
    let mut outputs: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut printed = String::new();
    for root in &args.rules {
        if !root.exists() {
            bail!("{}: no such file or directory", root.display());
        }
        for file in yaml_files(root) {
            let loaded = load_file(&file, &Limits::default())?;
            for error in &loaded.errors {
                eprintln!("error: {}", error.render(&loaded.source));
            }
            failed += usize::from(!loaded.errors.is_empty());
            let mut text = String::new();
            for document in &loaded.documents {
                // Meta-filters are applied to rules, not converted on their own.
                if matches!(document.body, DocumentBody::Filter(_)) {
                    continue;
                }
                match convert_document(document, &pipeline, &options) {
                    Ok(query) => {
                        let header = format!("// {} ({})\n", document.meta().title, file.display());
                        text.push_str(&header);
                        text.push_str(&query);
                    }
                    Err(e) => {
                        eprintln!("error: {}", e.render(&loaded.source));
                        failed += 1;
                    }
                }
            }
            if text.is_empty() {
                continue;
            }
            match &args.output {
                Some(_) => {
                    let relative = if root.is_dir() {
                        file.strip_prefix(root).unwrap_or(&file).to_owned()
                    } else {
                        PathBuf::from(file.file_name().unwrap_or_default())
                    };
                    let entry = outputs.entry(relative.with_extension("kql")).or_default();
                    entry.push_str(&text);
                }
                None => {
                    if !printed.is_empty() {
                        printed.push('\n');
                    }
                    printed.push_str(&text);
                }
            }
        }
    }
    match &args.output {
        Some(dir) => write_outputs(dir, &outputs, args.force)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(printed.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(if failed > 0 { EXIT_FAILURES } else { EXIT_OK })
}

/// Writes every file through a temporary file renamed into place, after checking that none
/// would overwrite an existing file without `--force`, so a refusal writes nothing.
fn write_outputs(
    dir: &Path,
    outputs: &BTreeMap<PathBuf, String>,
    force: bool,
) -> anyhow::Result<()> {
    if !force {
        let existing: Vec<String> = outputs
            .keys()
            .map(|relative| dir.join(relative))
            .filter(|path| path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "refusing to overwrite existing files (use --force): {}",
                existing.join(", ")
            );
        }
    }
    for (relative, text) in outputs {
        let path = dir.join(relative);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create the directory", parent.display()))?;
        let mut temporary = tempfile::NamedTempFile::new_in(parent)
            .with_context(|| format!("{}: cannot create a temporary file", parent.display()))?;
        temporary
            .write_all(text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        temporary
            .persist(&path)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
