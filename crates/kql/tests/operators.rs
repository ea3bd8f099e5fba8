//! Data-driven checks of operator semantics, literal forms and parse errors, read from
//! `tests/data/*.yml`, plus the seed hunting query and robustness against hostile input.

use ruleproof_kql::{Query, line_col};
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorRow {
    /// A predicate, run as `T | where <predicate>`.
    #[serde(default, rename = "where")]
    predicate: Option<String>,
    /// A whole query, for rows about stages, table names and comments.
    #[serde(default)]
    query: Option<String>,
    record: Map<String, Value>,
    expect: bool,
}

/// A row of `nulls.yml`: a predicate's three-valued value, with the page that documents it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NullRow {
    #[serde(default, rename = "where")]
    predicate: Option<String>,
    #[serde(default)]
    query: Option<String>,
    record: Map<String, Value>,
    /// `true`, `false` or `null`.
    expect: Option<bool>,
    /// The Microsoft documentation page stating the rule.
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorRow {
    query: String,
    message: String,
    at: usize,
}

fn rows<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<Spanned<T>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The query of a row given as a `where` predicate or a whole `query`, parsed.
fn row_query(
    line: u64,
    predicate: &Option<String>,
    query: &Option<String>,
) -> Result<(String, Query), String> {
    let query = match (predicate, query) {
        (Some(predicate), None) => format!("T | where {predicate}"),
        (None, Some(query)) => query.clone(),
        _ => {
            return Err(format!(
                "line {line}: give exactly one of `where` and `query`"
            ));
        }
    };
    let parsed = Query::parse(&query).map_err(|e| {
        let (l, c) = line_col(&query, e.span.start);
        format!("line {line}: `{query}` failed to parse at {l}:{c}: {e}")
    })?;
    Ok((query, parsed))
}

/// Checks one operator row, describing the row and what differed when it fails.
fn check(row: &Spanned<OperatorRow>) -> Result<(), String> {
    let line = row.referenced.line();
    let (query, parsed) = row_query(line, &row.value.predicate, &row.value.query)?;
    let record = &row.value.record;
    let got = parsed.evaluate(record);
    if got != row.value.expect {
        return Err(format!(
            "line {line}: `{query}` on {} gave {got}, expected {}\n{}",
            Value::Object(record.clone()),
            row.value.expect,
            parsed.explain(record)
        ));
    }
    if parsed.explain(record).result != got {
        return Err(format!(
            "line {line}: explain and evaluate disagree on `{query}`"
        ));
    }
    Ok(())
}

