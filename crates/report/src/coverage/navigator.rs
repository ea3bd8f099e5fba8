//! The MITRE ATT&CK Navigator layer of `coverage --format navigator` (layer format 4.5,
//! <https://github.com/mitre-attack/attack-navigator/blob/master/layers/LAYERFORMATv4_5.md>):
//! one entry per technique named by a rule's `attack.tNNNN[.NNN]` tag, scored by the rules that
//! are proven — their test cases exist, all pass, and the rule meets the coverage policy — and
//! with every rule that is not, and why, in the technique's comment. Other tools score a
//! technique by how many rules claim it; this layer scores it by proof.

use std::collections::BTreeMap;

use ruleproof_cases::coverage::{CoverageReport, RuleCoverage};
use ruleproof_cases::policy::PolicyReport;
use serde_json::{Value, json};

/// The layer format version written in `versions.layer`.
pub const LAYER_VERSION: &str = "4.5";

/// The technique id a Sigma tag names (`attack.t1059.001` is `T1059.001`), if it names one.
pub fn technique_id(tag: &str) -> Option<String> {
    let id = tag.strip_prefix("attack.")?;
    let digits = id.strip_prefix('t').or_else(|| id.strip_prefix('T'))?;
    let (main, sub) = match digits.split_once('.') {
        Some((main, sub)) => (main, Some(sub)),
        None => (digits, None),
    };
    let numeric = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(main, 4) || sub.is_some_and(|s| !numeric(s, 3)) {
        return None;
    }
    Some(match sub {
        Some(sub) => format!("T{main}.{sub}"),
        None => format!("T{main}"),
    })
}

/// The rules tagged with one technique: the proven ones' titles, and the others' titles with
/// why each is not proven.
type Technique = (Vec<String>, Vec<(String, String)>);

/// Why a rule is not proven, or `None` when it is.
fn unproven_because(rule: &RuleCoverage, verdict: &PolicyReport) -> Option<String> {
    if rule.test_file.is_none() {
        return Some("no test cases".to_owned());
    }
    if !rule.errors.is_empty() {
        return Some("its test cases do not load".to_owned());
    }
    if rule.cases.failing > 0 {
        return Some(format!("{} failing case(s)", rule.cases.failing));
    }
    if rule.cases.total() == 0 {
        return Some("no test cases".to_owned());
    }
    verdict
        .failures
        .iter()
        .find(|f| f.path == rule.rule.path)
        .map(|f| format!("policy: {}", f.lacks.join("; ")))
}

/// The layer: per technique, `score` is the number of proven rules tagged with it; `comment`
/// lists the proven rules and each other rule with why it is not proven; `metadata` holds one
/// `proven` or `not proven` entry per rule.
pub fn navigator(report: &CoverageReport, verdict: &PolicyReport) -> Value {
    let mut techniques: BTreeMap<String, Technique> = BTreeMap::new();
    for rule in &report.rules {
        let why = unproven_because(rule, verdict);
        let mut ids: Vec<String> = rule
            .rule
            .tags
            .iter()
            .filter_map(|t| technique_id(t))
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let entry = techniques.entry(id).or_default();
            match &why {
                None => entry.0.push(rule.rule.title.clone()),
                Some(why) => entry.1.push((rule.rule.title.clone(), why.clone())),
            }
        }
    }
    let max = techniques
        .values()
        .map(|(p, _)| p.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let entries: Vec<Value> = techniques
        .iter()
        .map(|(id, (proven, unproven))| {
            let mut comment = Vec::new();
            if !proven.is_empty() {
                comment.push(format!("proven: {}", proven.join("; ")));
            }
            if !unproven.is_empty() {
                let listed: Vec<String> = unproven
                    .iter()
                    .map(|(t, why)| format!("{t} ({why})"))
                    .collect();
                comment.push(format!("not proven: {}", listed.join("; ")));
            }
            let metadata: Vec<Value> =
                proven
                    .iter()
                    .map(|t| json!({"name": "proven", "value": t}))
                    .chain(unproven.iter().map(
                        |(t, why)| json!({"name": "not proven", "value": format!("{t} ({why})")}),
                    ))
                    .collect();
            json!({
                "techniqueID": id,
                "score": proven.len(),
                "comment": comment.join(". "),
                "enabled": true,
                "metadata": metadata,
                "showSubtechniques": false,
            })
        })
        .collect();
    json!({
        "name": "ruleproof: techniques proven by fixtures",
        "versions": { "layer": LAYER_VERSION },
        "domain": "enterprise-attack",
        "description": "Score: rules tagged with the technique whose test cases all pass and that meet the coverage policy (ruleproof coverage --format navigator). Rules that are not proven score nothing and are listed in the comment.",
        "sorting": 3,
        "hideDisabled": false,
        "techniques": entries,
        "gradient": { "colors": ["#ffffff", "#31a354"], "minValue": 0, "maxValue": max },
        "legendItems": [
            { "label": "no proven rule", "color": "#ffffff" },
            { "label": format!("{max} proven rule(s)"), "color": "#31a354" }
        ],
    })
}
