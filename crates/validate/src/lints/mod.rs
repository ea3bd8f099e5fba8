//! The lints, one file each with a stable code and a What / Why / Example doc.

pub mod all_of_them;
pub mod all_single_value;
pub mod condition_syntax;
pub mod duplicate_id;
pub mod duplicate_key;
pub mod duplicate_name;
pub mod duplicate_value;
pub mod invalid_date;
pub mod invalid_document;
pub mod invalid_modifier;
pub mod invalid_regex;
pub mod missing_test_case;
pub mod modified_before_date;
pub mod null_in_list;
pub mod placeholder;
pub mod reference_cycle;
pub mod removed_construct;
pub mod schema;
pub mod suspicious_escape;
pub mod tag_format;
pub mod test_case_file;
pub mod test_case_reference;
pub mod undefined_identifier;
pub mod unknown_modifier;
pub mod unknown_related;
pub mod unknown_rule_reference;
pub mod unused_identifier;
pub mod yaml_syntax;

use ruleproof_sigma::ErrorKind;

use crate::diagnostic::Lint;

/// Every lint, in code order.
pub static ALL: &[&Lint] = &[
    &yaml_syntax::LINT,
    &duplicate_key::LINT,
    &schema::LINT,
    &invalid_document::LINT,
    &unknown_modifier::LINT,
    &invalid_modifier::LINT,
    &invalid_regex::LINT,
    &undefined_identifier::LINT,
    &condition_syntax::LINT,
    &unused_identifier::LINT,
    &all_of_them::LINT,
    &null_in_list::LINT,
    &all_single_value::LINT,
    &suspicious_escape::LINT,
    &duplicate_value::LINT,
    &removed_construct::LINT,
    &placeholder::LINT,
    &invalid_date::LINT,
    &modified_before_date::LINT,
    &tag_format::LINT,
    &duplicate_id::LINT,
    &duplicate_name::LINT,
    &unknown_related::LINT,
    &unknown_rule_reference::LINT,
    &reference_cycle::LINT,
    &test_case_file::LINT,
    &test_case_reference::LINT,
    &missing_test_case::LINT,
];

/// The lint that reports an engine error of a given kind.
pub fn for_error(kind: ErrorKind, message: &str) -> &'static Lint {
    match kind {
        ErrorKind::Yaml if message.contains("duplicate mapping key") => &duplicate_key::LINT,
        ErrorKind::Yaml => &yaml_syntax::LINT,
        ErrorKind::Structure => &invalid_document::LINT,
        ErrorKind::UnknownModifier => &unknown_modifier::LINT,
        ErrorKind::InvalidModifier | ErrorKind::InvalidValue => &invalid_modifier::LINT,
        ErrorKind::InvalidRegex => &invalid_regex::LINT,
        ErrorKind::ConditionSyntax => &condition_syntax::LINT,
        ErrorKind::UndefinedIdentifier => &undefined_identifier::LINT,
        ErrorKind::Placeholder => &placeholder::LINT,
        ErrorKind::Unsupported => &removed_construct::LINT,
        ErrorKind::DuplicateId => &duplicate_id::LINT,
        ErrorKind::DuplicateName => &duplicate_name::LINT,
        ErrorKind::UnknownReference => &unknown_rule_reference::LINT,
        ErrorKind::ReferenceCycle => &reference_cycle::LINT,
    }
}
