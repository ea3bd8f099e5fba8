//! `ruleproof match`: evaluate rules against JSON Lines events.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ruleproof_cases::ruleset::yaml_files;
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{CompileOptions, CompiledRule, DocumentBody, load_file};

use crate::{EXIT_FAILURES, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Rule files or directories.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// A JSON Lines file of events, or `-` for standard input.
    #[arg(long)]
    events: PathBuf,
    /// A YAML file mapping placeholder names to lists of values, for rules that use `|expand`.
    #[arg(long)]
    placeholders: Option<PathBuf>,
}

/// Loads placeholder values: a mapping from names to a value or a list of values.
pub fn load_placeholders(path: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let source = ruleproof_sigma::source::read_source(path, Limits::default().max_file_bytes)?;
    let docs = ruleproof_sigma::yaml::parse_documents(&source, &Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", source.location(e.span), e.message))?;
    let mut values = HashMap::new();
    for doc in &docs {
        let Some(entries) = doc.as_map() else {
            bail!(
                "{}: placeholder values must be a mapping of names to lists",
                source.location(doc.span)
            );
        };
        for (key, value) in entries {
            let list = match value.as_seq() {
                Some(items) => items.iter().filter_map(|i| i.scalar_text()).collect(),
                None => value.scalar_text().into_iter().collect(),
            };
            values.insert(key.scalar_text().unwrap_or_default(), list);
        }
    }
    Ok(values)
}

/// Loads and compiles every rule under the paths, printing load errors with their positions.
pub fn load_rules(
    paths: &[PathBuf],
    options: &CompileOptions,
) -> anyhow::Result<(Vec<CompiledRule>, usize)> {
    let mut rules = Vec::new();
    let mut failed = 0;
    for path in paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
        for file in yaml_files(path) {
            let loaded = match load_file(&file, &Limits::default()) {
                Ok(loaded) => loaded,
                Err(e) => {
                    eprintln!("error: {e}");
                    failed += 1;
                    continue;
                }
            };
            for error in &loaded.errors {
                eprintln!("error: {}", error.render(&loaded.source));
            }
            failed += usize::from(!loaded.errors.is_empty());
            for document in &loaded.documents {
                match &document.body {
                    DocumentBody::Rule(rule) => {
                        match CompiledRule::compile(rule, &loaded.source, options) {
                            Ok(compiled) => rules.push(compiled),
                            Err(errors) => {
                                failed += 1;
                                for error in errors {
                                    eprintln!("error: {}", error.render(&loaded.source));
                                }
                            }
                        }
                    }
                    DocumentBody::Correlation(c) => {
                        eprintln!(
                            "note: {}: correlation `{}` skipped: evaluating correlations over event sequences is not supported yet",
                            file.display(),
                            c.meta.title
                        );
                    }
                    DocumentBody::Filter(_) => {}
                }
            }
        }
    }
    Ok((rules, failed))
}

pub fn run(args: MatchArgs) -> anyhow::Result<u8> {
    let options = CompileOptions {
        placeholders: args
            .placeholders
            .as_deref()
            .map(load_placeholders)
            .transpose()?,
    };
    let (rules, failed_rules) = load_rules(&args.rules, &options)?;
    let reader: Box<dyn BufRead> = if args.events.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(&args.events)
            .with_context(|| format!("{}: cannot open", args.events.display()))?;
        Box::new(BufReader::new(file))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut events, mut matches, mut bad_lines) = (0usize, 0usize, 0usize);
    for (index, line) in reader.lines().enumerate() {
        let line = line.with_context(|| {
            format!(
                "{}: read error at line {}",
                args.events.display(),
                index + 1
            )
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let event: serde_json::Value = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(event) if event.is_object() => event,
            Ok(_) => {
                eprintln!(
                    "error: {}:{}: an event must be a JSON object",
                    args.events.display(),
                    index + 1
                );
                bad_lines += 1;
                continue;
            }
            Err(e) => {
                eprintln!(
                    "error: {}:{}:{}: {e}",
                    args.events.display(),
                    index + 1,
                    e.column()
                );
                bad_lines += 1;
                continue;
            }
        };
        events += 1;
        for rule in &rules {
            if rule.matches(&event) {
                matches += 1;
                let record = serde_json::json!({
                    "event": index,
                    "rule": rule.meta.reference(),
                    "title": rule.meta.title,
                    "level": rule.meta.level,
                });
                writeln!(out, "{record}")?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{} rules ({} failed to load), {events} events ({bad_lines} unreadable lines), {matches} matches",
        rules.len(),
        failed_rules
    );
    Ok(if failed_rules > 0 || bad_lines > 0 {
        EXIT_FAILURES
    } else {
        EXIT_OK
    })
}
