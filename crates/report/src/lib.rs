//! Renders what ruleproof found, in the formats people and CI systems read. Every renderer
//! returns text; only the binary decides where it goes.

#![deny(missing_docs)]

pub mod coverage;
pub mod diff_output;
pub mod explain_output;
pub mod generated;
pub mod github;
pub mod mutation;
pub mod test_output;
pub mod validate_output;

/// Paths in reports are shown relative to the directory the tool runs in, when they are under it.
pub fn display_path(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().ok();
    let relative = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    relative.display().to_string()
}

/// Text for a Markdown table cell: a `|` would end the cell.
pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
