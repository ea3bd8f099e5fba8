//! Validating a tree: every file in parallel, then the checks that need the whole tree, then
//! configuration (severities and exclusions), in a deterministic order.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ruleproof_cases::format::{Named, TestCaseFile, parse_test_case_file};
use ruleproof_cases::ruleset::yaml_files;
use ruleproof_files::{CanonicalPaths, WalkError};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::collection::CheckError;
use ruleproof_sigma::detection::{Detection, SearchBody};
use ruleproof_sigma::references::{Referable, resolve_references};
use ruleproof_sigma::yaml::{Limits, Node};
use ruleproof_sigma::{
    Collection, CompileOptions, CompiledFilter, CompiledRule, Document, DocumentBody,
    DocumentCheck, DocumentKind, SigmaError, SourceFile, Span, load_source,
};

use crate::config::LintConfig;
use crate::diagnostic::{Diagnostic, Finding, Severity};
use crate::lints::{self, *};
use crate::schema::{self, Schemas};

/// Where the repository's rules and test cases are, for test-case checks.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The repository root (where `ruleproof.yml` is).
    pub root: PathBuf,
    /// Where the rules are.
    pub rules_dir: PathBuf,
    /// Where the test-case files are.
    pub cases_dir: PathBuf,
}

/// The outcome of validating a set of paths.
#[derive(Debug, Default)]
pub struct Validation {
    /// Sorted by file, then position.
    pub diagnostics: Vec<Diagnostic>,
    /// How many files were validated.
    pub files: usize,
    /// How many YAML documents they held.
    pub documents: usize,
    /// Directory walks that met a symbolic-link loop or an unreadable directory: input errors,
    /// not findings about a file, so they are not lint diagnostics (the walk went on).
    pub walk_problems: Vec<WalkError>,
}

