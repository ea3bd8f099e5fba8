//! The one mapping from what a command found to the process exit code, used by every command
//! (documented in `docs/output-formats.md`).

use std::process::ExitCode;

/// What a command found, from best to worst. Exit codes are part of the interface: scripts and
/// CI depend on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything checked out: exit 0.
    Ok,
    /// The command ran and found failures (a failing case, a lint error, a policy gap, an
    /// unreadable event record, unmet backtest expectations): exit 1.
    Failures,
    /// The command could not do its job completely: bad usage, an I/O error, a rule or
    /// test-case file that does not load, a directory it could not walk: exit 2.
    Error,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Failures => 1,
            Outcome::Error => 2,
        }
    }

    /// `Failures` when `failed`, else `Ok`.
    pub fn failures_if(failed: bool) -> Outcome {
        if failed {
            Outcome::Failures
        } else {
            Outcome::Ok
        }
    }

    /// `Error` when `errors`, else `Ok`.
    pub fn error_if(errors: bool) -> Outcome {
        if errors { Outcome::Error } else { Outcome::Ok }
    }

    /// The worse of two outcomes: an error outranks failures, which outrank success.
    pub fn and(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(outcome.code())
    }
}
