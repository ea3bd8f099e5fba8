//! The mutation part of the repository's coverage policy: `min_mutation_score` in
//! `ruleproof.yml`'s `coverage:` section, by status and level like the other requirements.

use std::path::PathBuf;

use ruleproof_cases::policy::Policy;

use crate::run::MutationReport;

/// A rule whose cases kill fewer mutants than its policy requires.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortfall {
    /// The rule file.
    pub path: PathBuf,
    /// The rule's title.
    pub title: String,
    /// The required score, per cent.
    pub required: u32,
    /// The score it has, per cent.
    pub score: f64,
}

impl Shortfall {
    /// `needs a 100% mutation score, has 95.5%`.
    pub fn message(&self) -> String {
        format!(
            "needs a {}% mutation score, has {:.1}%",
            self.required, self.score
        )
    }
}

/// The rules of a report that miss their required mutation score. A rule whose every mutant is
/// equivalent (no score) meets any requirement.
pub fn check(report: &MutationReport, policy: &Policy) -> Vec<Shortfall> {
    report
        .rules
        .iter()
        .filter_map(|rule| {
            let required = policy
                .requirements_for(rule.rule.status.as_deref(), rule.rule.level.as_deref())
                .min_mutation_score?
                .get();
            let score = rule.score()?;
            (score + 1e-9 < f64::from(required)).then(|| Shortfall {
                path: rule.rule.path.clone(),
                title: rule.rule.title.clone(),
                required,
                score,
            })
        })
        .collect()
}
