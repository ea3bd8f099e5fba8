//! Loading robustness: hostile, malformed and unusual files must load or fail with a positioned
//! error of the right kind without panicking; the budgets that keep hostile input fast are
//! proved by the errors they raise (speed itself is measured by benchmarks, never here).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ruleproof_sigma::detection::Scalar;
use ruleproof_sigma::pattern::display_parts;
use ruleproof_sigma::source::{read_source, source_from_bytes};
use ruleproof_sigma::{
    CompileOptions, CompiledRule, DocumentBody, DocumentKind, ErrorKind, Limits, LoadedFile,
    LoweredRule, NumOp, ReadError, SearchRole, SourceFile, ValueTest, load_file, load_source,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/loading")
        .join(name)
}

fn load_text(text: &str) -> LoadedFile {
    load_source(SourceFile::new("test.yml", text), &Limits::default())
}

/// The one error of a file that failed to load, as `(kind, message, "line:col")`.
fn only_error(loaded: &LoadedFile) -> (ErrorKind, String, String) {
    assert_eq!(
        loaded.errors.len(),
        1,
        "expected exactly one error, got {:#?}",
        loaded.errors
    );
    let error = &loaded.errors[0];
    (
        error.kind,
        error.message.clone(),
        loaded.source.line_col(error.span.start).to_string(),
    )
}

/// Asserts the single error of a load: its kind, a part of its message and its position.
fn assert_error(loaded: &LoadedFile, kind: ErrorKind, message: &str, at: &str) {
    let (got_kind, got_message, got_at) = only_error(loaded);
    assert_eq!(got_kind, kind, "kind of: {got_message}");
    assert!(
        got_message.contains(message),
        "{got_message:?} does not contain {message:?}"
    );
    assert_eq!(got_at, at, "position of: {got_message}");
    assert!(loaded.documents.is_empty());
}

#[test]
fn an_alias_bomb_breaks_the_node_budget() {
    // Each level refers nine times to the one before: ten levels would be 9^10 nodes.
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let loaded = load_text(&text);
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("budget breached"), "{message}");
    assert!(message.contains("nests or expands too far"), "{message}");
    println!("alias bomb: {at}: {message}");
}

#[test]
fn deep_block_nesting_breaks_the_depth_limit() {
    // `- - - …` on one line is a block sequence nested once per dash.
    let text = format!("{}x\n", "- ".repeat(10_000));
    let loaded = load_text(&text);
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("budget breached"), "{message}");
    println!("block nesting: {at}: {message}");
}

#[test]
fn deep_block_mapping_nesting_breaks_the_depth_limit() {
    let mut text = String::new();
    for depth in 0..200 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    let loaded = load_text(&text);
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("budget breached"), "{message}");
    println!("mapping nesting: {at}: {message}");
}

#[test]
fn deep_flow_nesting_breaks_the_depth_limit() {
    let text = format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let loaded = load_text(&text);
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("recursion limit exceeded"), "{message}");
    println!("flow nesting: {at}: {message}");
}

#[test]
fn deep_flow_mapping_nesting_breaks_the_depth_limit() {
    let text = format!("{}{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
    let loaded = load_text(&text);
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("recursion limit exceeded"), "{message}");
    println!("flow mapping nesting: {at}: {message}");
}

#[test]
fn a_deeply_nested_condition_is_an_error_not_a_stack_overflow() {
    let condition = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    let text = format!(
        "title: x\nlogsource:\n  product: test\ndetection:\n  a:\n    A: 1\n  condition: '{condition}'\n"
    );
    let loaded = load_text(&text);
    assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
    let DocumentBody::Rule(rule) = &loaded.documents[0].body else {
        panic!("not a rule");
    };
    let errors = CompiledRule::compile(rule, &CompileOptions::default())
        .expect_err("the condition nests too deep");
    assert_eq!(errors[0].kind, ErrorKind::ConditionSyntax);
    assert!(errors[0].message.contains("nests deeper than"));
    let at = loaded.source.line_col(errors[0].span.start);
    assert_eq!(at.line, 7);

    let negations = format!("{}a", "not ".repeat(10_000));
    let text = text.replace(&condition, &negations);
    let loaded = load_text(&text);
    let DocumentBody::Rule(rule) = &loaded.documents[0].body else {
        panic!("not a rule");
    };
    let errors = CompiledRule::compile(rule, &CompileOptions::default())
        .expect_err("the negations nest too deep");
    assert!(errors[0].message.contains("nests deeper than"));
}

