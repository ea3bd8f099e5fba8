//! Candidate events for telling two versions of a rule apart: the generated events of one
//! version and small perturbations of its positives. Mutation testing (`cases suggest`) looks
//! among them for an event that kills a mutant; the semantic diff for a witness on which a
//! rule's base and new versions disagree. Candidates are not confirmed: the caller evaluates
//! both versions on each.

use serde_json::Value;

use ruleproof_sigma::{CompileOptions, CompiledRule, Rule};

use crate::build::generate;

/// Events that may tell a rule from a changed version of it (a mutant, or the rule at another
/// revision): the rule's generated positives and near misses,
/// and each positive with one field changed a little (a character before or after a string, the
/// other case, a number one up or down).
pub fn candidates(rule: &Rule, compiled: &CompiledRule, options: &CompileOptions) -> Vec<Value> {
    let generated = generate(rule, compiled, options);
    let mut out: Vec<Value> = generated.events.iter().map(|e| e.event.clone()).collect();
    for event in generated.events.iter().filter(|e| e.expect_match) {
        let Value::Object(fields) = &event.event else {
            continue;
        };
        for (name, value) in fields {
            let variants: Vec<Value> = match value {
                Value::String(s) => {
                    let upper = s.to_uppercase();
                    let swapped = if upper == *s { s.to_lowercase() } else { upper };
                    vec![
                        Value::String(format!("x.{s}")),
                        Value::String(format!("{s}.x")),
                        Value::String(format!("x{s}")),
                        Value::String(format!("{s}x")),
                        Value::String(swapped),
                    ]
                }
                Value::Number(n) => n
                    .as_f64()
                    .map(|n| vec![Value::from(n + 1.0), Value::from(n - 1.0)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for variant in variants {
                let mut changed = fields.clone();
                changed.insert(name.clone(), variant);
                out.push(Value::Object(changed));
            }
        }
    }
    // Integers stay integers where the engine compares them as text.
    for event in &mut out {
        if let Value::Object(fields) = event {
            for value in fields.values_mut() {
                if let Some(f) = value.as_f64()
                    && value.is_f64()
                    && f.fract() == 0.0
                {
                    *value = Value::from(f as i64);
                }
            }
        }
    }
    out
}
