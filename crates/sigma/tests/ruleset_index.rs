//! The rule-set index gives exactly the verdicts of evaluating each rule alone: every active
//! SigmaHQ rule against generated events, many of them built from the rules' own values so that
//! rules match, nearly match, and meet their literals in the wrong field or case.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use ruleproof_sigma::LogSource;
use ruleproof_sigma::ruleset::RuleSetIndex;
use serde_json::Value;

/// How many generated events each corpus check runs: each is checked against all ~3,700 rules one
/// by one, which in a debug build costs about 10 ms an event.
const EVENTS: usize = 1200;

fn compare(
    index: &RuleSetIndex,
    events: &[Value],
    route: Option<&ruleproof_sigma::ruleset::Route>,
) -> usize {
    let mut scratch = index.scratch();
    let mut out = Vec::new();
    let mut matches = 0;
    for (i, event) in events.iter().enumerate() {
        let naive: Vec<usize> = index
            .rules()
            .iter()
            .enumerate()
            .filter(|(r, rule)| route.is_none_or(|route| route.allows(*r)) && rule.matches(event))
            .map(|(r, _)| r)
            .collect();
        index.matching_rules_into(event, route, &mut scratch, &mut out);
        assert_eq!(
            out,
            naive,
            "event {i} disagrees: {event}\nindex: {:?}\nnaive: {:?}",
            out.iter()
                .map(|r| index.rules()[*r].meta.reference())
                .collect::<Vec<_>>(),
            naive
                .iter()
                .map(|r| index.rules()[*r].meta.reference())
                .collect::<Vec<_>>()
        );
        matches += naive.len();
    }
    matches
}

#[test]
fn index_agrees_with_each_rule_alone_on_the_sigmahq_corpus() {
    let Some(root) = synthetic::corpus_root() else {
        return;
    };
    let corpus = synthetic::load(&ruleproof_testkit::sigmahq_active_files(&root));
    assert!(corpus.rules.len() > 3000, "{} rules", corpus.rules.len());
    let index = RuleSetIndex::new(corpus.rules.clone());
    println!("{:?}", index.stats());

    // Most events carry the values of some rule map, a third of those as near misses.
    let events = synthetic::corpus(&corpus.groups, EVENTS, 70, 7);
    let matches = compare(&index, &events, None);
    println!("{EVENTS} events, {matches} matches");
    assert!(
        matches > EVENTS / 10,
        "too few matches ({matches}) to prove much"
    );

    let parallel = index.par_matching_rules(&events, None);
    let mut scratch = index.scratch();
    let mut out = Vec::new();
    for (event, verdict) in events.iter().zip(&parallel) {
        index.matching_rules_into(event, None, &mut scratch, &mut out);
        assert_eq!(&out, verdict, "parallel order differs");
    }

    let route = index.route(&LogSource {
        category: Some("process_creation".into()),
        product: Some("windows".into()),
        service: None,
    });
    assert!(route.count() < index.len());
    compare(&index, &events[..EVENTS / 4], Some(&route));
}

#[test]
fn index_agrees_on_events_with_values_in_the_wrong_places() {
    let Some(root) = synthetic::corpus_root() else {
        return;
    };
    let corpus = synthetic::load(&ruleproof_testkit::sigmahq_active_files(&root));
    let index = RuleSetIndex::new(corpus.rules.clone());
    // Every field gets values of random seeds regardless of the field they belong to, so the
    // literals of one field's atoms appear in others and under keyword searches.
    let mut rng = synthetic::Rng::new(99);
    let mut events = Vec::new();
    for _ in 0..EVENTS / 2 {
        let mut event = synthetic::benign(&mut rng);
        let keys: Vec<String> = event.keys().cloned().collect();
        for key in keys {
            if rng.chance(40) {
                let group = rng.pick(&corpus.groups);
                let seed = rng.pick(group);
                let mut moved = seed.clone();
                moved.field = Some(key.clone());
                let near_miss = rng.chance(20);
                synthetic::inject(&mut event, &vec![moved], &mut rng, near_miss);
            }
        }
        events.push(Value::Object(event));
    }
    compare(&index, &events, None);
}
