use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
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
    // Merged runs (see [`merge_findings`]) arrive sorted: one pass says so.
    if findings.is_sorted_by(|a, b| finding_order(a, b) != Ordering::Greater) {
        return;
    }
    // Large reports are sorted on every core: on one, the sort was a tenth of a
    // 50,000-object scan.
    if findings.len() >= PARALLEL_SORT_FROM {
        findings.par_sort_unstable_by(finding_order);
    } else {
        findings.sort_unstable_by(finding_order);
    }
}

/// The findings of all `runs` in the order of [`sort_findings`], in one vector of the exact
/// size.
///
/// Each run is sorted first, which costs one pass when it already is: a scan sorts the
/// findings of each input on the thread that found them, then merges. Runs that do not
/// overlap (the findings of different files) are copied whole, one comparison per finding;
/// overlapping ones are merged through a heap of the runs' next findings.
pub fn merge_findings(mut runs: Vec<Vec<Finding>>) -> Vec<Finding> {
    runs.retain(|run| !run.is_empty());
    if runs.len() == 1 {
        let mut run = runs.pop().unwrap_or_default();
        sort_findings(&mut run);
        return run;
    }
    let mut merged = Vec::with_capacity(runs.iter().map(Vec::len).sum());
    let mut heap: BinaryHeap<RunHead> = runs
        .into_iter()
        .filter_map(|mut run| {
            sort_findings(&mut run);
            let mut rest = run.into_iter();
            rest.next().map(|next| RunHead { next, rest })
        })
        .collect();
    while let Some(RunHead { next, mut rest }) = heap.pop() {
        let mut current = next;
        loop {
            let following = rest.next();
            merged.push(current);
            let Some(following) = following else { break };
            // This run goes on while it stays at or below every other run's next finding.
            if heap.peek().is_some_and(|other| finding_order(&following, &other.next) == Ordering::Greater) {
                heap.push(RunHead { next: following, rest });
                break;
            }
            current = following;
        }
    }
    merged
}

/// A sorted run's next finding and the rest of it; the heap's top is the least next finding.
struct RunHead {
    next: Finding,
    rest: std::vec::IntoIter<Finding>,
}

impl Ord for RunHead {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap.
        finding_order(&other.next, &self.next)
    }
}

impl PartialOrd for RunHead {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RunHead {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RunHead {}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, RuleRef, Severity};

    /// `n` findings spread over `files` paths, lines and two rules, from a fixed seed.
    fn findings(n: usize, files: usize, seed: u64) -> Vec<Finding> {
        let rules: Vec<Arc<RuleRef>> = ["KSO-C001", "KSO-C002"]
            .map(|id| Arc::new(RuleRef { id: id.into(), aliases: Vec::new(), title: String::new() }))
            .to_vec();
        let paths: Vec<Arc<str>> = (0..files).map(|i| Arc::from(format!("dir/file-{i}.yaml"))).collect();
        let mut state = seed;
        let mut next = move |bound: usize| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize % bound
        };
        (0..n)
            .map(|_| Finding {
                rule: Arc::clone(&rules[next(2)]),
                severity: Severity::High,
                message: format!("message {}", next(3)),
                location: Location {
                    path: Arc::clone(&paths[next(files)]),
                    line: Some(next(40) as u32 + 1),
                    column: Some(3),
                },
                object: None,
                fingerprint: format!("{:016x}", next(1 << 20)),
                vcs: None,
                package: None,
                fixed_version: None,
            })
            .collect()
    }

    fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
        findings.sort_by(finding_order);
        findings
    }

    #[test]
    fn merging_runs_gives_the_order_of_sorting_them_together() {
        // Runs of one file each (disjoint), runs over shared files (overlapping), empty runs,
        // and runs left unsorted.
        let cases: Vec<Vec<Vec<Finding>>> = vec![
            (0..6)
                .map(|i| {
                    sorted(
                        findings(50, 1, i)
                            .into_iter()
                            .map(|mut f| {
                                f.location.path = Arc::from(format!("only-{i}.yaml"));
                                f
                            })
                            .collect(),
                    )
                })
                .collect(),
            (0..6).map(|i| findings(80, 4, 100 + i)).collect(),
            vec![Vec::new(), findings(30, 2, 7), Vec::new()],
            vec![findings(1, 1, 9)],
            Vec::new(),
        ];
        for (i, runs) in cases.into_iter().enumerate() {
            let expected = sorted(runs.concat());
            let merged = merge_findings(runs);
            assert_eq!(merged.len(), expected.len(), "case {i}");
            for (a, b) in merged.iter().zip(&expected) {
                assert_eq!(finding_order(a, b), Ordering::Equal, "case {i}");
            }
        }
    }

    #[test]
    fn large_reports_sort_in_parallel_to_the_same_order() {
        let mut parallel = findings(PARALLEL_SORT_FROM + 100, 30, 3);
        let expected = sorted(parallel.clone());
        sort_findings(&mut parallel);
        assert!(parallel.iter().zip(&expected).all(|(a, b)| finding_order(a, b) == Ordering::Equal));
    }
}
