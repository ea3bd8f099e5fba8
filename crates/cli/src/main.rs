//! The `ruleproof` command line: parses arguments, runs one command, prints, and exits with a
//! documented code (0 ok, 1 failures found, 2 usage or I/O error).

mod commands;

use std::process::ExitCode;

use clap::Parser;

use commands::Cli;

/// Exit codes are part of the interface; scripts and CI depend on them.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURES: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
