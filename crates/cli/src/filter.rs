//! Dropping findings users chose to ignore: `--skip`, `.kubesecopsignore` and `--baseline`.
//!
//! Ignore-file syntax, one entry per line, `#` starts a comment:
//!
//! ```text
//! RULE [PATH-GLOB] [exp:YYYY-MM-DD]
//! ```
//!
//! `RULE` is a rule id or any alias (`KSO-C001`, `KSV-0017`, `CKV_K8S_16`); `PATH-GLOB`
//! limits the entry to findings whose path matches (`deploy/**/*.yaml`); after the expiry
//! date the entry no longer applies and is reported as expired.
//!
//! A line whose first word is a finding's fingerprint (16 hexadecimal digits, as reports
//! print it) ignores that one finding, optionally until `exp:DATE`: a secret's finding can be
//! ignored without writing the secret down.
//!
//! [`Choices::apply`] runs every filter in order and [`exit_status`] turns what is left into
//! the exit status; every finding-producing command uses both.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use kubesecops_core::{Finding, ReportError, RuleRef, Severity};

use crate::Status;

/// The ignore file read from the current directory when none is named.
pub const DEFAULT_IGNORE_FILE: &str = ".kubesecopsignore";

/// One ignore-file entry.
#[derive(Debug)]
pub struct IgnoreEntry {
    /// A rule id or alias; or, when `fingerprint` is set, the fingerprint (lower case).
    rule: String,
    /// The entry names one finding by its fingerprint.
    fingerprint: bool,
    glob: Option<GlobMatcher>,
    expires: Option<(i32, u32, u32)>,
    line: u32,
}

/// A parsed ignore file.
#[derive(Debug, Default)]
pub struct IgnoreFile {
    entries: Vec<IgnoreEntry>,
    path: String,
}

/// True when `name` is the rule's id or one of its aliases.
pub fn rule_matches(rule: &RuleRef, name: &str) -> bool {
    rule.id.eq_ignore_ascii_case(name) || rule.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// A finding fingerprint: 16 hexadecimal digits.
fn is_fingerprint(word: &str) -> bool {
    word.len() == 16 && word.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let mut parts = text.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    (parts.next().is_none() && (1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Today's civil date (UTC), from the system clock.
pub fn today() -> (i32, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    civil_from_days(secs.div_euclid(86_400))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

impl IgnoreFile {
    /// Parses an ignore file; malformed lines are returned as errors and skipped.
    pub fn parse(path: &str, text: &str) -> (IgnoreFile, Vec<ReportError>) {
        let mut file = IgnoreFile { entries: Vec::new(), path: path.to_string() };
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i as u32 + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut words = content.split_whitespace();
            let rule = words.next().unwrap_or_default().to_string();
            let fingerprint = is_fingerprint(&rule);
            let rule = if fingerprint { rule.to_ascii_lowercase() } else { rule };
            let mut entry = IgnoreEntry { rule, fingerprint, glob: None, expires: None, line };
            let mut bad = None;
            for word in words {
                if let Some(date) = word.strip_prefix("exp:") {
                    match parse_date(date) {
                        Some(d) => entry.expires = Some(d),
                        None => bad = Some(format!("bad expiry date {date:?}: expected exp:YYYY-MM-DD")),
                    }
                } else if entry.glob.is_none() {
                    match Glob::new(word) {
                        Ok(g) => entry.glob = Some(g.compile_matcher()),
                        Err(e) => bad = Some(format!("bad path glob {word:?}: {e}")),
                    }
                } else {
                    bad = Some(format!("unexpected {word:?}: expected RULE [PATH-GLOB] [exp:YYYY-MM-DD]"));
                }
            }
            match bad {
                Some(message) => errors.push(ReportError::at(path, Some(line), message)),
                None => file.entries.push(entry),
            }
        }
        (file, errors)
    }

    /// Reads `path` if it exists; a missing default file is not an error.
    pub fn load(path: &Path, must_exist: bool) -> (IgnoreFile, Vec<ReportError>) {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&path.display().to_string(), &text),
            Err(_) if !must_exist => (IgnoreFile::default(), Vec::new()),
            Err(e) => (
                IgnoreFile::default(),
                vec![ReportError::at(path.display().to_string(), None, e.to_string())],
            ),
        }
    }

    /// Notices for entries whose expiry date has passed.
    pub fn expired(&self, today: (i32, u32, u32)) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.expires.is_some_and(|d| d < today))
            .map(|e| {
                let (y, m, d) = e.expires.unwrap_or_default();
                format!(
                    "{}:{}: ignore entry for {} expired on {y:04}-{m:02}-{d:02}",
                    self.path, e.line, e.rule
                )
            })
            .collect()
    }

    /// Whether an active entry covers the finding.
    pub fn covers(&self, finding: &Finding, today: (i32, u32, u32)) -> bool {
        self.entries.iter().any(|e| {
            let names_it = if e.fingerprint {
                finding.fingerprint.eq_ignore_ascii_case(&e.rule)
            } else {
                rule_matches(&finding.rule, &e.rule)
            };
            e.expires.is_none_or(|d| d >= today)
                && names_it
                && e.glob.as_ref().is_none_or(|g| g.is_match(&*finding.location.path))
        })
    }
}

/// Fingerprints of a previous JSON report (`--baseline FILE`).
pub fn load_baseline(path: &Path) -> anyhow::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read baseline: {e}", path.display()))?;
    let report: kubesecops_core::Report = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: not a kubesecops JSON report: {e}", path.display(), e.line()))?;
    Ok(report.findings().iter().map(|f| f.fingerprint.clone()).collect())
}

