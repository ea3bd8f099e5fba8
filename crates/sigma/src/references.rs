//! How the documents loaded together name one another: ids and names must be unique, a
//! meta-filter's `filter.rules` must name detection rules, and a correlation's
//! `correlation.rules` must name rules or correlations that load. One function decides it for
//! the collection every command loads ([`crate::Collection`]) and for `validate`, so a document
//! that `validate` reports for a broken reference loads nowhere (`docs/semantics.md`, "Which
//! documents load").

use std::collections::HashMap;

use crate::document::{Document, DocumentBody, DocumentKind};
use crate::error::{ErrorKind, SigmaError};
use crate::source::{SourceFile, Span};

/// What reference resolution needs to know about one document that was read.
#[derive(Clone, Debug)]
pub struct Referable {
    /// The file the document is in, for the position of the first of two duplicates.
    pub file: SourceFile,
    /// Its YAML node's span, which identifies the document within its file (the span of a
    /// top-level mapping is where it starts).
    pub span: Span,
    /// Its kind.
    pub kind: DocumentKind,
    /// Its title, to name the first of two duplicates.
    pub title: String,
    /// `id:`, with the span of its value.
    pub id: Option<(String, Span)>,
    /// `name:`, with the span of its value.
    pub name: Option<(String, Span)>,
    /// What it names: a meta-filter's `filter.rules`, a correlation's `correlation.rules`.
    pub references: Vec<(String, Span)>,
    /// Whether the document loads on its own account (it passed its checks and compiled).
    pub loads: bool,
}

impl Referable {
    /// The document's identity and references, read from its YAML tree for the spans.
    pub fn of(document: &Document, file: &SourceFile, loads: bool) -> Referable {
        let spanned = |key: &str| {
            document
                .node
                .get(key)
                .and_then(|n| n.scalar_text().map(|t| (t, n.span)))
        };
        let references = match &document.body {
            DocumentBody::Rule(_) => Vec::new(),
            DocumentBody::Filter(filter) => filter.rules.clone(),
            DocumentBody::Correlation(correlation) => correlation.rules.clone(),
        };
        Referable {
            file: file.clone(),
            span: document.node.span,
            kind: document.kind(),
            title: document.meta().title.clone(),
            id: spanned("id"),
            name: spanned("name"),
            references,
            loads,
        }
    }
}

