//! CIS node benchmark for kubesecops.
//!
//! - [`controls`], [`evaluate`], [`compare`], [`jsonpath`]: benchmark definitions in
//!   kube-bench's YAML format, read unchanged, and the evaluation of their tests.
//! - [`config`], [`runner`], [`audit`]: a benchmark folder's `config.yaml` (components,
//!   version and target mapping), `$variable` substitution and audit commands.
//! - [`node`], [`components`], [`version`]: the node itself, live or an offline copy.
//! - [`builtin`]: checks of our own that need no benchmark folder.
//! - [`report`]: the shared envelope and kube-bench's JSON layout.

pub mod audit;
pub mod builtin;
pub mod compare;
pub mod components;
pub mod config;
pub mod controls;
mod error;
pub mod evaluate;
pub mod jsonpath;
pub mod node;
pub mod report;
pub mod runner;
pub mod version;

pub use error::BenchError;
pub use evaluate::Status;