impl Validation {
    /// How many diagnostics have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// What the tree-wide checks need to know about one document.
#[derive(Clone, Debug)]
struct Indexed {
    /// Its identity, references and whether it loads on its own account, as the one loading
    /// path resolves references.
    doc: Referable,
    related: Vec<(String, Span)>,
    searches: Vec<String>,
    falsepositives: Vec<String>,
    /// Whether the file is under the layout's rules directory (symbolic links resolved), where
    /// every rule needs a test-case file.
    in_rules_dir: bool,
}

struct FileOutcome {
    file: SourceFile,
    findings: Vec<(Finding, Option<String>)>,
    documents: Vec<Indexed>,
    test_case: Option<TestCaseFile>,
}

/// Validates every YAML file under `paths`. Files under the layout's test-case directory are
/// test-case files; everything else is Sigma.
/// `options` are the ones every loading command compiles with (placeholder values), so a rule
/// is judged as those commands load it.
pub fn validate(
    paths: &[PathBuf],
    layout: &Layout,
    config: &LintConfig,
    options: &CompileOptions,
) -> Validation {
    // The directory walk waits on the file system and compiling the schemas on the CPU, and
    // neither needs the other.
    let (schemas, (mut files, walk_problems, canonical)) = rayon::join(Schemas::new, || {
        let mut files: Vec<PathBuf> = Vec::new();
        let mut walk_problems: Vec<WalkError> = Vec::new();
        let mut canonical = CanonicalPaths::default();
        for path in paths {
            let walked = yaml_files(path);
            files.extend(walked.files);
            walk_problems.extend(walked.problems);
            canonical.merge(walked.canonical);
        }
        (files, walk_problems, canonical)
    });
    files.sort();
    files.dedup();
    let cases_dir = layout.cases_dir.canonicalize().ok();
    let rules_dir = layout.rules_dir.canonicalize().ok();
    let outcomes: Vec<FileOutcome> = files
        .par_iter()
        .map(|path| {
            // Resolved once per file, here on all cores, for both directory questions.
            let resolved = canonical.get(path);
            let under = |dir: &Option<PathBuf>| {
                dir.as_ref()
                    .zip(resolved.as_ref())
                    .is_some_and(|(dir, path)| path.starts_with(dir))
            };
            if under(&cases_dir) {
                check_test_case_file(path, &schemas)
            } else {
                let mut outcome = check_sigma_file(path, &schemas, options);
                let in_rules_dir = under(&rules_dir);
                for document in &mut outcome.documents {
                    document.in_rules_dir = in_rules_dir;
                }
                outcome
            }
        })
        .collect();

    let mut validation = Validation {
        files: outcomes.len(),
        documents: outcomes.iter().map(|o| o.documents.len()).sum(),
        walk_problems,
        ..Validation::default()
    };
    let documents: Vec<&Indexed> = outcomes.iter().flat_map(|o| o.documents.iter()).collect();
    let mut tree_findings: Vec<(SourceFile, Finding, Option<String>)> = Vec::new();
    check_tree(&documents, &mut tree_findings);
    check_test_case_references(&outcomes, &documents, layout, &mut tree_findings);

    let root = std::path::absolute(&layout.root).unwrap_or_else(|_| layout.root.clone());
    for outcome in &outcomes {
        for (finding, rule_id) in &outcome.findings {
            push(
                &mut validation,
                config,
                &root,
                &outcome.file,
                finding.clone(),
                rule_id.clone(),
            );
        }
    }
    for (file, finding, rule_id) in tree_findings {
        push(&mut validation, config, &root, &file, finding, rule_id);
    }
    validation.diagnostics.sort_by(|a, b| {
        (a.file.path(), a.span.start, a.lint.code).cmp(&(b.file.path(), b.span.start, b.lint.code))
    });
    validation
}

fn push(
    validation: &mut Validation,
    config: &LintConfig,
    root: &Path,
    file: &SourceFile,
    finding: Finding,
    rule_id: Option<String>,
) {
    let severity = config.severity(finding.lint);
    if severity == Severity::Off {
        return;
    }
    // Path globs in `ruleproof.yml` are written relative to the repository root
    // (`rules/windows/**`), however the root and the validated paths were spelt on the command
    // line; the path as given is tried too, so a glob written for it keeps working.
    let relative = std::path::absolute(file.path())
        .ok()
        .and_then(|p| p.strip_prefix(root).ok().map(Path::to_path_buf));
    let rule_id_ref = rule_id.as_deref();
    if relative
        .as_deref()
        .is_some_and(|p| config.is_excluded(finding.lint, rule_id_ref, p))
        || config.is_excluded(finding.lint, rule_id_ref, file.path())
    {
        return;
    }
    validation.diagnostics.push(Diagnostic {
        lint: finding.lint,
        severity,
        message: finding.message,
        file: file.clone(),
        span: finding.span,
        rule_id,
    });
}

fn read(path: &Path) -> Result<SourceFile, Box<FileOutcome>> {
    ruleproof_sigma::source::read_source(path, Limits::default().max_file_bytes).map_err(|e| {
        // The diagnostic names the file, so the message leaves the path out.
        let (file, span, message) = e.site();
        Box::new(FileOutcome {
            findings: vec![(Finding::new(&yaml_syntax::LINT, span, message), None)],
            file,
            documents: Vec::new(),
            test_case: None,
        })
    })
}

fn check_sigma_file(path: &Path, schemas: &Schemas, options: &CompileOptions) -> FileOutcome {
    let source = match read(path) {
        Ok(source) => source,
        Err(outcome) => return *outcome,
    };
    let loaded = load_source(source.clone(), &Limits::default());
    let mut findings: Vec<(Finding, Option<String>)> = Vec::new();
    for error in &loaded.errors {
        findings.push((
            Finding::new(
                lints::for_error(error.kind, &error.message),
                error.span,
                error.message.clone(),
            ),
            None,
        ));
    }
    // The spans of the YAML documents with a finding that is an error by default (what
    // `LoadCheck` refuses), to tell which documents load elsewhere.
    let mut refused_nodes: Vec<Span> = Vec::new();
    for node in &loaded.nodes {
        let id = node.get("id").and_then(Node::scalar_text);
        let mut node_findings = Vec::new();
        document_node_findings(schemas, node, &mut node_findings);
        if node_findings
            .iter()
            .any(|f| f.lint.default_severity == Severity::Error)
        {
            refused_nodes.push(node.span);
        }
        findings.extend(node_findings.into_iter().map(|f| (f, id.clone())));
    }
    let mut documents = Vec::new();
    for document in &loaded.documents {
        let meta = document.meta();
        let rule_id = meta.id.clone();
        let mut local = Vec::new();
        let (detection, compile_errors): (Option<&Detection>, Vec<_>) = match &document.body {
            // The engine's errors, exactly as compiling reports them, without building the
            // matchers `validate` would never run.
            DocumentBody::Rule(rule) => (
                Some(&rule.detection),
                CompiledRule::check(rule, options).err().unwrap_or_default(),
            ),
            DocumentBody::Filter(filter) => (
                Some(&filter.detection),
                CompiledFilter::check(filter, options)
                    .err()
                    .unwrap_or_default(),
            ),
            DocumentBody::Correlation(_) => (None, Vec::new()),
        };
        for error in compile_errors {
            local.push(Finding::new(
                lints::for_error(error.kind, &error.message),
                error.span,
                error.message,
            ));
        }
        if let Some(detection) = detection {
            detection_findings(detection, &mut local);
        }
        // It loads in the other commands exactly when neither its checks nor compiling find an
        // error (by default severity, as `LoadCheck`).
        let loads = !refused_nodes.contains(&document.node.span)
            && !local
                .iter()
                .any(|f| f.lint.default_severity == Severity::Error);
        findings.extend(local.into_iter().map(|f| (f, rule_id.clone())));
        let related = document
            .node
            .get("related")
            .and_then(Node::as_seq)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|r| r.get("id"))
                    .filter_map(|n| n.scalar_text().map(|t| (t, n.span)))
                    .collect()
            })
            .unwrap_or_default();
        documents.push(Indexed {
            doc: Referable::of(document, &source, loads),
            related,
            searches: detection
                .map(|d| d.searches.iter().map(|s| s.name.clone()).collect())
                .unwrap_or_default(),
            falsepositives: meta.falsepositives.iter().map(|(f, _)| f.clone()).collect(),
            in_rules_dir: false,
        });
    }
    FileOutcome {
        file: source,
        findings,
        documents,
        test_case: None,
    }
}

