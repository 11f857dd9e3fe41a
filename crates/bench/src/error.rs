//! Errors of the benchmark crate.

use std::path::PathBuf;

/// Something in a benchmark folder, or an input given by the user, could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A YAML file is not well formed or has the wrong shape.
    #[error("{}:{line}: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// No benchmark could be chosen, or the one asked for does not exist.
    #[error("{0}")]
    Benchmark(String),
}

impl BenchError {
    /// The file and line, when the error has them (for the report's `errors`).
    pub fn location(&self) -> (String, Option<u32>) {
        match self {
            BenchError::Read { path, .. } => (path.display().to_string(), None),
            BenchError::Yaml { path, line, .. } => (path.display().to_string(), Some(*line)),
            BenchError::Benchmark(_) => (String::new(), None),
        }
    }
}
