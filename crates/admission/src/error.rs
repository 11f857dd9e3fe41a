//! Errors of loading the configuration and the policies it names, and of serving.

use std::path::PathBuf;

use kubesecops_core::ReportError;

/// The configuration or a policy it names could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("{}: cannot read the config file: {source}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or does not fit the schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A value is well-formed but not acceptable (an unknown rule id, a zero deadline).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Rego policies, data or Gatekeeper objects failed to load; each error names its file.
    #[error("{group}: {}", join(errors))]
    Policies {
        /// `rego` or `gatekeeper`.
        group: &'static str,
        /// One error per file (and line when known).
        errors: Vec<ReportError>,
    },
}

fn join(errors: &[ReportError]) -> String {
    errors
        .iter()
        .map(|e| match e.line {
            Some(line) => format!("{}:{line}: {}", e.path, e.message),
            None => format!("{}: {}", e.path, e.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration or policies are invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listen address could not be bound or the server failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
