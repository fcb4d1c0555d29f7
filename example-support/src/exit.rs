//! How an example ends: one line on stderr and an exit code that says
//! whether the run did what it set out to do.

use std::fmt::Display;
use std::process::ExitCode;

use clap::CommandFactory;
use clap::error::ErrorKind;

/// Exit code of a run that failed (not of bad input, which is 2).
pub const FAILED: u8 = 1;

/// Turns a run's result into the exit code: 0, or the error on one line
/// (its causes joined by `: `) and [`FAILED`].
pub fn finish<E: Display>(name: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: error: {err:#}");
            ExitCode::from(FAILED)
        }
    }
}

/// Refuses the command line like clap does for a value it cannot parse:
/// one line, a pointer to `--help`, exit code 2. For checks that need
/// more than one argument or the file system.
pub fn usage_error<A: CommandFactory>(message: impl Display) -> ! {
    A::command().error(ErrorKind::ValueValidation, message).exit()
}
