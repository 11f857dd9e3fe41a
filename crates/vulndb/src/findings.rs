//! Vulnerability matches as findings of the shared report.

use std::sync::Arc;

use kubesecops_core::{fingerprint, Finding, Location, Package, ParseSeverityError, RuleRef, Severity};

use crate::cvss::Level;
use crate::matching::{PackageRef, VulnMatch};
use crate::store::Vuln;

/// What to report and where.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingOptions<'a> {
    /// The scanned target: image reference, archive or SBOM path (`location.path`).
    pub target: &'a str,
    /// Leave out vulnerabilities without a fixed version (`--ignore-unfixed`).
    pub ignore_unfixed: bool,
    /// Report only these severities (`--severity HIGH,CRITICAL`); empty: all.
    pub severities: &'a [Severity],
}

impl FindingOptions<'_> {
    /// Whether a match passes `--ignore-unfixed` and `--severity`.
    pub fn keeps(&self, found: &VulnMatch) -> bool {
        if self.ignore_unfixed && found.vuln.fixed_version.is_none() {
            return false;
        }
        self.severities.is_empty() || self.severities.contains(&report_severity(&found.vuln))
    }
}

/// Parses a `--severity` list: comma-separated names, case-insensitive (`high,CRITICAL`).
pub fn parse_severity_list(text: &str) -> Result<Vec<Severity>, ParseSeverityError> {
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let severity: Severity = name.parse()?;
        if !out.contains(&severity) {
            out.push(severity);
        }
    }
    if out.is_empty() {
        return Err(ParseSeverityError(text.to_string()));
    }
    Ok(out)
}

/// The report severity of a vulnerability: its CVSS base score's level, or the advisory's
/// label. A record without either is reported as MEDIUM (the report has no "unknown"
/// level) and its message says the severity is unknown; a score of 0 is LOW.
pub fn report_severity(vuln: &Vuln) -> Severity {
    match vuln.severity.as_ref().map_or(Level::Unknown, |s| s.level) {
        Level::Critical => Severity::Critical,
        Level::High => Severity::High,
        Level::Medium | Level::Unknown => Severity::Medium,
        Level::Low | Level::None => Severity::Low,
    }
}

