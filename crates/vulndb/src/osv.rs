//! OSV records (the fields kubesecops uses) and the evaluation of their affected ranges.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cvss::{self, Level};
use crate::version::{compare_generic, Ecosystem};

/// An OSV vulnerability record, reduced to what matching and reporting need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Identifier (`GHSA-...`, `CVE-...`, `DSA-...`).
    pub id: String,
    /// Last modification time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Withdrawal time; withdrawn records never match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other identifiers of the same vulnerability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Upstream vulnerabilities this record is a downstream view of (Debian's and Ubuntu's
    /// records name the CVE here rather than in `aliases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Severity scores of the whole record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    /// Affected packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// Database-specific data; only `severity` is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// One `severity` entry: a scoring system and its vector or score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector string or score.
    pub score: String,
}

/// A package, as named in its ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Ecosystem, possibly with a release (`Debian:12`).
    #[serde(default)]
    pub ecosystem: String,
    /// Package name.
    #[serde(default)]
    pub name: String,
}

/// One `affected` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package (absent for records about a git repository only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Severity scores specific to this package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    /// Version ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data; only `severity` is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// Database-specific data; only `severity` is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A range of affected versions: ordered events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository of a `GIT` range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Events in any order.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One range event; exactly one field is set in valid records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// First affected version (`0` = all earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// First fixed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Last affected version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Upper limit of the range (`*` = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Event {
    fn version(&self) -> &str {
        [&self.introduced, &self.fixed, &self.last_affected, &self.limit]
            .into_iter()
            .find_map(|v| v.as_deref())
            .unwrap_or("")
    }
}

/// How a version is affected by one `affected` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The first fixed version above the queried one, when a range names one.
    pub fixed_version: Option<String>,
}

/// Normalises a package name for lookups: PyPI names per PEP 503, others unchanged.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    if Ecosystem::from_osv(ecosystem) == Ecosystem::PyPI {
        let mut out = String::with_capacity(name.len());
        let mut last_dash = false;
        for c in name.trim().chars() {
            if matches!(c, '-' | '_' | '.') {
                if !last_dash {
                    out.push('-');
                }
                last_dash = true;
            } else {
                out.push(c.to_ascii_lowercase());
                last_dash = false;
            }
        }
        out
    } else {
        name.trim().to_string()
    }
}

/// Compares with the ecosystem's ordering, falling back to the generic one when its rules
/// reject a version (a bad version in one record must not hide the others).
fn compare(ordering: Ecosystem, a: &str, b: &str) -> Ordering {
    ordering.compare(a, b).unwrap_or_else(|_| compare_generic(a, b))
}

impl Range {
    /// Whether `version` falls in this range, per the OSV evaluation rules: events sorted by
    /// version, `introduced` opens, `fixed` (at or below) and `last_affected` (below) close,
    /// `limit`s bound the whole range.
    ///
    /// `GIT` ranges order commits, which only the repository's history can do: a version is
    /// in one only when it is itself an `introduced` or `last_affected` commit (records that
    /// OSV has enumerated also list the affected tags in `versions`, which match as usual).
    pub fn evaluate(&self, ecosystem: Ecosystem, version: &str) -> Option<Hit> {
        let ordering = match self.kind.as_str() {
            // Go's SEMVER versions carry a `v` and may be pseudo-versions: Go's own ordering.
            "SEMVER" if ecosystem == Ecosystem::Go => Ecosystem::Go,
            "SEMVER" => Ecosystem::SemVer,
            "ECOSYSTEM" => ecosystem,
            "GIT" => return self.evaluate_commit(version),
            _ => return None,
        };
        let mut events: Vec<&Event> = self.events.iter().filter(|e| e.limit.is_none()).collect();
        events.sort_by(|x, y| {
            match (x.introduced.as_deref() == Some("0"), y.introduced.as_deref() == Some("0")) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => compare(ordering, x.version(), y.version()),
            }
        });
        let mut affected = false;
        for event in &events {
            if let Some(introduced) = &event.introduced {
                if introduced == "0" || compare(ordering, version, introduced) != Ordering::Less {
                    affected = true;
                }
            } else if let Some(fixed) = &event.fixed {
                if compare(ordering, version, fixed) != Ordering::Less {
                    affected = false;
                }
            } else if let Some(last) = &event.last_affected {
                if compare(ordering, version, last) == Ordering::Greater {
                    affected = false;
                }
            }
        }
        let limits: Vec<&str> = self.events.iter().filter_map(|e| e.limit.as_deref()).collect();
        if !limits.is_empty()
            && !limits.iter().any(|l| *l == "*" || compare(ordering, version, l) == Ordering::Less)
        {
            affected = false;
        }
        if !affected {
            return None;
        }
        let fixed_version = events
            .iter()
            .filter_map(|e| e.fixed.as_deref())
            .find(|fixed| compare(ordering, version, fixed) == Ordering::Less)
            .map(str::to_string);
        Some(Hit { fixed_version })
    }
}

