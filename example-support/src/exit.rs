//! How an example starts and ends: arguments parsed, logging set up, a
//! tokio runtime; at the end one line on stderr and an exit code that says
//! whether the run did what it set out to do.

use std::error::Error;
use std::fmt::Display;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::logging;

/// Exit code of a run that failed (not of bad input, which is 2).
pub const FAILED: u8 = 1;

/// An example's `main`: parses `A` (exit code 2 and one line on bad
/// input), installs the log subscriber ([`logging::init`]), runs `run` on
/// a two-thread tokio runtime and ends as [`finish`] says.
pub fn run_example<A, F, E>(name: &str, run: impl FnOnce(A) -> F) -> ExitCode
where
    A: Parser,
    F: Future<Output = Result<(), E>>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    let args = A::parse();
    logging::init();
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => finish(name, runtime.block_on(run(args))),
        Err(err) => finish(name, Err(format!("cannot start the tokio runtime: {err}"))),
    }
}

/// Turns a run's result into the exit code: 0, or the error on one line
/// ([`one_line`]) and [`FAILED`].
pub fn finish<E: Into<Box<dyn Error + Send + Sync>>>(name: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: error: {}", one_line(err.into().as_ref()));
            ExitCode::from(FAILED)
        }
    }
}

/// An error and its causes joined by `: `, leaving out a cause whose text
/// the message already shows (errors that print their source too).
pub fn one_line(err: &(dyn Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        let text = err.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = err.source();
    }
    line
}

/// Refuses the command line like clap does for a value it cannot parse:
/// one line, a pointer to `--help`, exit code 2. For checks that need
/// more than one argument or the file system.
pub fn usage_error<A: CommandFactory>(message: impl Display) -> ! {
    A::command().error(ErrorKind::ValueValidation, message).exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("binding failed: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("loading the key")]
    struct Wraps(#[source] std::io::Error);

    #[test]
    fn causes_join_on_one_line_without_repeats() {
        let io = || std::io::Error::other("no such file");
        assert_eq!(one_line(&Repeats(io())), "binding failed: no such file");
        assert_eq!(one_line(&Wraps(io())), "loading the key: no such file");
    }
}