#[test]
fn a_100_mib_file_is_refused_without_being_read() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    // A sparse file: its length is 100 MiB, but writing it costs nothing.
    file.as_file().set_len(100 * 1024 * 1024).unwrap();
    file.flush().unwrap();
    let limits = Limits::default();
    let error =
        read_source(file.path(), limits.max_file_bytes).expect_err("the file is over the limit");
    assert!(matches!(error, ReadError::TooLarge { limit, .. } if limit == 16 * 1024 * 1024));
    assert!(
        error.to_string().contains("larger than the limit"),
        "{error}"
    );
    assert_eq!(error.path(), file.path());

    // `load_file` refuses it the same way.
    let error = load_file(file.path(), &limits).expect_err("over the limit");
    assert!(error.to_string().contains("larger than the limit"));
}

#[test]
fn a_file_exactly_at_the_limit_is_read() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"title: x\n").unwrap();
    file.flush().unwrap();
    assert!(read_source(file.path(), 9).is_ok());
    let error = read_source(file.path(), 8).expect_err("one byte over");
    assert!(matches!(error, ReadError::TooLarge { limit: 8, .. }));
}

#[test]
fn invalid_utf8_is_reported_with_its_position() {
    let bytes = b"title: x\nlogsource:\n  product: t\xc3\xa4st \xff\n".to_vec();
    let error = source_from_bytes(Path::new("bad.yml"), bytes.clone()).expect_err("not UTF-8");
    match &error {
        ReadError::InvalidUtf8 { line, col, .. } => {
            // Columns count characters: `  product: täst ` is 16 characters before the bad byte.
            assert_eq!((*line, *col), (3, 17));
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(error.to_string().contains("bad.yml:3:17"), "{error}");
    assert!(error.to_string().contains("not valid UTF-8"), "{error}");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&bytes).unwrap();
    file.flush().unwrap();
    let error = load_file(file.path(), &Limits::default()).expect_err("not UTF-8");
    assert!(matches!(
        error,
        ReadError::InvalidUtf8 {
            line: 3,
            col: 17,
            ..
        }
    ));
}

#[test]
fn invalid_utf8_on_the_first_line() {
    let error = source_from_bytes(Path::new("bad.yml"), b"\xfe".to_vec()).expect_err("not UTF-8");
    assert!(matches!(
        error,
        ReadError::InvalidUtf8 {
            line: 1,
            col: 1,
            ..
        }
    ));
}

#[test]
fn a_byte_order_mark_is_dropped() {
    let loaded = load_file(&fixture("bom.yml"), &Limits::default()).unwrap();
    assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
    assert_eq!(loaded.documents.len(), 1);
    assert_eq!(loaded.documents[0].meta().title, "With a byte order mark");
    assert!(!loaded.source.text().starts_with('\u{feff}'));
    // Positions count from the first character after the mark.
    let DocumentBody::Rule(rule) = &loaded.documents[0].body else {
        panic!("not a rule");
    };
    let at = loaded
        .source
        .line_col(rule.detection.conditions[0].span.start);
    assert_eq!(at.to_string(), "7:16");
}

#[test]
fn crlf_line_endings_load_with_the_right_positions() {
    let text = "title: x\r\nlogsource:\r\n    product: windows\r\ndetection:\r\n    selection:\r\n        Image|endswith: '\\cmd.exe'\r\n    condition: selection and not filter\r\n";
    let loaded = load_text(text);
    assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
    let DocumentBody::Rule(rule) = &loaded.documents[0].body else {
        panic!("not a rule");
    };
    assert_eq!(
        rule.detection.conditions[0].text,
        "selection and not filter"
    );
    let errors =
        CompiledRule::compile(rule, &CompileOptions::default()).expect_err("`filter` is undefined");
    assert_eq!(errors[0].kind, ErrorKind::UndefinedIdentifier);
    assert_eq!(
        loaded.source.line_col(errors[0].span.start).to_string(),
        "7:34"
    );
    assert_eq!(
        loaded.source.line_text(7),
        "    condition: selection and not filter"
    );

    // The value keeps no carriage return, so the rule matches.
    let text = text.replace(" and not filter", "");
    let loaded = load_text(&text);
    let DocumentBody::Rule(rule) = &loaded.documents[0].body else {
        panic!("not a rule");
    };
    let compiled = CompiledRule::compile(rule, &CompileOptions::default()).unwrap();
    assert!(compiled.matches(&serde_json::json!({"Image": "C:\\cmd.exe"})));

    // An unknown modifier on a CRLF line is positioned on that line.
    let text = text.replace("|endswith", "|endswit");
    let loaded = load_text(&text);
    assert_error(&loaded, ErrorKind::UnknownModifier, "`endswit`", "6:15");
}

#[test]
fn a_file_with_a_rule_a_filter_and_a_correlation() {
    let loaded = load_file(&fixture("multi.yml"), &Limits::default()).unwrap();
    assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
    let kinds: Vec<DocumentKind> = loaded.documents.iter().map(|d| d.kind()).collect();
    assert_eq!(
        kinds,
        [
            DocumentKind::Rule,
            DocumentKind::Filter,
            DocumentKind::Correlation
        ]
    );
    let DocumentBody::Filter(filter) = &loaded.documents[1].body else {
        panic!("not a filter");
    };
    assert_eq!(filter.rules[0].0, "6f3e2987-db24-4c78-a860-b4f4095a7095");
    assert_eq!(
        loaded.source.line_col(filter.rules[0].1.start).to_string(),
        "18:11"
    );
    let DocumentBody::Correlation(correlation) = &loaded.documents[2].body else {
        panic!("not a correlation");
    };
    assert_eq!(correlation.correlation_type.as_str(), "event_count");
    assert_eq!(correlation.group_by, ["User", "Computer"]);
    assert_eq!(correlation.timespan.text, "10m");
    assert_eq!(correlation.timespan.seconds, 600);
    assert_eq!(correlation.rules.len(), 1);
}

#[test]
fn a_correlation_with_an_unknown_type_is_an_error() {
    let text = "title: c\ncorrelation:\n    type: event_sum\n    rules: [r]\n    timespan: 5m\n";
    assert_error(
        &load_text(text),
        ErrorKind::Structure,
        "unknown correlation type `event_sum`",
        "3:11",
    );
    let text = "title: c\ncorrelation:\n    type: temporal\n    timespan: 5m\n";
    assert_error(
        &load_text(text),
        ErrorKind::Structure,
        "a correlation needs `rules`",
        "3:5",
    );
}

#[test]
fn duplicate_keys_are_an_error_at_the_second_key() {
    let loaded = load_file(&fixture("duplicate-key.yml"), &Limits::default()).unwrap();
    assert_error(&loaded, ErrorKind::Yaml, "duplicate", "7:5");
}

#[test]
fn malformed_yaml_is_an_error_with_its_position() {
    let loaded = load_file(&fixture("malformed.yml"), &Limits::default()).unwrap();
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    // The unclosed flow sequence swallows the next line; the parser stops at its `:`.
    assert!(message.contains("illegal placement of ':'"), "{message}");
    assert_eq!(at, "7:14");
}

#[test]
fn a_tab_in_indentation_is_an_error_with_its_position() {
    let loaded = load_text("title: x\ndetection:\n\tselection: 1\n");
    let (kind, message, at) = only_error(&loaded);
    assert_eq!(kind, ErrorKind::Yaml);
    // The parser reports the position just after the tab it refuses.
    assert!(message.contains("tabs disallowed"), "{message}");
    assert_eq!(at, "3:2");
}

#[test]
fn an_unknown_document_kind_is_an_error() {
    let loaded = load_file(&fixture("unknown-kind.yml"), &Limits::default()).unwrap();
    assert_error(&loaded, ErrorKind::Structure, "not a Sigma document", "1:1");
}

#[test]
fn a_document_that_is_not_a_mapping_is_an_error() {
    assert_error(
        &load_text("- a\n- b\n"),
        ErrorKind::Structure,
        "a Sigma document must be a mapping, not a list",
        "1:1",
    );
    assert_error(
        &load_text("just text\n"),
        ErrorKind::Structure,
        "not a string",
        "1:1",
    );
}

#[test]
fn a_file_without_a_document_is_an_error() {
    // A truncated rule file must not pass as "no rules".
    for text in ["", "\n", "---\n", "# only a comment\n", "---\n---\n"] {
        let loaded = load_text(text);
        assert!(loaded.documents.is_empty(), "{text:?}");
        assert_error(
            &loaded,
            ErrorKind::Structure,
            "holds no Sigma document",
            "1:1",
        );
    }
}

#[test]
fn a_trailing_document_separator_is_harmless() {
    let loaded = load_text(
        "title: x\nlogsource:\n  product: t\ndetection:\n  a:\n    A: 1\n  condition: a\n---\n",
    );
    assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
    assert_eq!(loaded.documents.len(), 1);
}

#[test]
fn a_bad_document_does_not_hide_a_good_one() {
    let loaded = load_text(
        "title: good\nlogsource:\n  product: t\ndetection:\n  a:\n    A: 1\n  condition: a\n---\ntitle: bad\nlogsource: 5\ndetection:\n  a:\n    A: 1\n  condition: a\n",
    );
    assert_eq!(loaded.documents.len(), 1);
    assert_eq!(loaded.documents[0].meta().title, "good");
    assert_error_in(
        &loaded,
        ErrorKind::Structure,
        "`logsource` must be a mapping",
        "10:12",
    );
}

/// Asserts that one of several errors has the kind, message and position.
fn assert_error_in(loaded: &LoadedFile, kind: ErrorKind, message: &str, at: &str) {
    let found = loaded.errors.iter().any(|e| {
        e.kind == kind
            && e.message.contains(message)
            && loaded.source.line_col(e.span.start).to_string() == at
    });
    assert!(
        found,
        "no {kind:?} {message:?} at {at} in {:#?}",
        loaded.errors
    );
}

#[test]
fn a_flow_nesting_just_over_the_depth_limit_is_an_error() {
    let text = format!("{}{}\n", "[".repeat(70), "]".repeat(70));
    let (kind, message, at) = only_error(&load_text(&text));
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("budget breached"), "{message}");
    assert_eq!(at, "1:65");
    // Under the limit the YAML loads, and only the Sigma structure is wrong.
    let text = format!("{}{}\n", "[".repeat(60), "]".repeat(60));
    let (kind, _, _) = only_error(&load_text(&text));
    assert_eq!(kind, ErrorKind::Structure);
}