#[test]
fn operator_semantics() {
    let rows = rows::<OperatorRow>("operators.yml");
    assert!(rows.len() > 100, "only {} rows were read", rows.len());
    let failures: Vec<String> = rows.iter().filter_map(|row| check(row).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Checks one null-logic row: the three-valued value, `where`'s verdict (true only) and the
/// explanation's value all agree with the documented one.
fn check_null(row: &Spanned<NullRow>) -> Result<(), String> {
    let line = row.referenced.line();
    let row = &row.value;
    if !row.source.starts_with("https://learn.microsoft.com/") {
        return Err(format!(
            "line {line}: the source must be a Microsoft documentation page"
        ));
    }
    let (query, parsed) = row_query(line, &row.predicate, &row.query)?;
    let shown = |v: Option<bool>| v.map_or("null".to_owned(), |b| b.to_string());
    let value = parsed.value(&row.record);
    let explanation = parsed.explain(&row.record);
    if value != row.expect {
        return Err(format!(
            "line {line}: `{query}` on {} is {}, expected {} ({})\n{explanation}",
            Value::Object(row.record.clone()),
            shown(value),
            shown(row.expect),
            row.source
        ));
    }
    if parsed.evaluate(&row.record) != (row.expect == Some(true)) {
        return Err(format!(
            "line {line}: `where` kept a row whose predicate is not true"
        ));
    }
    if explanation.result != (row.expect == Some(true)) {
        return Err(format!(
            "line {line}: explain and evaluate disagree on `{query}`"
        ));
    }
    Ok(())
}

#[test]
fn null_logic_follows_microsofts_documentation() {
    let rows = rows::<NullRow>("nulls.yml");
    assert!(rows.len() > 30, "only {} rows were read", rows.len());
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| check_null(row).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_errors() {
    let rows = rows::<ErrorRow>("errors.yml");
    assert!(rows.len() > 40, "only {} rows were read", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let line = row.referenced.line();
        let ErrorRow { query, message, at } = &row.value;
        match Query::parse(query) {
            Ok(_) => failures.push(format!("line {line}: `{query}` parsed, expected an error")),
            Err(e) if !e.message.contains(message.as_str()) || e.span.start != *at => {
                failures.push(format!(
                    "line {line}: `{query}` gave \"{}\" at {:?}, expected \"{message}\" at {at}",
                    e.message, e.span
                ));
            }
            Err(e) if e.span.end > query.len() || e.span.start > e.span.end => {
                failures.push(format!("line {line}: span {:?} is out of bounds", e.span));
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const SEED: &str = r#"imNetworkSession
| where DstHostname in~ ("pool.minexmr.com", "fr.minexmr.com", "de.minexmr.com", "sg.minexmr.com", "ca.minexmr.com", "us-west.minexmr.com", "pool.supportxmr.com", "mine.c3pool.com", "xmr-eu1.nanopool.org", "xmr-eu2.nanopool.org", "xmr-us-east1.nanopool.org", "xmr-us-west1.nanopool.org", "xmr-asia1.nanopool.org", "xmr-jp1.nanopool.org", "xmr-au1.nanopool.org", "xmr.2miners.com", "xmr.hashcity.org", "xmr.f2pool.com", "xmrpool.eu", "pool.hashvault.pro", "moneroocean.stream", "monerocean.stream")"#;

fn record(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn seed_query() {
    let query = Query::parse(SEED).unwrap();
    assert_eq!(query.table(), "imNetworkSession");
    let hit = record(&[("DstHostname", Value::from("POOL.SUPPORTXMR.COM"))]);
    let miss = record(&[("DstHostname", Value::from("a.pool.minexmr.com"))]);
    assert!(query.evaluate(&hit));
    assert!(!query.evaluate(&miss));
    assert!(!query.evaluate(&Map::new()));
}

#[test]
fn explanation_tree() {
    let query =
        Query::parse("T | where A == \"x\" and (B has \"y\" or not(C > 2)) | where isnull(D)")
            .unwrap();
    let rec = record(&[("A", Value::from("x")), ("C", Value::from(5))]);
    let explanation = query.explain(&rec);
    assert!(!explanation.result);
    assert_eq!(explanation.source, "T");
    assert_eq!(explanation.children.len(), 2);
    let first = &explanation.children[0];
    assert_eq!(first.source, "A == \"x\" and (B has \"y\" or not(C > 2))");
    assert!(!first.result);
    assert_eq!(first.children[0].fields[0].value, Some(Value::from("x")));
    assert_eq!(first.children[1].children[0].fields[0].value, None);
    assert!(explanation.children[1].result);
    let printed = explanation.to_string();
    let expected = "\
false  T
  false  A == \"x\" and (B has \"y\" or not(C > 2))
    true   A == \"x\"  [A = \"x\"]
    false  (B has \"y\" or not(C > 2))
      false  B has \"y\"  [B is missing]
      false  not(C > 2)
        true   C > 2  [C = 5]
  true   isnull(D)  [D is missing]
";
    assert_eq!(printed, expected);
}

#[test]
fn line_and_column() {
    let text = "T\n| where A é= 1";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 2), (2, 1));
    let at = text.find('=').unwrap();
    assert_eq!(line_col(text, at), (2, 12));
    assert_eq!(line_col(text, at - 1), (2, 11));
    assert_eq!(line_col(text, 1000), (2, 15));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for opener in ["(", "not("] {
        let query = format!(
            "T | where {}A == 1{}",
            opener.repeat(10_000),
            ")".repeat(10_000)
        );
        let error = Query::parse(&query).unwrap_err();
        assert!(error.message.contains("nests deeper"), "{error}");
    }
    // Long flat chains are not nesting and stay accepted.
    let chain = vec!["A == 1"; 10_000].join(" or ");
    let query = Query::parse(&format!("T | where {chain}")).unwrap();
    assert!(query.evaluate(&record(&[("A", Value::from(1))])));
    // Nesting up to the limit is fine.
    let query = format!("T | where {}A == 1{}", "(".repeat(256), ")".repeat(256));
    assert!(Query::parse(&query).is_ok());
}

#[test]
fn arbitrary_input_never_panics() {
    let pieces = [
        "T",
        "|",
        " where ",
        "A",
        "==",
        "\"x",
        "\"",
        "'",
        "@",
        "h",
        "(",
        ")",
        "[",
        "]",
        "not",
        "and",
        "or",
        "in~",
        "!",
        "has_any",
        "dynamic",
        "between",
        "..",
        "1",
        "-",
        "1.5e",
        "0x",
        "\\u",
        "\\",
        "é",
        "`",
        "```",
        "matches",
        "regex",
        ",",
        "//",
        "\n",
        "ipv4_is_in_range",
        "isempty",
        "~",
        "=",
        "<",
        ">=",
    ];
    // A fixed linear congruential sequence keeps the test deterministic without a dependency.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..20_000 {
        let mut query = String::new();
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let len = (state >> 60) as usize + 1;
        for _ in 0..len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            query.push_str(pieces[(state >> 33) as usize % pieces.len()]);
        }
        match Query::parse(&query) {
            Ok(parsed) => {
                parsed.evaluate(&Map::new());
                parsed.explain(&Map::new()).to_string();
            }
            Err(e) => {
                assert!(
                    e.span.start <= e.span.end && e.span.end <= query.len(),
                    "{query:?}"
                );
                assert!(query.is_char_boundary(e.span.start), "{query:?}");
                assert!(query.is_char_boundary(e.span.end), "{query:?}");
                line_col(&query, e.span.start);
            }
        }
    }
}
