//! The `ruleproof` command line: parses arguments, runs one command, prints, and exits with a
//! documented code through [`Outcome`] (0 ok, 1 failures found, 2 usage, I/O or load errors).

mod commands;
mod outcome;

use std::process::ExitCode;

use clap::Parser;

use commands::Cli;
pub use outcome::Outcome;

/// mimalloc rather than the system's allocator: loading thousands of rules on all cores makes
/// millions of small allocations, and glibc's per-thread arenas grow by `mprotect` calls and
/// page faults that were a fifth of `validate`'s time (BENCHMARKS.md, issue 14).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `print!` panics when a reader such as `head` closes the pipe.
    // With the default disposition the process ends quietly, as `cat` or `grep` do.
    sigpipe::reset();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` are not errors.
            return Outcome::error_if(e.use_stderr()).into();
        }
    };
    match commands::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            Outcome::Error.into()
        }
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the message already
/// holds: library errors name their cause in their own message (`x.yml: cannot read: No such
/// file…`), so printing the chain as is would say it twice.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
