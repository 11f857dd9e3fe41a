use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::slice::ParallelSliceMut;

use serde::{Deserialize, Serialize};

use crate::Finding;

/// Version of the JSON report layout. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// An input that could not be read, parsed or evaluated. Everything else was still processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportError {
    /// File (or other input) the error is about.
    pub path: String,
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What went wrong.
    pub message: String,
}

impl ReportError {
    /// An error with a line.
    pub fn at(path: impl Into<String>, line: Option<u32>, message: impl Into<String>) -> Self {
        ReportError { path: path.into(), line, message: message.into() }
    }
}

/// The envelope every command prints: `{"schemaVersion", <command's keys>, "errors"}`.
///
/// `findings` is present for finding-producing commands; other commands put their own
/// keys (`results`, `paths`, `connections`, ...) into `sections`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// Findings, sorted by path, line, rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<Finding>>,
    /// Command-specific keys such as `results`.
    #[serde(flatten)]
    pub sections: BTreeMap<String, serde_json::Value>,
    /// Inputs that could not be processed.
    #[serde(default)]
    pub errors: Vec<ReportError>,
}

impl Report {
    /// A report of findings.
    pub fn with_findings(mut findings: Vec<Finding>, errors: Vec<ReportError>) -> Self {
        sort_findings(&mut findings);
        Report { schema_version: SCHEMA_VERSION, findings: Some(findings), sections: BTreeMap::new(), errors }
    }

    /// A report with only a command-specific section.
    pub fn with_section(key: &str, value: serde_json::Value, errors: Vec<ReportError>) -> Self {
        let mut sections = BTreeMap::new();
        sections.insert(key.to_string(), value);
        Report { schema_version: SCHEMA_VERSION, findings: None, sections, errors }
    }

    /// The findings, or an empty slice.
    pub fn findings(&self) -> &[Finding] {
        self.findings.as_deref().unwrap_or(&[])
    }
}

/// Deterministic order: path, line, column, rule id, message, then fingerprint (so that the
/// unstable sort, which needs no buffer as large as half the findings, is deterministic too).
pub fn sort_findings(findings: &mut [Finding]) {
    // Large reports are sorted on every core: on one, the sort was a tenth of a
    // 50,000-object scan.
    if findings.len() >= PARALLEL_SORT_FROM {
        findings.par_sort_unstable_by(finding_order);
    } else {
        findings.sort_unstable_by(finding_order);
    }
}

/// Below this many findings one thread sorts them.
const PARALLEL_SORT_FROM: usize = 1 << 14;

/// The order of [`sort_findings`].
fn finding_order(a: &Finding, b: &Finding) -> Ordering {
    // Findings of one file share its path, and findings of one rule its `RuleRef` (one
    // `Arc` each): equal pointers spare the comparison of long, equal strings, which was
    // most of the sort's time on large scans.
    fn shared<T: Ord + ?Sized>(a: &Arc<T>, b: &Arc<T>) -> Ordering {
        if Arc::ptr_eq(a, b) {
            Ordering::Equal
        } else {
            a.cmp(b)
        }
    }
    shared(&a.location.path, &b.location.path)
        .then_with(|| (a.location.line, a.location.column).cmp(&(b.location.line, b.location.column)))
        .then_with(|| if Arc::ptr_eq(&a.rule, &b.rule) { Ordering::Equal } else { a.rule.id.cmp(&b.rule.id) })
        .then_with(|| (&a.message, &a.fingerprint).cmp(&(&b.message, &b.fingerprint)))
}