impl Range {
    fn evaluate_commit(&self, version: &str) -> Option<Hit> {
        let version = version.trim();
        // Short hashes are prefixes of the full one; at least 7 digits, as git abbreviates.
        let same = |commit: &str| {
            version.len() >= 7
                && version.len() <= commit.len()
                && version.bytes().all(|b| b.is_ascii_hexdigit())
                && commit.to_ascii_lowercase().starts_with(&version.to_ascii_lowercase())
        };
        let affected = self.events.iter().any(|e| {
            e.introduced.as_deref().is_some_and(|c| c != "0" && same(c))
                || e.last_affected.as_deref().is_some_and(same)
        });
        // A fix commit is not a version one can upgrade to: no fixed version.
        affected.then_some(Hit { fixed_version: None })
    }
}

impl Affected {
    /// Whether `version` is affected: listed in `versions` or inside a range.
    pub fn evaluate(&self, version: &str) -> Option<Hit> {
        let ecosystem = Ecosystem::from_osv(self.package.as_ref().map_or("", |p| p.ecosystem.as_str()));
        let mut listed = false;
        for listed_version in &self.versions {
            if listed_version == version || ecosystem.compare(listed_version, version) == Ok(Ordering::Equal)
            {
                listed = true;
                break;
            }
        }
        // A version in several ranges takes the fix of one that names a fix.
        let mut range_hit: Option<Hit> = None;
        for hit in self.ranges.iter().filter_map(|r| r.evaluate(ecosystem, version)) {
            if range_hit.as_ref().is_none_or(|h| h.fixed_version.is_none()) {
                range_hit = Some(hit);
            }
        }
        match (range_hit, listed) {
            (Some(hit), _) => Some(hit),
            (None, true) => Some(Hit { fixed_version: None }),
            (None, false) => None,
        }
    }
}

/// A severity: qualitative level plus the score it came from, when numeric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// Level.
    pub level: Level,
    /// CVSS base score, when computed from a vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The vector or label it was read from.
    pub source: String,
}

fn severity_from_scores(scores: &[SeverityScore]) -> Option<Severity> {
    // Prefer the newest CVSS version whose base score we can compute.
    let mut best: Option<(u8, Severity)> = None;
    for entry in scores {
        let (rank, score) = match entry.kind.as_str() {
            "CVSS_V4" => (4, cvss::v4_base_score(&entry.score)),
            "CVSS_V3" => (3, cvss::v3_base_score(&entry.score)),
            "CVSS_V2" => (2, cvss::v2_base_score(&entry.score)),
            _ => (1, None),
        };
        let severity = match score {
            Some(s) => Severity { level: Level::from_score(s), score: Some(s), source: entry.score.clone() },
            None => match Level::from_name(&entry.score) {
                Some(level) => Severity { level, score: None, source: entry.score.clone() },
                None => continue,
            },
        };
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, severity));
        }
    }
    best.map(|(_, s)| s)
}

fn severity_from_specific(value: Option<&Value>) -> Option<Severity> {
    let label = value?.get("severity")?.as_str()?;
    Level::from_name(label).map(|level| Severity { level, score: None, source: label.to_string() })
}

impl Record {
    /// Severity for a hit in `affected`: the package's own scores, then the record's CVSS,
    /// then the advisory's label (`database_specific.severity`, e.g. GitHub's).
    pub fn severity_for(&self, affected: &Affected) -> Option<Severity> {
        severity_from_scores(&affected.severity)
            .or_else(|| severity_from_scores(&self.severity))
            .or_else(|| severity_from_specific(affected.ecosystem_specific.as_ref()))
            .or_else(|| severity_from_specific(affected.database_specific.as_ref()))
            .or_else(|| severity_from_specific(self.database_specific.as_ref()))
    }

