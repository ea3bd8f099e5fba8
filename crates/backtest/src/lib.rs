//! Backtests: whole Sigma rule sets replayed over event corpora at speed.
//!
//! [`events`] reads JSON Lines, gzip and EVTX-converter JSON into flat events; [`run`] matches a corpus in parallel with the rule-set index;
//! [`expect`] checks match counts against an expectations file (with an allowlist of known false
//! positives); [`regression`] runs SigmaHQ's `regression_data` layout.

#![deny(missing_docs)]

pub mod correlate;
pub mod events;
pub mod expect;
pub mod logsource;
pub mod regression;
pub mod run;
