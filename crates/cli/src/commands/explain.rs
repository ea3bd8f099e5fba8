//! `ruleproof explain`: print the explanation tree of one rule on one event, or, for a
//! correlation, how a sequence of events fills its windows, group by group.

use std::path::PathBuf;

use anyhow::{Context, bail};
use ruleproof_report::explain_output;
use ruleproof_sigma::yaml::Limits;

use ruleproof_backtest::correlate;
use ruleproof_sigma::correlation::{CorrelationEngine, format_timestamp, number_text};
use ruleproof_sigma::{CompiledRule, Correlation};

use super::matching::CorrelationArgs;
use super::{PipelineArgs, load_collection};
use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The rule file; for a correlation, also the files of the rules it builds on.
    #[arg(long, required = true, num_args = 1..)]
    rule: Vec<PathBuf>,
    /// A file holding one event (JSON or YAML).
    #[arg(long, required_unless_present = "events", conflicts_with = "events")]
    event: Option<PathBuf>,
    /// A sequence of events (JSON Lines) for the correlations among the rules: shows, per
    /// group and window, which events counted and why the condition held or not.
    #[arg(long)]
    events: Option<PathBuf>,
    #[command(flatten)]
    correlation: CorrelationArgs,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
    /// Output format of a single event's explanation.
    #[arg(long, value_enum, default_value = "human")]
    format: ExplainFormat,
    /// The same as `--format json` (the older spelling, still accepted).
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

/// Formats of an explanation; the names are those of [`super::Format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// The explanation tree, for the terminal.
    Human,
    /// `ruleproof.explanation/1`, one JSON object per rule.
    Json,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    let options = args.placeholders.options()?;
    let (collection, loaded) = load_collection(&args.rule, &options, &args.pipelines.load()?)?;
    let rules = collection.rules_with_filters();
    if let Some(events) = &args.events {
        if loaded != Outcome::Ok {
            bail!(
                "not everything given with --rule loads (see the errors above); nothing is \
                 explained, since what is missing could change the verdict"
            );
        }
        return explain_sequence(
            &rules,
            &collection.correlation_rules(),
            events,
            &args.correlation,
        );
    }
    let Some(event_path) = &args.event else {
        bail!("give --event FILE (one event) or --events FILE (a sequence)");
    };
    if rules.is_empty() {
        bail!("{}: no rule could be loaded", args.rule[0].display());
    }
    if loaded != Outcome::Ok {
        // A meta-filter or rule left out would change the verdict being explained.
        bail!(
            "not everything given with --rule loads (see the errors above); nothing is \
             explained, since what is missing could change the verdict"
        );
    }
    let rules = collection.rules_with_filters();
    let source =
        ruleproof_sigma::source::read_source(event_path, Limits::default().max_file_bytes)?;
    let docs = ruleproof_sigma::yaml::parse_documents(&source, &Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", source.location(e.span), e.message))
        .context("the event file does not parse")?;
    let [event] = docs.as_slice() else {
        bail!(
            "{}: the event file must hold exactly one event",
            event_path.display()
        );
    };
    if event.as_map().is_none() {
        bail!(
            "{}: the event must be a mapping of fields",
            source.location(event.span)
        );
    }
    let event = event.to_json();
    let mut any_match = false;
    // `rules_with_filters` keeps the collection's order, so each rule meets its own notes.
    for (rule, loaded) in rules.iter().zip(&collection.rules) {
        let explanation = rule.explain(&event);
        any_match |= explanation.matched;
        if args.json || args.format == ExplainFormat::Json {
            println!(
                "{:#}",
                explain_output::json_with_processing(
                    &explanation,
                    &loaded.processing,
                    &loaded.source
                )
            );
        } else {
            print!(
                "{}",
                explain_output::processing_human(&loaded.processing, &loaded.source)
            );
            print!("{}", explain_output::human(&explanation));
        }
    }
    // Like grep, explain exits 0 when the rule matched and 1 when it did not.
    Ok(Outcome::failures_if(!any_match))
}

/// Runs a sequence through the correlations, tracing every evaluation, and prints per
/// correlation and group which events counted and whether the condition held. Exits 0 when a
/// reported correlation raised an alert, 1 otherwise (like grep, as for one event).
fn explain_sequence(
    rules: &[CompiledRule],
    correlations: &[Correlation],
    path: &std::path::Path,
    args: &CorrelationArgs,
) -> anyhow::Result<Outcome> {
    if correlations.is_empty() {
        bail!("--events explains correlations, and the given files hold none");
    }
    let set = correlate::compile(correlations, rules).map_err(|errors| {
        anyhow::anyhow!("the correlations do not compile:\n{}", errors.join("\n"))
    })?;
    let (events, bad) = ruleproof_backtest::events::read_all(path)?;
    for error in &bad {
        eprintln!("error: {}", error.located(&path.display().to_string()));
    }
    let mut engine = CorrelationEngine::new(&set, args.options(true)?);
    let mut evaluations = Vec::new();
    let mut notes = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let matched: Vec<usize> = (0..rules.len())
            .filter(|r| set.uses_rule(*r) && rules[*r].matches(&event.value))
            .collect();
        let names: Vec<&str> = matched.iter().map(|r| rules[*r].meta.reference()).collect();
        notes.push(format!(
            "event {index} (line {}): {}",
            event.line,
            if names.is_empty() {
                "matches no rule a correlation uses".to_owned()
            } else {
                format!("matches {}", names.join(", "))
            }
        ));
        if let Err(why) = engine.push(index as u64, &event.value, &matched, &mut evaluations) {
            notes.push(format!(
                "event {index} (line {}): left out of correlations: {why}",
                event.line
            ));
        }
    }
    engine.finish(&mut evaluations);
    println!("events:");
    for note in &notes {
        println!("  {note}");
    }
    let mut any_alert = false;
    for (index, correlation) in set.correlations().iter().enumerate() {
        println!();
        println!(
            "correlation `{}` ({}): {}{} over {}, group-by [{}], condition {}{}",
            correlation.meta.title,
            correlation.meta.reference(),
            correlation.correlation_type,
            if correlation.condition.fields.is_empty() {
                String::new()
            } else {
                format!(" of {}", correlation.condition.fields.join(", "))
            },
            correlation.timespan_text,
            correlation.group_by.join(", "),
            correlation.condition,
            if set.reports_correlation(index) {
                ""
            } else {
                " (feeds another correlation; not reported on its own)"
            }
        );
        let mut groups: Vec<&Vec<(String, String)>> = Vec::new();
        for evaluation in evaluations.iter().filter(|e| e.correlation == index) {
            if !groups.contains(&&evaluation.group) {
                groups.push(&evaluation.group);
            }
        }
        if groups.is_empty() {
            println!("  no event reached it");
        }
        for group in groups {
            let shown: Vec<String> = group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "  group {}:",
                if shown.is_empty() {
                    "(all events)".to_owned()
                } else {
                    shown.join(", ")
                }
            );
            for evaluation in evaluations
                .iter()
                .filter(|e| e.correlation == index && &e.group == group)
            {
                any_alert |= evaluation.held && set.reports_correlation(index);
                println!(
                    "    at event {}: window {} – {} counts events {:?}: value {} → {} {}",
                    evaluation.event,
                    format_timestamp(evaluation.window_start),
                    format_timestamp(evaluation.window_end),
                    evaluation.events,
                    number_text(evaluation.value),
                    correlation.condition,
                    if evaluation.held {
                        "holds: ALERT"
                    } else {
                        "does not hold"
                    }
                );
            }
        }
    }
    Ok(Outcome::failures_if(!any_alert || !bad.is_empty()))
}
