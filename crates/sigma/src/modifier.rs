//! The value modifiers of Sigma 2.1 and the rules for combining them.

use std::fmt;

/// One modifier as written after a `|` in a detection key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    ReInsensitive,
    ReMultiline,
    ReDotAll,
    Base64,
    Base64Offset,
    Utf16le,
    Utf16be,
    Utf16,
    Wide,
    Lt,
    Lte,
    Gt,
    Gte,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Cidr,
    Expand,
    FieldRef,
}

impl Modifier {
    pub const ALL: [Modifier; 31] = [
        Modifier::Contains,
        Modifier::StartsWith,
        Modifier::EndsWith,
        Modifier::All,
        Modifier::Exists,
        Modifier::Cased,
        Modifier::Neq,
        Modifier::Windash,
        Modifier::Re,
        Modifier::ReInsensitive,
        Modifier::ReMultiline,
        Modifier::ReDotAll,
        Modifier::Base64,
        Modifier::Base64Offset,
        Modifier::Utf16le,
        Modifier::Utf16be,
        Modifier::Utf16,
        Modifier::Wide,
        Modifier::Lt,
        Modifier::Lte,
        Modifier::Gt,
        Modifier::Gte,
        Modifier::Minute,
        Modifier::Hour,
        Modifier::Day,
        Modifier::Week,
        Modifier::Month,
        Modifier::Year,
        Modifier::Cidr,
        Modifier::Expand,
        Modifier::FieldRef,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Modifier::Contains => "contains",
            Modifier::StartsWith => "startswith",
            Modifier::EndsWith => "endswith",
            Modifier::All => "all",
            Modifier::Exists => "exists",
            Modifier::Cased => "cased",
            Modifier::Neq => "neq",
            Modifier::Windash => "windash",
            Modifier::Re => "re",
            Modifier::ReInsensitive => "i",
            Modifier::ReMultiline => "m",
            Modifier::ReDotAll => "s",
            Modifier::Base64 => "base64",
            Modifier::Base64Offset => "base64offset",
            Modifier::Utf16le => "utf16le",
            Modifier::Utf16be => "utf16be",
            Modifier::Utf16 => "utf16",
            Modifier::Wide => "wide",
            Modifier::Lt => "lt",
            Modifier::Lte => "lte",
            Modifier::Gt => "gt",
            Modifier::Gte => "gte",
            Modifier::Minute => "minute",
            Modifier::Hour => "hour",
            Modifier::Day => "day",
            Modifier::Week => "week",
            Modifier::Month => "month",
            Modifier::Year => "year",
            Modifier::Cidr => "cidr",
            Modifier::Expand => "expand",
            Modifier::FieldRef => "fieldref",
        }
    }

    /// Parses a modifier name. Sigma names are lowercase; pySigma accepts no other spelling.
    pub fn parse(name: &str) -> Option<Modifier> {
        // The regular-expression flags also have long names in pySigma.
        let canonical = match name {
            "ignorecase" => "i",
            "multiline" => "m",
            "dotall" => "s",
            other => other,
        };
        Modifier::ALL.into_iter().find(|m| m.name() == canonical)
    }

    pub fn is_position(self) -> bool {
        matches!(
            self,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    }

    pub fn is_numeric_comparison(self) -> bool {
        matches!(
            self,
            Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte
        )
    }

    pub fn is_time_part(self) -> bool {
        matches!(
            self,
            Modifier::Minute
                | Modifier::Hour
                | Modifier::Day
                | Modifier::Week
                | Modifier::Month
                | Modifier::Year
        )
    }

    pub fn is_regex_flag(self) -> bool {
        matches!(
            self,
            Modifier::ReInsensitive | Modifier::ReMultiline | Modifier::ReDotAll
        )
    }

    pub fn is_encoding(self) -> bool {
        matches!(
            self,
            Modifier::Utf16le | Modifier::Utf16be | Modifier::Utf16 | Modifier::Wide
        )
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
