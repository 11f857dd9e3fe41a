//! `kubesecops secrets`: secret detection in files, directories and standard input, with
//! the built-in rules or a gitleaks configuration.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Result;
use clap::Args;
use kubesecops_core::{Finding, Report, ReportError, Severity};
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_secrets::{builtin, config, scan_paths, Ruleset, Scanner, BINARY_SKIPPED};

use crate::filter::{self, IgnoreFile};
use crate::{output, Status};

/// Default ignore file, read from the current directory when present.
const DEFAULT_IGNORE_FILE: &str = ".kubesecopsignore";

/// Flags of `kubesecops secrets`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Files, directories (recursive, honouring .gitignore, binary files skipped) or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A gitleaks configuration (TOML) to use instead of the built-in rules; `[extend]
    /// useDefault = true` in it adds the built-in rules.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format: table, json, sarif, junit.
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Skip a rule (id or gitleaks alias); repeatable.
    #[arg(long, value_name = "ID")]
    pub skip: Vec<String>,
    /// Ignore file (default: .kubesecopsignore in the current directory, when present). Besides
    /// `RULE [PATH-GLOB] [exp:DATE]` entries, a line may hold a finding's fingerprint.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report: report only findings that are not in it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// The ruleset: the gitleaks config when given, else the built-in rules; minus skipped rules.
fn ruleset(args: &SecretsArgs) -> Result<Ruleset> {
    let mut ruleset = match &args.config {
        Some(path) => config::load_file(path).map_err(|e| anyhow::anyhow!("--config: {e}"))?,
        None => builtin::ruleset(),
    };
    if !ruleset.notes.is_empty() {
        output::notices(&ruleset.notes);
    }
    for id in &args.skip {
        let before = ruleset.rules.len();
        ruleset.rules.retain(|rule| !rule.matches(id));
        if ruleset.rules.len() == before {
            eprintln!("kubesecops: note: --skip {id}: no rule has this id or alias");
        }
    }
    Ok(ruleset)
}

/// Fingerprints listed in the ignore file: a line whose first word is 16 hexadecimal digits.
/// (The secret itself never has to be written down to ignore its finding.)
fn ignored_fingerprints(path: &Path) -> HashSet<String> {
    let Ok(text) = std::fs::read_to_string(path) else { return HashSet::new() };
    text.lines()
        .filter_map(|line| line.split('#').next()?.split_whitespace().next())
        .filter(|word| word.len() == 16 && word.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Runs the scan and writes the report.
pub fn run(args: SecretsArgs) -> Result<Status> {
    let format = Format::from_str(&args.format).map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let scanner = Scanner::new(ruleset(&args)?);
    let output = scan_paths(&scanner, &args.paths);

    let mut findings: Vec<Finding> = output
        .files
        .iter()
        .flat_map(|file| file.matches.iter().map(|m| scanner.finding(m, &file.path, None)))
        .collect();
    let mut errors = output.errors;
    let mut notices: Vec<ReportError> = output.skipped;

    let (ignore_path, must_exist) = match &args.ignore_file {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_IGNORE_FILE), false),
    };
    let (ignore, ignore_errors) = IgnoreFile::load(&ignore_path, must_exist);
    errors.extend(ignore_errors);
    let today = filter::today();
    for expired in ignore.expired(today) {
        notices.push(ReportError::at(ignore_path.display().to_string(), None, expired));
    }
    let fingerprints = ignored_fingerprints(&ignore_path);
    findings.retain(|f| !ignore.covers(f, today) && !fingerprints.contains(&f.fingerprint));
    if let Some(path) = &args.baseline {
        let known = filter::load_baseline(path)?;
        findings.retain(|f| !known.contains(&f.fingerprint));
    }

    let status = if !errors.is_empty() {
        Status::InputErrors
    } else if args.fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        Status::Findings
    } else {
        Status::Clean
    };
    let finding_count = findings.len();
    let mut report = Report::with_findings(findings, errors);
    if !notices.is_empty() {
        // Binary files can be many: one line on stderr, the list in the report.
        let binaries = notices.iter().filter(|n| n.message == BINARY_SKIPPED).count();
        let mut lines: Vec<String> = notices
            .iter()
            .filter(|n| n.message != BINARY_SKIPPED)
            .map(|n| format!("{}: {}", n.path, n.message))
            .collect();
        if binaries > 0 {
            lines.push(format!("{binaries} binary file(s) skipped (listed under \"notices\" in JSON)"));
        }
        output::notices(&lines);
        report.sections.insert("notices".to_string(), serde_json::to_value(&notices)?);
    }

    let mut out = output::open(args.output.as_deref())?;
    let lookup = |id: &str| builtin::find(id).map(|rule| &rule.meta);
    let mut config = RenderConfig::new(env!("CARGO_PKG_VERSION"));
    config.rule_lookup = Some(&lookup);
    config.color = output::stdout_is_terminal(args.output.as_deref());
    render(&report, format, &config, &mut out)?;
    out.flush()?;
    if std::io::stderr().is_terminal() {
        eprintln!(
            "kubesecops: {} file(s), {:.1} MB, {} rule(s): {finding_count} finding(s), {} error(s)",
            output.scanned,
            output.bytes as f64 / 1e6,
            scanner.rules().len(),
            report.errors.len()
        );
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_lines_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kubesecopsignore");
        std::fs::write(
            &path,
            "# fixtures\n0123456789ABCDEF  # test key\nKSO-SEC-jwt docs/**\nnot-a-fingerprint\n",
        )
        .unwrap();
        let found = ignored_fingerprints(&path);
        assert_eq!(found.len(), 1);
        assert!(found.contains("0123456789abcdef"));
    }
}
