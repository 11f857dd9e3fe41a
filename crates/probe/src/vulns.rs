//! Known Kubernetes vulnerabilities found from the API server's version alone: a small table
//! of our own (from the Kubernetes security announcements), fixed patch release per minor
//! branch. Minor versions older than the oldest listed branch are affected (unsupported
//! branches got no fix); newer ones are not.

use kubesecops_core::Severity;

/// One known vulnerability.
#[derive(Debug, Clone, Copy)]
pub struct KnownVuln {
    /// CVE id.
    pub cve: &'static str,
    /// What it allows.
    pub title: &'static str,
    /// How bad.
    pub severity: Severity,
    /// kube-hunter's id for it, when kube-hunter has one.
    pub kube_hunter: Option<&'static str>,
    /// MITRE ATT&CK technique.
    pub mitre: &'static str,
    /// `(minor, first fixed patch)` for Kubernetes 1.minor.
    pub fixed: &'static [(u32, u32)],
}

/// The table.
pub const KNOWN_VULNS: &[KnownVuln] = &[
    KnownVuln {
        cve: "CVE-2018-1002105",
        title: "API server proxy upgrade lets any user escalate to cluster admin",
        severity: Severity::Critical,
        kube_hunter: Some("KHV022"),
        mitre: "T1068",
        fixed: &[(10, 11), (11, 5), (12, 3)],
    },
    KnownVuln {
        cve: "CVE-2019-1002100",
        title: "json-patch requests can exhaust the API server (denial of service)",
        severity: Severity::Medium,
        kube_hunter: Some("KHV023"),
        mitre: "T1499",
        fixed: &[(11, 8), (12, 6), (13, 4)],
    },
    KnownVuln {
        cve: "CVE-2019-11253",
        title: "YAML/JSON 'billion laughs' bodies can exhaust the API server (denial of service)",
        severity: Severity::High,
        kube_hunter: Some("KHV023"),
        mitre: "T1499",
        fixed: &[(13, 12), (14, 8), (15, 5), (16, 2)],
    },
    KnownVuln {
        cve: "CVE-2020-8559",
        title: "A compromised node can redirect API server requests to other nodes (privilege escalation)",
        severity: Severity::Medium,
        kube_hunter: None,
        mitre: "T1068",
        fixed: &[(16, 13), (17, 9), (18, 6)],
    },
    KnownVuln {
        cve: "CVE-2021-25735",
        title: "Validating admission webhooks do not see old values of node updates (bypass)",
        severity: Severity::Medium,
        kube_hunter: None,
        mitre: "T1562",
        fixed: &[(18, 18), (19, 10), (20, 6)],
    },
    KnownVuln {
        cve: "CVE-2021-25741",
        title: "Symlink exchange in subPath volume mounts gives access to host files",
        severity: Severity::High,
        kube_hunter: None,
        mitre: "T1611",
        fixed: &[(19, 15), (20, 11), (21, 5), (22, 2)],
    },
    KnownVuln {
        cve: "CVE-2022-3172",
        title: "Aggregated API servers can redirect client traffic to any URL",
        severity: Severity::Medium,
        kube_hunter: None,
        mitre: "T1557",
        fixed: &[(22, 14), (23, 11), (24, 5), (25, 1)],
    },
];

/// Parses `v1.20.2` (and `v1.20.2-foo`) into (major, minor, patch).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let bare = text.trim().trim_start_matches('v');
    let core = bare.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.trim_end_matches('+').parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The known vulnerabilities of a Kubernetes version.
pub fn affecting(version: &str) -> Vec<&'static KnownVuln> {
    let Some((1, minor, patch)) = parse_version(version) else { return Vec::new() };
    KNOWN_VULNS
        .iter()
        .filter(|v| {
            let oldest = v.fixed.iter().map(|(m, _)| *m).min().unwrap_or(0);
            match v.fixed.iter().find(|(m, _)| *m == minor) {
                Some((_, fixed_patch)) => patch < *fixed_patch,
                None => minor < oldest,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_fixed_branches() {
        let ids = |v| affecting(v).iter().map(|k| k.cve).collect::<Vec<_>>();
        assert_eq!(ids("v1.20.2"), ["CVE-2021-25735", "CVE-2021-25741", "CVE-2022-3172"]);
        // Unsupported branches older than a fix's oldest branch stay affected.
        assert_eq!(ids("v1.20.11"), ["CVE-2022-3172"]);
        assert!(ids("v1.9.0").contains(&"CVE-2018-1002105"));
        assert!(ids("v1.30.1").is_empty());
        assert!(ids("garbage").is_empty());
    }
}