    /// Drops the data matching never reads (details, references, credits are not
    /// deserialized at all; database-specific blocks are cut to their `severity`).
    pub fn compact(&mut self) {
        fn keep_severity(value: &mut Option<Value>) {
            *value = value
                .as_ref()
                .and_then(|v| v.get("severity"))
                .filter(|s| s.is_string())
                .map(|s| serde_json::json!({ "severity": s }));
        }
        keep_severity(&mut self.database_specific);
        for affected in &mut self.affected {
            keep_severity(&mut affected.ecosystem_specific);
            keep_severity(&mut affected.database_specific);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(kind: &str, events: &[(&str, &str)]) -> Range {
        let events = events
            .iter()
            .map(|(k, v)| {
                let v = Some(v.to_string());
                match *k {
                    "introduced" => Event { introduced: v, ..Event::default() },
                    "fixed" => Event { fixed: v, ..Event::default() },
                    "last_affected" => Event { last_affected: v, ..Event::default() },
                    _ => Event { limit: v, ..Event::default() },
                }
            })
            .collect();
        Range { kind: kind.to_string(), repo: None, events }
    }

    #[test]
    fn introduced_fixed() {
        let r = range("ECOSYSTEM", &[("introduced", "0"), ("fixed", "1.2.0")]);
        assert_eq!(r.evaluate(Ecosystem::PyPI, "1.1").unwrap().fixed_version.as_deref(), Some("1.2.0"));
        assert!(r.evaluate(Ecosystem::PyPI, "1.2").is_none());
        assert!(r.evaluate(Ecosystem::PyPI, "2.0").is_none());
    }

    #[test]
    fn several_intervals_in_one_range_unsorted() {
        let r = range(
            "SEMVER",
            &[("fixed", "2.5.1"), ("introduced", "2.0.0"), ("introduced", "1.0.0"), ("fixed", "1.4.3")],
        );
        assert!(r.evaluate(Ecosystem::Npm, "0.9.0").is_none());
        assert_eq!(r.evaluate(Ecosystem::Npm, "1.4.2").unwrap().fixed_version.as_deref(), Some("1.4.3"));
        assert!(r.evaluate(Ecosystem::Npm, "1.9.0").is_none());
        assert_eq!(r.evaluate(Ecosystem::Npm, "2.5.0").unwrap().fixed_version.as_deref(), Some("2.5.1"));
        assert!(r.evaluate(Ecosystem::Npm, "2.5.1").is_none());
    }

    #[test]
    fn last_affected_and_limit() {
        let r = range("ECOSYSTEM", &[("introduced", "1.0"), ("last_affected", "1.5")]);
        assert_eq!(r.evaluate(Ecosystem::Maven, "1.5").unwrap().fixed_version, None);
        assert!(r.evaluate(Ecosystem::Maven, "1.5.1").is_none());
        let limited = range("ECOSYSTEM", &[("introduced", "0"), ("limit", "2.0")]);
        assert!(limited.evaluate(Ecosystem::RubyGems, "1.9").is_some());
        assert!(limited.evaluate(Ecosystem::RubyGems, "2.0").is_none());
        let git = range("GIT", &[("introduced", "0")]);
        assert!(git.evaluate(Ecosystem::Generic, "1.0").is_none());
    }

    #[test]
    fn debian_ordering_is_used() {
        let r = range("ECOSYSTEM", &[("introduced", "0"), ("fixed", "1.2.3-1~deb12u1")]);
        assert!(r.evaluate(Ecosystem::Debian, "1.2.3-1~deb11u1").is_some());
        assert!(r.evaluate(Ecosystem::Debian, "1.2.3-1").is_none());
    }

    #[test]
    fn pypi_names_normalise() {
        assert_eq!(normalize_name("PyPI", "Django_REST.framework"), "django-rest-framework");
        assert_eq!(normalize_name("npm", "@Scope/Pkg"), "@Scope/Pkg");
    }

    #[test]
    fn severity_prefers_cvss_then_labels() {
        let record: Record = serde_json::from_value(serde_json::json!({
            "id": "X-1",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "npm", "name": "a"}}],
            "database_specific": {"severity": "LOW"}
        }))
        .unwrap();
        let severity = record.severity_for(&record.affected[0]).unwrap();
        assert_eq!((severity.level, severity.score), (Level::Critical, Some(9.8)));
        let labelled: Record = serde_json::from_value(serde_json::json!({
            "id": "X-2", "affected": [{}], "database_specific": {"severity": "MODERATE"}
        }))
        .unwrap();
        assert_eq!(labelled.severity_for(&labelled.affected[0]).unwrap().level, Level::Medium);
    }
}