/// The checks of one YAML document of a Sigma file on its own: its schema and the lints that
/// read the document's top-level keys.
fn document_node_findings(schemas: &Schemas, node: &Node, out: &mut Vec<Finding>) {
    let kind = match DocumentKind::of(node) {
        Some(DocumentKind::Correlation) => schema::DocumentKind::Correlation,
        Some(DocumentKind::Filter) => schema::DocumentKind::Filter,
        _ => schema::DocumentKind::Rule,
    };
    let mut with_ids = Vec::new();
    schema_findings(schemas, kind, node, None, &mut with_ids);
    out.extend(with_ids.into_iter().map(|(f, _)| f));
    invalid_date::check(node, out);
    modified_before_date::check(node, out);
    tag_format::check(node, out);
}

/// The lints of a detection (of a rule or a meta-filter).
fn detection_findings(detection: &Detection, out: &mut Vec<Finding>) {
    unused_identifier::check(detection, out);
    all_of_them::check(detection, out);
    for search in &detection.searches {
        let items: Vec<_> = match &search.body {
            SearchBody::Maps(maps) => maps.iter().flat_map(|m| m.items.iter()).collect(),
            SearchBody::Keywords(item) => vec![item],
        };
        for item in items {
            null_in_list::check(item, out);
            all_single_value::check(item, out);
            suspicious_escape::check(item, out);
            duplicate_value::check(item, out);
        }
    }
}

/// The validator's share of the one loading path ([`ruleproof_sigma::Collection`]): a document
/// with a schema violation or a lint that is an error by default does not load in any command,
/// just as `validate` reports it as an error. Engine errors are the collection's own.
#[derive(Debug)]
pub struct LoadCheck {
    schemas: Schemas,
}

impl LoadCheck {
    /// Compiles the schemas once.
    pub fn new() -> LoadCheck {
        LoadCheck {
            schemas: Schemas::new(),
        }
    }
}

impl Default for LoadCheck {
    fn default() -> LoadCheck {
        LoadCheck::new()
    }
}

impl DocumentCheck for LoadCheck {
    fn errors(
        &self,
        node: &Node,
        document: Option<&Document>,
        _source: &SourceFile,
    ) -> Vec<CheckError> {
        let mut findings = Vec::new();
        document_node_findings(&self.schemas, node, &mut findings);
        let detection = document.and_then(|d| match &d.body {
            DocumentBody::Rule(rule) => Some(&rule.detection),
            DocumentBody::Filter(filter) => Some(&filter.detection),
            DocumentBody::Correlation(_) => None,
        });
        if let Some(detection) = detection {
            detection_findings(detection, &mut findings);
        }
        findings
            .into_iter()
            .filter(|f| f.lint.default_severity == Severity::Error)
            .map(|f| CheckError {
                code: f.lint.code,
                span: f.span,
                message: f.message,
            })
            .collect()
    }

    fn code_of(&self, error: &SigmaError) -> Option<&'static str> {
        Some(lints::for_error(error.kind, &error.message).code)
    }
}