#[test]
fn many_documents_in_one_file_load_up_to_the_document_budget() {
    let document = |i: usize| {
        format!(
            "title: rule {i}\nlogsource:\n  product: t\ndetection:\n  a:\n    A: {i}\n  condition: a\n---\n"
        )
    };
    let text: String = (0..1_024).map(document).collect();
    let text = text.strip_suffix("---\n").unwrap();
    let loaded = load_text(text);
    assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
    assert_eq!(loaded.documents.len(), 1_024);
    // The YAML parser's budget allows 1024 documents a file; one more is refused.
    let text: String = (0..1_025).map(document).collect();
    let (kind, message, at) = only_error(&load_text(&text));
    assert_eq!(kind, ErrorKind::Yaml);
    assert!(message.contains("Documents"), "{message}");
    // The error points at the `---` that opens the 1025th document.
    assert_eq!(at, "8192:1");
}

#[test]
fn hostile_scalars_do_not_panic() {
    let long_key = "k".repeat(100_000);
    let cases = [
        format!("{long_key}: 1\n"),
        "title: x\nlogsource: {}\ndetection:\n  a:\n    '|': 1\n  condition: a\n".to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a:\n    'A|': 1\n  condition: a\n".to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a:\n    ? [1, 2]\n    : 1\n  condition: a\n"
            .to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  5: {A: 1}\n  condition: '5'\n".to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a: {A: !!binary aGVsbG8=}\n  condition: a\n"
            .to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a: {A: 99999999999999999999999}\n  condition: a\n"
            .to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a: {A: .nan}\n  condition: a\n".to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a: {'A|re': '(((((((((('}\n  condition: a\n"
            .to_owned(),
        "title: x\nlogsource: {}\ndetection:\n  a: {'A|re': 'a{1000}{1000}{1000}'}\n  condition: a\n"
            .to_owned(),
        "title: ü\nlogsource: {}\ndetection:\n  ä: {'Ö|endswith': 'ß'}\n  condition: 'ä and nicht'\n"
            .to_owned(),
    ];
    for text in &cases {
        let loaded = load_text(text);
        for document in &loaded.documents {
            if let DocumentBody::Rule(rule) = &document.body
                && let Ok(compiled) = CompiledRule::compile(rule, &CompileOptions::default())
            {
                let event = serde_json::json!({"A": "x", "Ö": "ß"});
                let _ = compiled.matches(&event);
                let _ = compiled.explain(&event).to_string();
            }
        }
        for error in &loaded.errors {
            let _ = error.render(&loaded.source);
        }
    }
}

