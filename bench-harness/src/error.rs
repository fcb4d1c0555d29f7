//! The harness's error type and the exit code each kind maps to.

use thiserror::Error;

/// Why a harness command failed.
#[derive(Debug, Error)]
pub enum HarnessError {
    /// A flag value or a combination of them is invalid (exit code 2).
    #[error("{0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A results file did not parse.
    #[error("{path}: not a gossip-bench results file: {source}")]
    Json {
        /// The file.
        path: String,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// Building or driving the nodes failed.
    #[error("run failed: {0}")]
    Run(String),
    /// Drawing a plot failed.
    #[error("plot {name}: {reason}")]
    Plot {
        /// The plot's file name.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

impl HarnessError {
    /// The process exit code for this error: 2 for invalid input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            HarnessError::Config(_) => 2,
            _ => 1,
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        HarnessError::Io { path: path.as_ref().display().to_string(), source }
    }

    pub(crate) fn run(what: impl std::fmt::Display) -> Self {
        HarnessError::Run(what.to_string())
    }
}
