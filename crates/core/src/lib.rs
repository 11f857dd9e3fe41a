//! The report model every kubesecops scanner speaks.
//!
//! This crate has no I/O: it defines [`Severity`], static [`RuleMeta`] data, the
//! [`Finding`] and [`ReportError`] records, and the versioned [`Report`] envelope that the
//! renderers in `kubesecops-report` turn into table, JSON, SARIF and JUnit; and
//! [`exposition`], the one piece of the Prometheus text format the `/metrics` servers share.

pub mod exposition;
mod finding;
mod report;
mod rule;
mod severity;

pub use finding::{fingerprint, hex, Finding, Location, ObjectRef, Package, RuleRef, Vcs};
pub use report::{merge_findings, sort_findings, Report, ReportError, SCHEMA_VERSION};
pub use rule::{Category, Framework, RuleMeta};
pub use severity::{ParseSeverityError, Severity};
