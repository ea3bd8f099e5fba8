//! Which log source a corpus comes from: a `--logsource` value or a mapping file from file globs
//! to log sources. Events rarely say it themselves, so routing rules by log source is opt-in.

use std::path::Path;

use ruleproof_sigma::LogSource;
use serde::Deserialize;

/// Why a `--logsource` value or a log-source mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LogSourceError {
    /// The `--logsource` value (held here as given) is not `key:value` pairs with keys among
    /// `product`, `category`, `service`, or names none of them.
    #[error(
        "`{0}`: a log source is `key:value` pairs (product, category, service) separated by commas"
    )]
    Syntax(String),
    #[error("{path}: cannot read: {source}")]
    /// The mapping file could not be read.
    Read {
        /// The mapping file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The mapping file does not parse as a YAML list of entries: `path:line:col: message`.
    #[error("{0}")]
    Yaml(String),
    /// The mapping file holds nothing ([`LogSourceMap::load`]), or an entry's `files` is not a
    /// glob.
    #[error("{path}: {message}")]
    Parse {
        /// The mapping file's path.
        path: String,
        /// What is empty, or which glob is bad.
        message: String,
    },
}

/// Parses `product:windows,category:process_creation` (the keys of a Sigma `logsource`, in any
/// order and any subset; spaces around parts are ignored).
///
/// # Errors
/// [`LogSourceError::Syntax`] for a part without `:`, an unknown key, or no part at all.
pub fn parse_logsource(text: &str) -> Result<LogSource, LogSourceError> {
    let mut logsource = LogSource::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once(':') else {
            return Err(LogSourceError::Syntax(text.to_owned()));
        };
        let value = Some(value.trim().to_owned());
        match key.trim() {
            "product" => logsource.product = value,
            "category" => logsource.category = value,
            "service" => logsource.service = value,
            _ => return Err(LogSourceError::Syntax(text.to_owned())),
        }
    }
    if logsource == LogSource::default() {
        return Err(LogSourceError::Syntax(text.to_owned()));
    }
    Ok(logsource)
}

#[derive(Debug, Deserialize)]
struct Entry {
    files: String,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    service: Option<String>,
}

/// A mapping file: a list of `{files: GLOB, product, category, service}`; the first entry whose
/// glob matches a corpus file (its path as given, or its file name) gives its log source.
#[derive(Debug, Default)]
pub struct LogSourceMap {
    entries: Vec<(glob::Pattern, LogSource)>,
}

impl LogSourceMap {
    /// Reads and parses a mapping file.
    ///
    /// # Errors
    /// [`LogSourceError::Read`] when it cannot be read, else as [`LogSourceMap::parse`].
    pub fn load(path: &Path) -> Result<LogSourceMap, LogSourceError> {
        let text = std::fs::read_to_string(path).map_err(|source| LogSourceError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if holds_nothing(&text) {
            return Err(LogSourceError::Parse {
                path: path.display().to_string(),
                message: "the log-source map is empty: give a list of `{files, product, category, \
                          service}`"
                    .to_owned(),
            });
        }
        LogSourceMap::parse(&text, path)
    }

    /// Parses the YAML text of a mapping file; `path` only names it in errors.
    ///
    /// # Errors
    /// [`LogSourceError::Yaml`] when the YAML is not a list of entries, [`LogSourceError::Parse`]
    /// when a glob is invalid.
    pub fn parse(text: &str, path: &Path) -> Result<LogSourceMap, LogSourceError> {
        let parse_error = |message: String| LogSourceError::Parse {
            path: path.display().to_string(),
            message,
        };
        let entries: Vec<Entry> = serde_saphyr::from_str(text)
            .map_err(|e| LogSourceError::Yaml(ruleproof_sigma::yaml::located_error(path, &e)))?;
        let mut map = LogSourceMap::default();
        for entry in entries {
            let pattern = glob::Pattern::new(&entry.files)
                .map_err(|e| parse_error(format!("`{}` is not a glob: {e}", entry.files)))?;
            map.entries.push((
                pattern,
                LogSource {
                    product: entry.product,
                    category: entry.category,
                    service: entry.service,
                },
            ));
        }
        Ok(map)
    }

    /// The log source of a corpus file, if an entry names it.
    pub fn for_file(&self, file: &str) -> Option<&LogSource> {
        let name = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.entries
            .iter()
            .find(|(p, _)| p.matches(file) || p.matches(&name))
            .map(|(_, l)| l)
    }
}

/// Whether a YAML file's text holds nothing but blank lines, comments and document markers: a
/// file given on the command line that says nothing is an error, as an empty rule file is.
pub(crate) fn holds_nothing(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

pub(crate) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_and_mapping_files() {
        let l = parse_logsource("product:windows, category:process_creation").unwrap();
        assert_eq!(l.product.as_deref(), Some("windows"));
        assert_eq!(l.category.as_deref(), Some("process_creation"));
        assert!(parse_logsource("windows").is_err());
        assert!(parse_logsource("vendor:x").is_err());
        let map = LogSourceMap::parse(
            "- files: 'sysmon/*.jsonl'\n  product: windows\n  category: process_creation\n- files: '*.gz'\n  product: linux\n",
            Path::new("map.yml"),
        )
        .unwrap();
        assert_eq!(
            map.for_file("sysmon/a.jsonl")
                .and_then(|l| l.category.as_deref()),
            Some("process_creation")
        );
        assert_eq!(
            map.for_file("/data/x.jsonl.gz")
                .and_then(|l| l.product.as_deref()),
            Some("linux")
        );
        assert!(map.for_file("other.json").is_none());
    }
}