/// Builds one finding per match: `rule.id` is the vulnerability id, `rule.aliases` its
/// aliases, `package` the installed package and `fixedVersion` the first fixed version.
/// `packages` is the sequence the matches were made from (`VulnMatch::package` indexes it).
pub fn vulnerability_findings(
    packages: &[PackageRef<'_>],
    matches: &[VulnMatch],
    options: &FindingOptions<'_>,
) -> Vec<Finding> {
    let target: Arc<str> = Arc::from(options.target);
    let mut findings = Vec::new();
    for found in matches {
        let Some(package) = packages.get(found.package) else { continue };
        if options.keeps(found) {
            findings.push(finding(package, found, report_severity(&found.vuln), &target));
        }
    }
    findings
}

fn finding(package: &PackageRef<'_>, found: &VulnMatch, severity: Severity, target: &Arc<str>) -> Finding {
    let vuln = &found.vuln;
    let mut message = format!("{} {} is affected by {}", package.name, package.version, vuln.id);
    let cves: Vec<&str> = vuln.aliases.iter().filter(|a| a.starts_with("CVE-")).map(String::as_str).collect();
    if !cves.is_empty() && !vuln.id.starts_with("CVE-") {
        message.push_str(&format!(" ({})", cves.join(", ")));
    }
    if found.matched_name != package.name {
        message
            .push_str(&format!(" through source package {} {}", found.matched_name, found.matched_version));
    }
    match &vuln.fixed_version {
        Some(fixed) => message.push_str(&format!("; fixed in {fixed}")),
        None => message.push_str("; no fixed version"),
    }
    match vuln.severity.as_ref() {
        Some(s) if s.level != Level::Unknown => {
            if let Some(score) = s.score {
                message.push_str(&format!("; CVSS {score:.1}"));
            }
        }
        _ => message.push_str("; severity unknown"),
    }
    if let Some(summary) = vuln.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        message.push_str(&format!(": {}", summary.trim()));
    }
    let key = format!("{}\0{}\0{}\0{}", package.ecosystem, package.name, package.version, package.path);
    Finding {
        rule: Arc::new(RuleRef {
            id: vuln.id.clone(),
            aliases: vuln.aliases.clone(),
            title: vuln.summary.clone().unwrap_or_else(|| vuln.id.clone()),
        }),
        severity,
        message,
        location: Location { path: Arc::clone(target), line: None, column: None },
        object: None,
        fingerprint: fingerprint(&vuln.id, target, None, &key),
        vcs: None,
        package: Some(Box::new(Package {
            name: package.name.to_string(),
            version: package.version.to_string(),
            ecosystem: package.ecosystem.to_string(),
            path: package.path.to_string(),
            layer: package.layer.map(str::to_string),
        })),
        fixed_version: vuln.fixed_version.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Severity as VulnSeverity;

    fn found(id: &str, level: Option<Level>, fixed: Option<&str>) -> VulnMatch {
        VulnMatch {
            package: 0,
            ecosystem: "Debian:12".into(),
            matched_name: "openssl".into(),
            matched_version: "3.0.11-1".into(),
            vuln: Vuln {
                id: id.into(),
                aliases: vec!["CVE-2024-1".into()],
                upstream: Vec::new(),
                summary: None,
                severity: level.map(|level| VulnSeverity { level, score: Some(7.5), source: String::new() }),
                fixed_version: fixed.map(str::to_string),
            },
        }
    }

    #[test]
    fn findings_carry_package_fix_and_aliases() {
        let packages = [PackageRef {
            name: "libssl3",
            version: "3.0.11-1",
            ecosystem: "Debian:12",
            source_name: Some("openssl"),
            source_version: None,
            path: "var/lib/dpkg/status",
            layer: Some("sha256:abc"),
        }];
        let matches = [found("DSA-1", Some(Level::High), Some("3.0.13-1")), found("DSA-2", None, None)];
        let options = FindingOptions { target: "alpine:3.20", ..FindingOptions::default() };
        let findings = vulnerability_findings(&packages, &matches, &options);
        assert_eq!(findings.len(), 2);
        let first = &findings[0];
        assert_eq!(first.rule.id, "DSA-1");
        assert_eq!(first.rule.aliases, ["CVE-2024-1"]);
        assert_eq!(first.severity, Severity::High);
        assert_eq!(first.fixed_version.as_deref(), Some("3.0.13-1"));
        assert_eq!(&*first.location.path, "alpine:3.20");
        let package = first.package.as_ref().unwrap();
        assert_eq!((package.name.as_str(), package.layer.as_deref()), ("libssl3", Some("sha256:abc")));
        assert!(first.message.contains("through source package openssl"), "{}", first.message);
        assert!(findings[1].message.contains("severity unknown"));
        assert_ne!(first.fingerprint, findings[1].fingerprint);

        let json = serde_json::to_value(first).unwrap();
        assert_eq!(json["fixedVersion"], "3.0.13-1");
        assert_eq!(json["package"]["path"], "var/lib/dpkg/status");

        let fixed_only = FindingOptions { ignore_unfixed: true, ..options };
        assert_eq!(vulnerability_findings(&packages, &matches, &fixed_only).len(), 1);
        let critical = [Severity::Critical];
        let only_critical = FindingOptions { severities: &critical, ..options };
        assert!(vulnerability_findings(&packages, &matches, &only_critical).is_empty());
    }

    #[test]
    fn severity_lists_parse() {
        assert_eq!(parse_severity_list("high, CRITICAL,high").unwrap(), [Severity::High, Severity::Critical]);
        assert!(parse_severity_list("HIGH,urgent").unwrap_err().to_string().contains("urgent"));
        assert!(parse_severity_list(" , ").is_err());
    }
}