/// What the user asked to drop: `--skip`, `--severity`, the ignore file and `--baseline`.
#[derive(Debug, Default)]
pub struct Choices {
    /// Rule ids or aliases to drop.
    pub skip: Vec<String>,
    /// Severities to keep (all when empty).
    pub severities: Vec<Severity>,
    /// The ignore file named by the user; `None` reads [`DEFAULT_IGNORE_FILE`] when present.
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report whose findings are dropped.
    pub baseline: Option<PathBuf>,
}

impl Choices {
    /// Drops the findings the user chose to ignore. A malformed or missing (named) ignore file
    /// adds errors; expired ignore entries add notices. An unreadable baseline is an error.
    pub fn apply(
        &self,
        findings: &mut Vec<Finding>,
        errors: &mut Vec<ReportError>,
        notices: &mut Vec<ReportError>,
    ) -> anyhow::Result<()> {
        if !self.skip.is_empty() {
            findings.retain(|f| !self.skip.iter().any(|id| rule_matches(&f.rule, id)));
        }
        if !self.severities.is_empty() {
            findings.retain(|f| self.severities.contains(&f.severity));
        }
        let (path, must_exist) = match &self.ignore_file {
            Some(path) => (path.clone(), true),
            None => (PathBuf::from(DEFAULT_IGNORE_FILE), false),
        };
        let (ignore, ignore_errors) = IgnoreFile::load(&path, must_exist);
        errors.extend(ignore_errors);
        let today = today();
        let shown = path.display().to_string();
        for expired in ignore.expired(today) {
            notices.push(ReportError::at(&shown, None, expired));
        }
        findings.retain(|f| !ignore.covers(f, today));
        if let Some(baseline) = &self.baseline {
            let known = load_baseline(baseline)?;
            findings.retain(|f| !known.contains(&f.fingerprint));
        }
        Ok(())
    }
}

/// The exit status of a finding-producing command: input errors first, then findings at or
/// above `fail_on`, else clean.
pub fn exit_status(errors: &[ReportError], findings: &[Finding], fail_on: Option<Severity>) -> Status {
    if !errors.is_empty() {
        Status::InputErrors
    } else if fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        Status::Findings
    } else {
        Status::Clean
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_core::{Location, Severity};

    use super::*;

    fn finding(id: &str, alias: &str, path: &str) -> Finding {
        Finding {
            rule: Arc::new(RuleRef { id: id.into(), aliases: vec![alias.into()], title: String::new() }),
            severity: Severity::High,
            message: String::new(),
            location: Location { path: Arc::from(path), line: Some(1), column: Some(1) },
            object: None,
            fingerprint: "f".into(),
            vcs: None,
            package: None,
            fixed_version: None,
        }
    }

    #[test]
    fn entries_match_by_id_alias_glob_and_expiry() {
        let text = "# team exceptions\nKSV-0017 deploy/**\nKSO-C002   # everywhere\nKSO-C003 exp:2020-01-01\nKSO-C004 a b\nKSO-C005 exp:2020-13-01\n";
        let (file, errors) = IgnoreFile::parse(".kubesecopsignore", text);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, Some(5));
        let today = (2026, 11, 27);
        assert!(file.covers(&finding("KSO-C001", "KSV-0017", "deploy/a/x.yaml"), today));
        assert!(!file.covers(&finding("KSO-C001", "KSV-0017", "other/x.yaml"), today));
        assert!(file.covers(&finding("KSO-C002", "X", "any.yaml"), today));
        assert!(!file.covers(&finding("KSO-C003", "X", "any.yaml"), today));
        assert_eq!(file.expired(today).len(), 1);
        assert!(file.expired(today)[0].contains(":4:"));
    }

    #[test]
    fn fingerprint_entries_ignore_one_finding() {
        let text = "0123456789ABCDEF  # test key\n00000000000000ff exp:2020-01-01\n";
        let (file, errors) = IgnoreFile::parse(".kubesecopsignore", text);
        assert!(errors.is_empty(), "{errors:?}");
        let today = (2026, 11, 27);
        let mut named = finding("KSO-SEC-jwt", "jwt", "a.env");
        named.fingerprint = "0123456789abcdef".into();
        assert!(file.covers(&named, today));
        let mut expired = named.clone();
        expired.fingerprint = "00000000000000ff".into();
        assert!(!file.covers(&expired, today));
        assert!(!file.covers(&finding("KSO-SEC-jwt", "jwt", "a.env"), today));
    }

    #[test]
    fn choices_drop_and_exit_status_decides() {
        let dir = tempfile::tempdir().unwrap();
        let ignore = dir.path().join("ignore");
        std::fs::write(&ignore, "KSO-C002\n").unwrap();
        let mut findings = vec![
            finding("KSO-C001", "A", "x.yaml"),
            finding("KSO-C002", "B", "x.yaml"),
            finding("KSO-C003", "C", "x.yaml"),
        ];
        findings[2].severity = Severity::Low;
        let choices = Choices {
            skip: vec!["a".into()],
            severities: vec![Severity::High],
            ignore_file: Some(ignore),
            baseline: None,
        };
        let (mut errors, mut notices) = (Vec::new(), Vec::new());
        choices.apply(&mut findings, &mut errors, &mut notices).unwrap();
        assert!(findings.is_empty() && errors.is_empty() && notices.is_empty());
        let high = [finding("KSO-C001", "A", "x.yaml")];
        assert_eq!(exit_status(&[], &high, Some(Severity::High)), Status::Findings);
        assert_eq!(exit_status(&[], &high, Some(Severity::Critical)), Status::Clean);
        assert_eq!(exit_status(&[ReportError::at("x", None, "bad")], &high, None), Status::InputErrors);

        let missing = Choices { ignore_file: Some(dir.path().join("nope")), ..Choices::default() };
        missing.apply(&mut Vec::new(), &mut errors, &mut notices).unwrap();
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
