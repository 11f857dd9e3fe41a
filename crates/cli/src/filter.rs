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

use std::collections::HashSet;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use kubesecops_core::{Finding, ReportError, RuleRef};

/// One ignore-file entry.
#[derive(Debug)]
pub struct IgnoreEntry {
    rule: String,
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
            let mut entry = IgnoreEntry { rule, glob: None, expires: None, line };
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
            e.expires.is_none_or(|d| d >= today)
                && rule_matches(&finding.rule, &e.rule)
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
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
