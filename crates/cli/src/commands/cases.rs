//! `ruleproof cases new|add`: write test-case files for rules.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ruleproof_cases::Layout;
use ruleproof_cases::format::Verdict;
use ruleproof_cases::scaffold::{NewCase, append_case, render_case, skeleton};
use ruleproof_files::write_atomically;
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{DocumentBody, load_file};

use super::{RootArgs, force_hint};
use crate::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum CasesCommand {
    /// Write a skeleton test-case file for a rule (its false positives as scenarios, and two
    /// placeholder cases that fail until filled in).
    New {
        /// The rule file, under the repository's `rules/`.
        rule: PathBuf,
        /// Overwrite an existing test-case file.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        root: RootArgs,
    },
    /// Append a case to a rule's test-case file, keeping its text and comments.
    Add {
        /// The rule file, under the repository's `rules/`.
        #[arg(long)]
        rule: PathBuf,
        /// The verdict the rule must give.
        #[arg(long, value_parser = ["match", "no-match"])]
        expect: String,
        /// A file holding the event (JSON or YAML, one object).
        #[arg(long)]
        event: PathBuf,
        /// The false-positive scenario the case documents.
        #[arg(long)]
        scenario: Option<String>,
        /// The case's name (default: derived from the event file's name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        root: RootArgs,
    },
    /// Propose cases that kill each surviving mutant and cover each uncovered value, as
    /// test-case YAML; with `--write`, append them to the rule's test-case file.
    Suggest {
        /// The rule file, under the repository's `rules/`.
        rule: PathBuf,
        /// Append the cases to the rule's test-case file (atomically, keeping its comments and
        /// permissions), named `generated: …` for review.
        #[arg(long)]
        write: bool,
        #[command(flatten)]
        root: RootArgs,
        #[command(flatten)]
        placeholders: super::PlaceholderArgs,
    },
}

fn test_case_path(layout: &Layout, rule: &Path) -> anyhow::Result<PathBuf> {
    let rule_abs = rule
        .canonicalize()
        .with_context(|| format!("{}: no such rule file", rule.display()))?;
    let rules_abs = layout
        .rules_dir
        .canonicalize()
        .with_context(|| format!("{}: no rules directory", layout.rules_dir.display()))?;
    let relative = rule_abs.strip_prefix(&rules_abs).map_err(|_| {
        anyhow::anyhow!(
            "{} is not under {}",
            rule.display(),
            layout.rules_dir.display()
        )
    })?;
    Ok(layout.cases_dir.join(relative).with_extension("yml"))
}

pub fn run(command: CasesCommand) -> anyhow::Result<Outcome> {
    match command {
        CasesCommand::New { rule, force, root } => {
            let layout = Layout::at(&root.root);
            let target = test_case_path(&layout, &rule)?;
            let loaded = load_file(&rule, &Limits::default())?;
            if let Some(error) = loaded.errors.first() {
                bail!("{}", error.render(&loaded.source));
            }
            let Some(parsed) = loaded.documents.iter().find_map(|d| match &d.body {
                DocumentBody::Rule(r) => Some(r),
                _ => None,
            }) else {
                bail!("{}: holds no detection rule", rule.display());
            };
            let reference = parsed.meta.id.clone().unwrap_or_else(|| {
                rule.strip_prefix(&layout.root)
                    .unwrap_or(&rule)
                    .display()
                    .to_string()
            });
            let depth = target
                .strip_prefix(&layout.root)
                .map_or(1, |p| p.components().count().saturating_sub(1));
            let schema = format!(
                "{}schemas/ruleproof-test-case.schema.json",
                "../".repeat(depth)
            );
            write_atomically(
                &target,
                skeleton(parsed, &reference, &schema).as_bytes(),
                force,
            )
            .map_err(|e| anyhow::anyhow!("{e}{}", force_hint(&e)))?;
            eprintln!("wrote {}", target.display());
            Ok(Outcome::Ok)
        }
        CasesCommand::Add {
            rule,
            expect,
            event,
            scenario,
            name,
            root,
        } => {
            let layout = Layout::at(&root.root);
            let target = test_case_path(&layout, &rule)?;
            if !target.exists() {
                bail!(
                    "{}: no test-case file yet; create one with `ruleproof cases new {}`",
                    target.display(),
                    rule.display()
                );
            }
            let event_source =
                ruleproof_sigma::source::read_source(&event, Limits::default().max_file_bytes)?;
            let docs = ruleproof_sigma::yaml::parse_documents(&event_source, &Limits::default())
                .map_err(|e| anyhow::anyhow!("{}: {}", event_source.location(e.span), e.message))?;
            let [event_node] = docs.as_slice() else {
                bail!(
                    "{}: the event file must hold exactly one event",
                    event.display()
                );
            };
            if event_node.as_map().is_none() {
                bail!(
                    "{}: the event must be a mapping of fields",
                    event_source.location(event_node.span)
                );
            }
            let name = name.unwrap_or_else(|| {
                event.file_stem().map_or_else(
                    || "new case".to_owned(),
                    |s| s.to_string_lossy().replace(['_', '-'], " "),
                )
            });
            let case = NewCase {
                name,
                expect: if expect == "match" {
                    Verdict::Match
                } else {
                    Verdict::NoMatch
                },
                event: event_node.to_json(),
                scenario,
            };
            let source =
                ruleproof_sigma::source::read_source(&target, Limits::default().max_file_bytes)?;
            let text = append_case(&source, &case)?;
            write_atomically(&target, text.as_bytes(), true)?;
            eprintln!("appended case `{}` to {}", case.name, target.display());
            Ok(Outcome::Ok)
        }
        CasesCommand::Suggest {
            rule,
            write,
            root,
            placeholders,
        } => suggest(&rule, write, &root.root, &placeholders.options()?),
    }
}