fn schema_findings(
    schemas: &Schemas,
    kind: schema::DocumentKind,
    node: &Node,
    rule_id: Option<&str>,
    out: &mut Vec<(Finding, Option<String>)>,
) {
    for violation in schemas.validate(kind, &node.to_json()) {
        // Point at the key of the offending value when there is one, so the caret lands on
        // the line a reader looks for; a violation about a whole mapping points at it.
        let span = node
            .pointer(&violation.pointer)
            .map_or(node.span, |(key, value)| key.map_or(value.span, |k| k.span));
        out.push((
            Finding::new(&lints::schema::LINT, span, violation.message),
            rule_id.map(str::to_owned),
        ));
    }
}

fn check_test_case_file(path: &Path, schemas: &Schemas) -> FileOutcome {
    let source = match read(path) {
        Ok(source) => source,
        Err(outcome) => return *outcome,
    };
    let mut findings = Vec::new();
    if let Ok(nodes) = ruleproof_sigma::yaml::parse_documents(&source, &Limits::default()) {
        for node in &nodes {
            schema_findings(
                schemas,
                schema::DocumentKind::TestCase,
                node,
                None,
                &mut findings,
            );
        }
    }
    let (parsed, diagnostics) = parse_test_case_file(&source, &Limits::default());
    let schema_starts: Vec<u32> = findings.iter().map(|(f, _)| f.span.start).collect();
    for diagnostic in diagnostics {
        // The schema already reports unknown keys and shapes; the format's own checks add
        // positions for what a schema cannot see (matrix variables, event files, duplicates).
        // Where both point at the same place they describe the same mistake, and saying it
        // twice (once as RP003, once as RP401) only doubles the noise.
        if schema_starts.contains(&diagnostic.span.start) {
            continue;
        }
        findings.push((
            Finding::new(&test_case_file::LINT, diagnostic.span, diagnostic.message),
            None,
        ));
    }
    FileOutcome {
        file: source,
        findings,
        documents: Vec::new(),
        test_case: parsed,
    }
}

fn check_tree(documents: &[&Indexed], out: &mut Vec<(SourceFile, Finding, Option<String>)>) {
    let referables: Vec<Referable> = documents.iter().map(|d| d.doc.clone()).collect();
    let rule_id = |doc: &Referable| doc.id.as_ref().map(|(id, _)| id.clone());
    // The one decision of the loading path: what it refuses, `validate` reports.
    for (i, error) in resolve_references(&referables) {
        let doc = &referables[i];
        out.push((
            doc.file.clone(),
            Finding::new(
                lints::for_error(error.kind, &error.message),
                error.span,
                error.message,
            ),
            rule_id(doc),
        ));
    }
    let ids: HashSet<&str> = referables
        .iter()
        .filter_map(|d| d.id.as_ref().map(|(id, _)| id.as_str()))
        .collect();
    for indexed in documents {
        let doc = &indexed.doc;
        for (related, span) in &indexed.related {
            if !ids.contains(related.as_str()) {
                out.push((
                    doc.file.clone(),
                    Finding::new(
                        &unknown_related::LINT,
                        *span,
                        format!("no validated document has the id `{related}`"),
                    ),
                    rule_id(doc),
                ));
            }
        }
    }
}