#[test]
fn the_outline_gives_identity_and_role_without_evaluating() {
    let loaded = load_text(
        "title: t\nlogsource:\n  product: p\ndetection:\n  selection:\n    A: 1\n  filter_a:\n    B|neq: [x, z]\n  filter_b:\n    - C: 3\n    - D: 4\n  keywords:\n    - evil\n  condition: (selection or keywords) and not 1 of filter_*\n",
    );
    let Some(DocumentBody::Rule(rule)) = loaded.documents.first().map(|d| &d.body) else {
        panic!("not a rule: {:#?}", loaded.errors);
    };
    let compiled = CompiledRule::compile(rule, &CompileOptions::default()).unwrap();
    let outline: Vec<(String, SearchRole, bool, usize)> = compiled
        .outline()
        .into_iter()
        .map(|s| (s.name, s.role, s.keywords, s.maps.len()))
        .collect();
    assert_eq!(
        outline,
        [
            ("selection".to_owned(), SearchRole::Selection, false, 1),
            ("filter_a".to_owned(), SearchRole::Filter, false, 1),
            ("filter_b".to_owned(), SearchRole::Filter, false, 2),
            ("keywords".to_owned(), SearchRole::Selection, true, 1),
        ]
    );
    let filter_a = &compiled.outline()[1].maps[0][0];
    assert_eq!(
        (
            filter_a.key.as_str(),
            filter_a.negated,
            filter_a.values.clone()
        ),
        ("B|neq", true, vec!["x".to_owned(), "z".to_owned()])
    );
    // An explanation has the same searches, and the same roles.
    let explanation = compiled.explain(&serde_json::json!({"A": 1, "C": 3}));
    let roles: Vec<SearchRole> = explanation.searches.iter().map(|s| s.role).collect();
    assert_eq!(
        roles,
        [
            SearchRole::Selection,
            SearchRole::Filter,
            SearchRole::Filter,
            SearchRole::Selection
        ]
    );
    let rejected: Vec<&str> = explanation
        .reasons(true)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    // `B` is absent, so `B|neq` holds and `filter_a` rejects the event as well as `filter_b`.
    assert_eq!(rejected, ["filter_a", "filter_b"]);
}

