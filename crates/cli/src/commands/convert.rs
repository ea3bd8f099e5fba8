//! `ruleproof convert`: translate Sigma rules into KQL through a field pipeline, after any
//! pySigma processing pipelines.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::ValueEnum;
use ruleproof_cases::RuleSet;
use ruleproof_kql::{builtin_names, builtin_pipeline, convert_correlation, convert_document};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::{Correlation, DocumentBody, Rule};

use super::{RootArgs, load_collection, replay};
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
    /// Overwrite existing files in the output directory that differ (a file that already holds
    /// the same text is left as it is).
    #[arg(long, requires = "output")]
    force: bool,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
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
    let pipelines = names
        .iter()
        .map(|name| load_pipeline(name))
        .collect::<anyhow::Result<Vec<Pipeline>>>()?;
    Ok(Pipelines::resolve(pipelines))
}

/// Loads a shipped pipeline by name, or a pySigma pipeline file by path.
pub fn load_pipeline(name: &str) -> anyhow::Result<Pipeline> {
    if let Some(pipeline) = builtin_pipeline(name) {
        return Ok(pipeline);
    }
    let path = Path::new(name);
    if !path.is_file() {
        bail!(
            "unknown pipeline `{name}` (shipped: {}; or give the path of a pySigma pipeline file)",
            builtin_names().join(", ")
        );
    }
    Ok(Pipeline::load(path)?)
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
    let options = args.placeholders.options()?;
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
    let mut repository: Option<RuleSet> = None;
    for (path, source, document, rule) in documents {
        // A correlation converts once: its query, and how each rule it builds on was processed
        // (for its replay script).
        let converted = match rule {
            Some(_) => convert_document(document, &processing, &options).map(|q| (q, None)),
            None => convert_correlation(
                document,
                &base_rules,
                &correlation_refs,
                &processing,
                &options,
            )
            .map(|c| (c.query.clone(), Some(c))),
        };
        let (query, correlation_converted) = match converted {
            Ok(converted) => converted,
            Err(e) => {
                eprintln!("error: {}", e.render(source));
                outcome = Outcome::Error;
                continue;
            }
        };
        let heading = format!("{} ({})", document.meta().title, path.display());
        let text = match (&layout, rule) {
            (None, _) => format!("// {heading}\n{query}"),
            (Some(layout), Some(rule)) => {
                // The fixtures follow the processing items that applied to the rule.
                let mut processed_rule = rule.rule().clone();
                match processing
                    .process_rule(&mut processed_rule, &rule.document.node)
                    .map_err(|e| e.first().map_or_else(String::new, |e| e.message.clone()))
                    .and_then(|processed| {
                        let (cases_path, file) = replay::fixtures(layout, path)?;
                        replay::script(
                            &processing,
                            &processed,
                            &cases_path,
                            &file,
                            &rule.compiled,
                            &heading,
                            &query,
                        )
                    }) {
                    Ok(script) => script,
                    Err(message) => {
                        eprintln!("error: {}: {message}", path.display());
                        outcome = Outcome::Error;
                        continue;
                    }
                }
            }
            (Some(layout), None) => {
                let (DocumentBody::Correlation(correlation), Some(converted)) =
                    (&document.body, &correlation_converted)
                else {
                    continue;
                };
                // The repository's rules, loaded once and as written (the pipelines apply only
                // to the KQL side), run the sequence cases for the expected alerts.
                let rules = repository.get_or_insert_with(|| {
                    RuleSet::load_checked(
                        &layout.rules_dir,
                        &options,
                        Some(&ruleproof_validate::LoadCheck::new()),
                    )
                });
                match replay::correlation_script(
                    layout,
                    rules,
                    &processing,
                    converted,
                    path,
                    correlation,
                    &heading,
                ) {
                    Ok(script) => script,
                    Err(message) => {
                        eprintln!("error: {}: {message}", path.display());
                        outcome = Outcome::Error;
                        continue;
                    }
                }
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
        Some(dir) => replay::write_outputs(dir, &outputs, args.force)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(printed.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(outcome)
}
