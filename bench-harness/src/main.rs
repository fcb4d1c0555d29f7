//! `gossip-bench`: see the crate README. All logic is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use bench_harness::Cli;
use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = err.print();
                return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
            }
            // One line: clap's first paragraph ("error: invalid value … : reason").
            let text = err.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let line = if first.is_empty() { "error: invalid arguments".to_string() } else { first.join(" ") };
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    match bench_harness::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