/// The search identifiers of `rule` once processed by the pipelines a test-case file names
/// (paths relative to `root`), as the runner processes it: those `add_condition` adds come
/// with them. Empty without pipelines, or when a pipeline or the processed rule does not load
/// (`ruleproof test` reports why).
fn searches_through(rule: &Indexed, names: &[Named], root: &Path) -> Vec<String> {
    if names.is_empty() {
        return Vec::new();
    }
    let Ok(pipelines) = names
        .iter()
        .map(|name| Pipeline::load(&root.join(&name.text)))
        .collect::<Result<Vec<Pipeline>, _>>()
    else {
        return Vec::new();
    };
    let pipelines = Pipelines::resolve(pipelines);
    let loaded = Collection::load_processed(
        &[rule.doc.file.path().to_owned()],
        &CompileOptions::default(),
        None,
        Some(&pipelines),
    );
    loaded
        .rules
        .iter()
        .find(|r| {
            let meta = r.document.meta();
            meta.id.as_deref() == rule.doc.id.as_ref().map(|(id, _)| id.as_str())
                && meta.title == rule.doc.title
        })
        .map(|r| r.compiled.search_names().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn check_test_case_references(
    outcomes: &[FileOutcome],
    documents: &[&Indexed],
    layout: &Layout,
    out: &mut Vec<(SourceFile, Finding, Option<String>)>,
) {
    // Test-case files test detection rules (single-event cases) and correlations (sequences).
    let rules: Vec<&&Indexed> = documents
        .iter()
        .filter(|d| matches!(d.doc.kind, DocumentKind::Rule | DocumentKind::Correlation))
        .collect();
    let filters: Vec<&&Indexed> = documents
        .iter()
        .filter(|d| d.doc.kind == DocumentKind::Filter)
        .collect();
    let named = |doc: &Indexed, reference: &str| {
        doc.doc.id.as_ref().is_some_and(|(id, _)| id == reference)
            || doc.doc.name.as_ref().is_some_and(|(n, _)| n == reference)
    };
    let same_path = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .zip(b.canonicalize().ok())
            .is_some_and(|(a, b)| a == b)
    };
    let mut tested: Vec<&Path> = Vec::new();
    for outcome in outcomes {
        let Some(file) = &outcome.test_case else {
            continue;
        };
        let mut finding = |span: Span, message: String| {
            out.push((
                file.source.clone(),
                Finding::new(&test_case_reference::LINT, span, message),
                None,
            ));
        };
        let rule = rules
            .iter()
            .find(|r| named(r, &file.rule.text))
            .or_else(|| {
                rules
                    .iter()
                    .find(|r| same_path(r.doc.file.path(), &layout.root.join(&file.rule.text)))
            });
        let Some(rule) = rule else {
            finding(
                file.rule.span,
                format!(
                    "no validated rule has the id, name or path `{}`",
                    file.rule.text
                ),
            );
            continue;
        };
        tested.push(rule.doc.file.path());
        // The searches the file's own pipelines add (`add_condition`), computed when a reason
        // names no search of the rule as written.
        let through_pipelines: OnceCell<Vec<String>> = OnceCell::new();
        if rule.doc.kind == DocumentKind::Correlation {
            for case in &file.cases {
                finding(
                    case.span,
                    format!(
                        "case `{}` has one `event`, but `{}` is a correlation: give it `events` and `expect: fires` or `no-fire`",
                        case.name, file.rule.text
                    ),
                );
            }
        } else {
            for sequence in &file.sequences {
                finding(
                    sequence.span,
                    format!(
                        "case `{}` is a sequence case, but `{}` is a detection rule, not a correlation",
                        sequence.name, file.rule.text
                    ),
                );
            }
        }
        for scenario in &file.scenarios {
            if let Some(fp) = &scenario.falsepositive
                && !rule.falsepositives.contains(&fp.text)
            {
                finding(
                    fp.span,
                    format!("the rule has no falsepositives entry `{}`", fp.text),
                );
            }
        }
        for case in &file.cases {
            if let Some(scenario) = &case.scenario
                && !file.scenarios.iter().any(|s| s.id.text == scenario.text)
            {
                finding(
                    scenario.span,
                    format!("scenario `{}` is not declared in this file", scenario.text),
                );
            }
            for reason in &case.reason {
                let added = || {
                    through_pipelines
                        .get_or_init(|| searches_through(rule, &file.pipelines, &layout.root))
                        .contains(&reason.text)
                };
                if !rule.searches.contains(&reason.text) && !added() {
                    let pipelines = if file.pipelines.is_empty() {
                        ""
                    } else {
                        " (nor one its `pipelines:` add)"
                    };
                    finding(
                        reason.span,
                        format!(
                            "`{}` is not a search identifier of the rule{pipelines}",
                            reason.text
                        ),
                    );
                }
            }
            if let Some(with) = &case.with_filters {
                let mut filter_searches: Vec<&String> = Vec::new();
                for reference in &with.filters {
                    match filters
                        .iter()
                        .find(|f| named(f, &reference.text) || f.doc.title == reference.text)
                    {
                        Some(filter) => filter_searches.extend(filter.searches.iter()),
                        None => finding(
                            reference.span,
                            format!("no meta-filter has the id or name `{}`", reference.text),
                        ),
                    }
                }
                for reason in &with.reason {
                    if !filter_searches.contains(&&reason.text) {
                        finding(
                            reason.span,
                            format!(
                                "`{}` is not a search identifier of the named filters",
                                reason.text
                            ),
                        );
                    }
                }
            }
        }
    }
    for rule in &rules {
        if rule.in_rules_dir && !tested.iter().any(|t| *t == rule.doc.file.path()) {
            let span = rule.doc.id.as_ref().map_or(Span::default(), |(_, s)| *s);
            out.push((
                rule.doc.file.clone(),
                Finding::new(
                    &missing_test_case::LINT,
                    span,
                    format!("rule `{}` has no test-case file", rule.doc.title),
                ),
                rule.doc.id.as_ref().map(|(id, _)| id.clone()),
            ));
        }
    }
}
