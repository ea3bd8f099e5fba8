//! The value modifiers of Sigma 2.1 and the rules for combining them.

use std::fmt;

/// One modifier as written after a `|` in a detection key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `contains`: the value may occur anywhere in the field (wildcards added on both sides).
    Contains,
    /// `startswith`: the field must begin with the value.
    StartsWith,
    /// `endswith`: the field must end with the value.
    EndsWith,
    /// `all`: every value of the list must match, instead of any one (Sigma spec, "all").
    All,
    /// `exists`: tests only whether the field is present; the value must be `true` or `false`.
    Exists,
    /// `cased`: compare case-sensitively instead of Sigma's default case-insensitive match.
    Cased,
    /// `neq`: the field must differ from every value.
    Neq,
    /// `windash`: each `-` may also be `/`, an en dash, an em dash or a horizontal bar.
    Windash,
    /// `re`: the value is a regular expression (unanchored search, as in pySigma).
    Re,
    /// `i` (also `ignorecase`): case-insensitive flag for `re`.
    ReInsensitive,
    /// `m` (also `multiline`): `^`/`$` match at line breaks, a flag for `re`.
    ReMultiline,
    /// `s` (also `dotall`): `.` also matches a newline, a flag for `re`.
    ReDotAll,
    /// `base64`: match the base64 encoding of the value.
    Base64,
    /// `base64offset`: match any of the three base64 encodings of the value at byte offsets 0, 1, 2.
    Base64Offset,
    /// `utf16le`: encode the value as UTF-16 little-endian before `base64`/`base64offset`.
    Utf16le,
    /// `utf16be`: encode the value as UTF-16 big-endian before `base64`/`base64offset`.
    Utf16be,
    /// `utf16`: encode the value as UTF-16 little-endian with a byte-order mark before `base64`/`base64offset`.
    Utf16,
    /// `wide`: alias of `utf16le`, as in pySigma.
    Wide,
    /// `lt`: the field, as a number, must be less than the value.
    Lt,
    /// `lte`: the field, as a number, must be at most the value.
    Lte,
    /// `gt`: the field, as a number, must be greater than the value.
    Gt,
    /// `gte`: the field, as a number, must be at least the value.
    Gte,
    /// `minute`: compare the minute of the field's timestamp with the value.
    Minute,
    /// `hour`: compare the hour of the field's timestamp with the value.
    Hour,
    /// `day`: compare the day of month of the field's timestamp with the value.
    Day,
    /// `week`: compare the ISO week of the field's timestamp with the value.
    Week,
    /// `month`: compare the month of the field's timestamp with the value.
    Month,
    /// `year`: compare the year of the field's timestamp with the value.
    Year,
    /// `cidr`: the field must be an IP address inside the value's CIDR network.
    Cidr,
    /// `expand`: `%name%` placeholders in the value are replaced from the compile options.
    Expand,
    /// `fieldref`: the value names another event field whose value must be equal.
    FieldRef,
}

impl Modifier {
    /// Every modifier, in declaration order; [`Modifier::parse`] searches this list.
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

    /// The spelling in a rule (lowercase, short form for the regex flags).
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

    /// True for `contains`, `startswith` and `endswith`, of which a key may carry at most one.
    pub fn is_position(self) -> bool {
        matches!(
            self,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    }

    /// True for `lt`, `lte`, `gt` and `gte`.
    pub fn is_numeric_comparison(self) -> bool {
        matches!(
            self,
            Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte
        )
    }

    /// True for the timestamp part modifiers `minute` through `year`.
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

    /// True for the `re` flags `i`, `m` and `s`, which are only valid after `re`.
    pub fn is_regex_flag(self) -> bool {
        matches!(
            self,
            Modifier::ReInsensitive | Modifier::ReMultiline | Modifier::ReDotAll
        )
    }

    /// True for the UTF-16 encodings, which are only valid before `base64`/`base64offset`.
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