#[test]
fn compiled_rules_and_the_index_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<CompiledRule>();
    shareable::<ruleproof_sigma::CompiledFilter>();
    shareable::<ruleproof_sigma::ruleset::RuleSetIndex>();
}

#[test]
fn the_lowered_form_holds_typed_tests_with_placeholders_expanded_once() {
    let loaded = load_text(
        "title: t\nlogsource:\n  product: p\ndetection:\n  selection:\n    Image|endswith|expand: '\\\\%shells%.exe'\n    EventID: 4688\n    Size|gt: 10\n  condition: selection\n",
    );
    let Some(DocumentBody::Rule(rule)) = loaded.documents.first().map(|d| &d.body) else {
        panic!("not a rule: {:#?}", loaded.errors);
    };
    let options = CompileOptions {
        placeholders: Some(
            [(
                "shells".to_owned(),
                vec!["cmd".to_owned(), "pwsh".to_owned()],
            )]
            .into(),
        ),
    };
    let lowered = LoweredRule::lower(rule, &options).unwrap();
    let items = &lowered.searches[0].maps[0];
    let image: Vec<String> = items[0].values[0]
        .tests
        .iter()
        .map(|t| match t {
            ValueTest::Pattern(parts) => display_parts(parts),
            other => panic!("not a pattern: {other:?}"),
        })
        .collect();
    // `display_parts` writes the one literal backslash escaped, as Sigma would.
    assert_eq!(image, [r"*\\cmd.exe", r"*\\pwsh.exe"]);
    assert_eq!(items[0].key, "Image|endswith|expand");
    assert_eq!(
        items[1].values[0].tests,
        [ValueTest::Equals(Scalar::Int(4688))]
    );
    assert_eq!(
        items[2].values[0].tests,
        [ValueTest::Number(NumOp::Gt, 10.0)]
    );
    // Lowering refuses what compiling refuses, with the same errors.
    let without = LoweredRule::lower(rule, &CompileOptions::default()).unwrap_err();
    let compiled = CompiledRule::compile(rule, &CompileOptions::default()).unwrap_err();
    assert_eq!(without, compiled);
}
