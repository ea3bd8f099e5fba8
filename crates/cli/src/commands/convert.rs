//! `ruleproof convert`: translate Sigma rules into KQL through a field pipeline, after any
//! pySigma processing pipelines.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::ValueEnum;
use ruleproof_cases::Layout;
use ruleproof_cases::format::parse_test_case_file;
use ruleproof_files::write_atomically;
use ruleproof_kql::{
    ReplayCase, builtin_names, builtin_pipeline, convert_correlation, convert_document,
    fixture_row, replay_script, table_schema,
};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{CompileOptions, CompiledRule, Correlation, Loaded, Rule};
use serde_json::Map;

use super::load_placeholders;
use super::{RootArgs, force_hint, load_collection};
use crate::Outcome;

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
    /// A processing pipeline: a shipped one by name (`asim`, `defender_xdr`) or a pySigma
    /// pipeline file; repeatable. One of them must choose each rule's table with the state
    /// `query_table`, as the shipped ones do (see docs/pipelines.md).
    #[arg(long, required = true, value_name = "NAME|FILE")]
    pipeline: Vec<String>,
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
    /// Write, per rule, a replay script instead of the bare query: the rule's fixtures (its
    /// test-case file under `test-cases/`) as a typed `datatable` in the table's schema, the
    /// query bound to it, and the fixtures that must come back. Paste it into Azure Data
    /// Explorer or Sentinel's log search to have Microsoft's engine check the verdicts.
    #[arg(long)]
    with_fixtures: bool,
    #[command(flatten)]
    root: RootArgs,
}

/// The pipelines of `--pipeline`: shipped ones by name, pySigma pipeline files by path, ordered
/// by priority (the shipped ones have priority 100, so a user's pipelines apply before them).
fn load_pipelines(names: &[String]) -> anyhow::Result<Pipelines> {
    let mut pipelines = Vec::with_capacity(names.len());
    for name in names {
        if let Some(pipeline) = builtin_pipeline(name) {
            pipelines.push(pipeline);
            continue;
        }
        let path = Path::new(name);
        if !path.is_file() {
            bail!(
                "unknown pipeline `{name}` (shipped: {}; or give the path of a pySigma pipeline file)",
                builtin_names().join(", ")
            );
        }
        pipelines.push(Pipeline::load(path)?);
    }
    Ok(Pipelines::resolve(pipelines))
}

