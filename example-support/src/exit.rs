//! How an example ends: one line on stderr and an exit code that says
//! whether the run did what it set out to do.

use std::error::Error;
use std::fmt::Display;
use std::process::ExitCode;

use clap::CommandFactory;
use clap::error::ErrorKind;

/// Exit code of a run that failed (not of bad input, which is 2).
pub const FAILED: u8 = 1;

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
