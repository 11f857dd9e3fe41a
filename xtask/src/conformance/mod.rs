//! The conformance harness: each external suite is one module that reads its folder under
//! the suites directory, prints its own detail lines and returns a score; this module
//! prints `SCORE <suite>: passed/total (pct%)` and compares the score with the suite's goal.
//!
//! Adding a suite: write `<suite>.rs` exposing a [`Suite`] and list it in [`SUITES`].

mod audit2rbac;
mod falco;
mod gitleaks;
mod kube_bench;
mod lockfiles;
mod netpol;
mod osv_schema;
mod pss;
mod versions;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

/// One external suite.
pub struct Suite {
    /// Name printed in score lines.
    pub name: &'static str,
    /// Folder under the suites directory.
    pub folder: &'static str,
    /// Smallest acceptable share of passed cases, in percent.
    pub goal_percent: f64,
    /// Runs the suite on its folder, printing detail lines.
    pub run: fn(&Path) -> Result<Score>,
}

/// What a suite run gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Cases with the expected outcome.
    pub passed: usize,
    /// All cases.
    pub total: usize,
}

impl Score {
    /// Share of passed cases in percent (0 for an empty suite).
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.passed as f64 * 100.0 / self.total as f64
        }
    }
}

/// Every suite, in the order they are run.
pub const SUITES: &[Suite] = &[
    pss::SUITE,
    gitleaks::SUITE,
    falco::SUITE,
    netpol::SUITE,
    versions::SUITE,
    osv_schema::SUITE,
    lockfiles::SUITE,
    kube_bench::SUITE,
    audit2rbac::SUITE,
];

/// `../shared/suites` seen from the repository root (the parent of this crate's folder).
pub fn default_suites_dir() -> PathBuf {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    repo_root.join("../shared/suites")
}

/// True when running under CI (`CI=true` or `CI=1`), where missing suites are an error.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Runs every suite found under `suites_dir`; failure when one scores below its goal, or
/// when the folder is missing under CI.
pub fn run(suites_dir: &Path) -> Result<ExitCode> {
    if !suites_dir.is_dir() {
        if in_ci() {
            eprintln!("error: suites folder {} not present (required when CI=true)", suites_dir.display());
            return Ok(ExitCode::FAILURE);
        }
        eprintln!("note: suites folder {} not present", suites_dir.display());
    }
    let mut failed = false;
    for suite in SUITES {
        let folder = suites_dir.join(suite.folder);
        if !folder.is_dir() {
            println!("SKIP {}: folder not present", suite.name);
            continue;
        }
        match (suite.run)(&folder) {
            Ok(score) => {
                println!("SCORE {}: {}/{} ({:.2}%)", suite.name, score.passed, score.total, score.percent());
                if score.total == 0 || score.percent() < suite.goal_percent {
                    println!("FAIL {}: below the goal of {:.2}%", suite.name, suite.goal_percent);
                    failed = true;
                }
            }
            Err(err) => {
                println!("ERROR {}: {err:#}", suite.name);
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
