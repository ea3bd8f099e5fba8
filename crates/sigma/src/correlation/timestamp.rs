//! Event timestamps for correlations: which field holds the time, and the formats it may be
//! written in. Times are kept as milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::event::{Event, FieldPath};

/// The fields tried, in order, when no timestamp field is configured: the names used by Elastic
/// (`@timestamp`), generic JSON logs, Windows event logs (`TimeCreated`), Sysmon (`UtcTime`),
/// NXLog (`EventTime`), Azure Monitor (`TimeGenerated`) and Splunk (`_time`).
pub const DEFAULT_TIMESTAMP_FIELDS: [&str; 7] = [
    "@timestamp",
    "timestamp",
    "TimeCreated",
    "UtcTime",
    "EventTime",
    "TimeGenerated",
    "_time",
];

/// Epoch numbers at or above this are milliseconds; below, seconds. 10^11 seconds is the year
/// 5138, and 10^11 milliseconds is March 1973, so real logs are never ambiguous.
const EPOCH_MILLIS_FROM: f64 = 1e11;

/// Where an event's timestamp is read from: one configured field, or the defaults in order.
#[derive(Clone, Debug)]
pub struct TimestampFields {
    fields: Vec<FieldPath>,
}

impl Default for TimestampFields {
    fn default() -> TimestampFields {
        TimestampFields {
            fields: DEFAULT_TIMESTAMP_FIELDS
                .iter()
                .map(|f| FieldPath::new(f))
                .collect(),
        }
    }
}

impl TimestampFields {
    /// Only `field` (the `--timestamp-field` option).
    pub fn only(field: &str) -> TimestampFields {
        TimestampFields {
            fields: vec![FieldPath::new(field)],
        }
    }

    /// The names tried, in order, for messages.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(FieldPath::name).collect()
    }

    /// The event's time in milliseconds since the epoch, from the first of the fields that is
    /// present (a present field with an unusable value is an error, not a reason to look further).
    ///
    /// # Errors
    /// A message naming the field and value when no field is present or the value is no time.
    pub fn read<E: Event + ?Sized>(&self, event: &E) -> Result<i64, String> {
        for field in &self.fields {
            if let Some(value) = event.field(field) {
                return parse_timestamp(value).ok_or_else(|| {
                    format!(
                        "`{}` holds {}, which is not a time (RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` or epoch seconds/milliseconds)",
                        field.name(),
                        crate::event::preview(value)
                    )
                });
            }
        }
        Err(format!(
            "the event has no timestamp field (tried {})",
            self.names().join(", ")
        ))
    }
}

/// A JSON value as milliseconds since the epoch: RFC 3339 text, `YYYY-MM-DD HH:MM:SS[.fff]`
/// (Sysmon's `UtcTime`, read as UTC; a `T` separator is accepted too), or an epoch number in
/// seconds or milliseconds (as a number or as digits in a string).
pub fn parse_timestamp(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.timestamp_millis());
            }
            for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                    return Some(t.and_utc().timestamp_millis());
                }
            }
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return epoch(s.parse().ok()?);
            }
            None
        }
        _ => None,
    }
}

fn epoch(number: f64) -> Option<i64> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let millis = if number >= EPOCH_MILLIS_FROM {
        number
    } else {
        number * 1000.0
    };
    // Beyond chrono's range the time cannot be printed; such numbers are not timestamps.
    let millis = millis.round() as i64;
    DateTime::<Utc>::from_timestamp_millis(millis).map(|_| millis)
}

/// Milliseconds since the epoch as RFC 3339 UTC text with milliseconds, as alerts print times.
pub fn format_timestamp(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| millis.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_agree_on_one_instant() {
        let expected = Some(1_700_000_000_123);
        for value in [
            json!("2023-11-14T22:13:20.123Z"),
            json!("2023-11-14T23:13:20.123+01:00"),
            json!("2023-11-14 22:13:20.123"),
            json!(1_700_000_000_123_i64),
            json!(1_700_000_000.123),
            json!("1700000000123"),
        ] {
            assert_eq!(parse_timestamp(&value), expected, "{value}");
        }
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_timestamp(&json!(-5)), None);
        assert_eq!(
            format_timestamp(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