/// The reference errors of `documents` (given in load order: sorted by file, then position),
/// each with the index of the document it keeps from loading:
///
/// - an `id` or `name` already used by an earlier document ([`ErrorKind::DuplicateId`],
///   [`ErrorKind::DuplicateName`]): the later document does not load, as references resolve to
///   the first;
/// - a meta-filter naming something that is not a detection rule, a correlation naming
///   something that is neither a rule nor a correlation ([`ErrorKind::UnknownReference`]);
/// - a correlation that reaches itself through the correlations it names
///   ([`ErrorKind::ReferenceCycle`]), and one naming a document that does not load (on its own
///   account or by these rules, followed through chains of correlations): it could never be
///   evaluated. A
///   meta-filter naming a rule that does not load still loads and applies to the others; the
///   rule's own error is reported where it is.
///
/// Source: Sigma filters specification 2.1, "Relative rules"; correlation rules specification
/// 2.1, "Related rules" (`id` and `name` unique, chains of correlations). pySigma raises `SigmaRuleNotFoundError` for a correlation's missing
/// rule, and silently applies a meta-filter to nothing when it names no loaded rule; ruleproof
/// refuses such a filter, since it would tune nothing and fail silently.
pub fn resolve_references(documents: &[Referable]) -> Vec<(usize, SigmaError)> {
    let mut errors = Vec::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, doc) in documents.iter().enumerate() {
        for (key, table, kind) in [
            (&doc.id, &mut ids, ErrorKind::DuplicateId),
            (&doc.name, &mut names, ErrorKind::DuplicateName),
        ] {
            let Some((value, span)) = key else { continue };
            match table.get(value.as_str()) {
                Some(&first) => {
                    let first = &documents[first];
                    let (what, first_span) = if kind == ErrorKind::DuplicateId {
                        ("id", first.id.as_ref().map(|(_, s)| *s))
                    } else {
                        ("name", first.name.as_ref().map(|(_, s)| *s))
                    };
                    errors.push((
                        i,
                        SigmaError::new(
                            kind,
                            *span,
                            format!(
                                "{what} `{value}` is also used by `{}` ({})",
                                first.title,
                                first.file.location(first_span.unwrap_or_default())
                            ),
                        ),
                    ));
                }
                None => {
                    table.insert(value, i);
                }
            }
        }
    }
    // A correlation's reference names a correlation first, as the engine resolves it
    // (`CorrelationSet::compile`); a meta-filter's names a detection rule first.
    let target = |from: DocumentKind, reference: &str| {
        let wanted = match from {
            DocumentKind::Correlation => DocumentKind::Correlation,
            _ => DocumentKind::Rule,
        };
        let named = |d: &Referable| {
            d.id.as_ref().is_some_and(|(id, _)| id == reference)
                || d.name.as_ref().is_some_and(|(name, _)| name == reference)
        };
        documents
            .iter()
            .position(|d| d.kind == wanted && named(d))
            .or_else(|| ids.get(reference).or_else(|| names.get(reference)).copied())
    };
    let mut loads: Vec<bool> = documents.iter().map(|d| d.loads).collect();
    for &(i, _) in &errors {
        loads[i] = false;
    }
    for (i, doc) in documents.iter().enumerate() {
        for (reference, span) in &doc.references {
            let resolves = target(doc.kind, reference).is_some_and(|t| {
                documents[t].kind == DocumentKind::Rule
                    || (doc.kind == DocumentKind::Correlation
                        && documents[t].kind == DocumentKind::Correlation)
            });
            if !resolves {
                let message = match doc.kind {
                    DocumentKind::Filter => format!(
                        "the filter names `{reference}`, but no rule loaded with it has that id or name"
                    ),
                    _ => format!(
                        "the correlation names `{reference}`, but no rule or correlation loaded with it has that id or name"
                    ),
                };
                errors.push((
                    i,
                    SigmaError::new(ErrorKind::UnknownReference, *span, message),
                ));
                loads[i] = false;
            }
        }
    }
    // A correlation that reaches itself through the correlations it names can never be
    // evaluated (each waits for the other's alerts).
    for (i, doc) in documents.iter().enumerate() {
        if doc.kind != DocumentKind::Correlation || !loads[i] {
            continue;
        }
        let on_cycle = doc.references.iter().find(|(reference, _)| {
            let mut stack: Vec<usize> = target(doc.kind, reference).into_iter().collect();
            let mut seen = vec![false; documents.len()];
            while let Some(t) = stack.pop() {
                if t == i {
                    return true;
                }
                if documents[t].kind != DocumentKind::Correlation
                    || std::mem::replace(&mut seen[t], true)
                {
                    continue;
                }
                stack.extend(
                    documents[t]
                        .references
                        .iter()
                        .filter_map(|(r, _)| target(DocumentKind::Correlation, r)),
                );
            }
            false
        });
        if let Some((reference, span)) = on_cycle {
            errors.push((
                i,
                SigmaError::new(
                    ErrorKind::ReferenceCycle,
                    *span,
                    format!(
                        "the correlation names `{reference}`, which leads back to it through a chain of correlations"
                    ),
                ),
            ));
        }
    }
    for &(i, ref error) in &errors {
        if error.kind == ErrorKind::ReferenceCycle {
            loads[i] = false;
        }
    }
    // A correlation over a document that does not load cannot be evaluated; chains of
    // correlations pass that on, so repeat until nothing changes (each round drops one at least).
    loop {
        let mut changed = false;
        for (i, doc) in documents.iter().enumerate() {
            if doc.kind != DocumentKind::Correlation || !loads[i] {
                continue;
            }
            let broken = doc
                .references
                .iter()
                .find(|(reference, _)| target(doc.kind, reference).is_some_and(|t| !loads[t]));
            if let Some((reference, span)) = broken {
                errors.push((
                    i,
                    SigmaError::new(
                        ErrorKind::UnknownReference,
                        *span,
                        format!(
                            "the correlation names `{reference}`, which does not load (see its errors)"
                        ),
                    ),
                ));
                loads[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    errors
}