/// `cases suggest`: prints the proposed cases, or appends them with `write`.
fn suggest(
    rule: &Path,
    write: bool,
    root: &Path,
    options: &ruleproof_sigma::CompileOptions,
) -> anyhow::Result<Outcome> {
    let layout = Layout::at(root);
    let target = test_case_path(&layout, rule)?;
    let rules = ruleproof_cases::RuleSet::load_checked(
        &layout.rules_dir,
        options,
        Some(&ruleproof_validate::LoadCheck::new()),
    );
    let wanted = rule.canonicalize()?;
    let Some(loaded) = rules
        .rules
        .iter()
        .find(|r| r.path.canonicalize().ok().as_deref() == Some(wanted.as_path()))
    else {
        let problems: Vec<String> = rules.diagnostics.iter().map(ToString::to_string).collect();
        bail!(
            "{}: no rule loaded from this file{}",
            rule.display(),
            if problems.is_empty() {
                String::new()
            } else {
                format!(":\n{}", problems.join("\n"))
            }
        );
    };
    let suggestions = ruleproof_mutate::suggest::suggest(&layout, &rules, loaded, options);
    if !suggestions.errors.is_empty() {
        bail!(
            "{}: the test-case file does not load, so what its cases cover is unknown:\n{}",
            target.display(),
            suggestions.errors.join("\n")
        );
    }
    for gap in &suggestions.not_found {
        eprintln!("{}: {gap}", rule.display());
    }
    let mut cases = ruleproof_report::generated::cases(&suggestions.cases);
    if !write {
        println!("cases:");
        for case in &cases {
            print!("{}", render_case(case, 4));
        }
        return Ok(Outcome::Ok);
    }
    if !target.exists() {
        bail!(
            "{}: no test-case file yet; create one with `ruleproof cases new {}`",
            target.display(),
            rule.display()
        );
    }
    let mut source =
        ruleproof_sigma::source::read_source(&target, Limits::default().max_file_bytes)?;
    // Names stay unique in the file: a name already used gets a number.
    let (parsed, _) = ruleproof_cases::format::parse_test_case_file(&source, &Limits::default());
    let mut taken: Vec<String> = parsed
        .map(|f| f.cases.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    for case in &mut cases {
        let base = case.name.clone();
        let mut n = 2;
        while taken.contains(&case.name) {
            case.name = format!("{base} ({n})");
            n += 1;
        }
        taken.push(case.name.clone());
    }
    for case in &cases {
        let text = append_case(&source, case)?;
        source = ruleproof_sigma::SourceFile::new(source.path(), text.as_str());
    }
    if !cases.is_empty() {
        write_atomically(&target, source.text().as_bytes(), true)?;
    }
    eprintln!(
        "appended {} generated case{} to {}",
        cases.len(),
        if cases.len() == 1 { "" } else { "s" },
        target.display()
    );
    Ok(Outcome::Ok)
}
