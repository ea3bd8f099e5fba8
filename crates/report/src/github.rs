//! GitHub Actions workflow commands (`::error file=…,line=…::message`), escaped as the runner expects.

/// Escapes a message: `%`, CR and LF must be percent-encoded or the annotation is cut short.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, which additionally may not contain `:` or `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation line.
pub fn annotation(
    level: &str,
    file: &str,
    line: u32,
    col: u32,
    title: &str,
    message: &str,
) -> String {
    format!(
        "::{level} file={},line={line},col={col},title={}::{}",
        escape_property(file),
        escape_property(title),
        escape_data(message)
    )
}