pub fn run(args: ConvertArgs) -> anyhow::Result<Outcome> {
    let Target::Kql = args.to;
    let processing = load_pipelines(&args.pipeline)?;
    if let Some(at) = processing.query_stage() {
        bail!(
            "{at}: `postprocessing` and `finalizers` change a backend's query text; convert \
             cannot apply them to its KQL"
        );
    }
    let options = CompileOptions {
        placeholders: args
            .placeholders
            .as_deref()
            .map(load_placeholders)
            .transpose()?,
    };
    // Rules load as written: the pipelines apply once, when each rule is converted.
    let (collection, mut outcome) = load_collection(&args.rules, &options, &Pipelines::default())?;
    // Meta-filters and correlations are documents too, but not queries of their own: naming one
    // is a mistake worth an error rather than an empty output.
    for filter in &collection.filters {
        eprintln!(
            "error: {}: `{}` is a meta-filter; it is applied to the rules it names, not converted \
             on its own (and KQL conversion does not apply meta-filters yet)",
            filter.source.location(filter.document.node.span),
            filter.compiled.meta.title
        );
        outcome = Outcome::Error;
    }
    if collection.rules.is_empty() && collection.correlations.is_empty() {
        bail!("no detection rule to convert");
    }
    let layout = if args.with_fixtures {
        Some(args.root.layout(&args.rules)?)
    } else {
        None
    };
    // Output file (relative to --output) → its text, in a stable order.
    let mut outputs: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut printed = String::new();
    let mut last_file: Option<&Path> = None;
    // A correlation is converted with the rules and correlations loaded beside it, which its
    // `rules:` name.
    let base_rules: Vec<&Rule> = collection.rules.iter().map(|r| r.rule()).collect();
    let all_correlations = collection.correlation_rules();
    let correlation_refs: Vec<&Correlation> = all_correlations.iter().collect();
    let documents = collection
        .rules
        .iter()
        .map(|r| (&r.path, &r.source, &r.document, Some(r)))
        .chain(
            collection
                .correlations
                .iter()
                .map(|c| (&c.path, &c.source, &c.document, None)),
        );
    for (path, source, document, rule) in documents {
        let converted = match rule {
            Some(_) => convert_document(document, &processing, &options),
            None => convert_correlation(
                document,
                &base_rules,
                &correlation_refs,
                &processing,
                &options,
            ),
        };
        let query = match converted {
            Ok(query) => query,
            Err(e) => {
                eprintln!("error: {}", e.render(source));
                outcome = Outcome::Error;
                continue;
            }
        };
        let heading = format!("{} ({})", document.meta().title, path.display());
        let text = match (&layout, rule) {
            (None, _) => format!("// {heading}\n{query}"),
            (Some(layout), Some(rule)) => match replay(layout, &processing, rule, &heading, &query)
            {
                Ok(script) => script,
                Err(message) => {
                    eprintln!("error: {}: {message}", path.display());
                    outcome = Outcome::Error;
                    continue;
                }
            },
            (Some(_), None) => {
                eprintln!(
                    "error: {}: replay scripts of correlation rules are not written yet; \
                     convert it without --with-fixtures",
                    path.display()
                );
                outcome = Outcome::Error;
                continue;
            }
        };
        match &args.output {
            Some(_) => {
                let root = args
                    .rules
                    .iter()
                    .find(|root| root.is_dir() && path.starts_with(root));
                let relative = match root {
                    Some(root) => path.strip_prefix(root).unwrap_or(path).to_owned(),
                    None => PathBuf::from(path.file_name().unwrap_or_default()),
                };
                let mut file = relative.with_extension("kql");
                if args.with_fixtures {
                    // One script per rule: a second rule of the file gets its own file.
                    let mut n = 1;
                    while outputs.contains_key(&file) {
                        n += 1;
                        file = relative.with_extension(format!("{n}.kql"));
                    }
                }
                outputs.entry(file).or_default().push_str(&text);
            }
            None => {
                // Queries of one file stay together; files are separated by a blank line.
                if !printed.is_empty() && last_file != Some(path.as_path()) {
                    printed.push('\n');
                }
                printed.push_str(&text);
            }
        }
        last_file = Some(path.as_path());
    }
    match &args.output {
        Some(dir) => write_outputs(dir, &outputs, args.force)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(printed.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(outcome)
}

/// The replay script of one rule's converted query on the fixtures of its test-case file. The
/// expected matches are the Sigma engine's verdicts on the fixtures, which `ruleproof test`
/// checks against each case's `expect`.
fn replay(
    layout: &Layout,
    pipelines: &Pipelines,
    rule: &Loaded<CompiledRule>,
    heading: &str,
    query: &str,
) -> Result<String, String> {
    let relative = rule
        .path
        .canonicalize()
        .ok()
        .zip(layout.rules_dir.canonicalize().ok())
        .and_then(|(path, rules)| path.strip_prefix(rules).ok().map(Path::to_owned))
        .ok_or_else(|| {
            format!(
                "--with-fixtures needs the rule under {}, where its test-case file mirrors it",
                layout.rules_dir.display()
            )
        })?;
    let cases_path = layout.cases_dir.join(relative);
    let source =
        ruleproof_sigma::source::read_source(&cases_path, Limits::default().max_file_bytes)
            .map_err(|e| format!("no fixtures for a replay script: {e}"))?;
    let (file, diagnostics) = parse_test_case_file(&source, &Limits::default());
    if let Some(first) = diagnostics.first() {
        return Err(format!("its test-case file does not load: {}", first));
    }
    let file = file.ok_or_else(|| format!("{}: no test cases", cases_path.display()))?;
    let table = query.lines().next().unwrap_or_default().trim();
    let schema = table_schema(table).ok_or_else(|| {
        format!("there is no typed schema for {table}, which a replay script needs")
    })?;
    // The fixtures follow the processing items that applied to the rule.
    let mut processed_rule = rule.rule().clone();
    let processed = pipelines
        .process_rule(&mut processed_rule, &rule.document.node)
        .map_err(|e| e.first().map_or_else(String::new, |e| e.message.clone()))?;
    let empty = Map::new();
    let cases: Vec<ReplayCase> = file
        .cases
        .iter()
        .map(|case| {
            let event = case.event.as_object().unwrap_or(&empty);
            let record = match case.kql.as_ref().and_then(|k| k.event.as_ref()) {
                Some(record) => schema.typed_row(record.as_object().unwrap_or(&empty)),
                None => fixture_row(pipelines, &processed, table, event)
                    .map_err(|e| format!("case `{}`: {e}", case.name))?,
            };
            Ok(ReplayCase {
                name: case.name.clone(),
                record,
                expect_match: rule.compiled.matches(event),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(replay_script(
        &format!("Replay of {heading} on {}", cases_path.display()),
        schema,
        query,
        &cases,
    ))
}

/// Writes every file atomically, after checking that none would overwrite an existing file
/// without `--force`, so a refusal writes nothing.
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
        write_atomically(&path, text.as_bytes(), force)
            .map_err(|e| anyhow::anyhow!("{e}{}", force_hint(&e)))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
