use serde::Serialize;

use crate::Severity;

/// The family a rule belongs to; used for grouping in listings and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Container and pod security context: privileges, users, capabilities, kernel interfaces.
    PodSecurity,
    /// Host namespaces, host ports, hostPath volumes.
    HostAccess,
    /// Images: tags, digests, registries.
    Images,
    /// Resource requests and limits.
    Resources,
    /// Liveness, readiness and startup probes, and other reliability settings.
    Reliability,
    /// Where workloads run and which identity they use.
    Workload,
    /// Services, Ingresses and NetworkPolicies.
    Network,
    /// Role-based access control objects.
    Rbac,
    /// Secrets and credentials in configuration.
    Secrets,
}

impl Category {
    /// The kebab-case name shown in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PodSecurity => "pod-security",
            Self::HostAccess => "host-access",
            Self::Images => "images",
            Self::Resources => "resources",
            Self::Reliability => "reliability",
            Self::Workload => "workload",
            Self::Network => "network",
            Self::Rbac => "rbac",
            Self::Secrets => "secrets",
        }
    }
}

/// A control of a security framework that a rule implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "framework", content = "control")]
pub enum Framework {
    /// CIS Kubernetes Benchmark control number (e.g. `5.2.2`).
    #[serde(rename = "CIS")]
    Cis(&'static str),
    /// NSA-CISA Kubernetes Hardening Guidance section.
    #[serde(rename = "NSA-CISA")]
    NsaCisa(&'static str),
    /// MITRE ATT&CK technique id (e.g. `T1611`).
    #[serde(rename = "MITRE-ATTACK")]
    MitreAttack(&'static str),
    /// Pod Security Standards level and control (e.g. `baseline:privileged`).
    #[serde(rename = "PSS")]
    Pss(&'static str),
}

impl Framework {
    /// `CIS 5.2.2`, `MITRE-ATTACK T1611`, ...
    pub fn label(&self) -> String {
        match self {
            Self::Cis(c) => format!("CIS {c}"),
            Self::NsaCisa(c) => format!("NSA-CISA {c}"),
            Self::MitreAttack(c) => format!("MITRE-ATTACK {c}"),
            Self::Pss(c) => format!("PSS {c}"),
        }
    }
}

/// Static description of a rule: everything but the check itself.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    /// Stable id (`KSO-C001`); never reused for another meaning.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Default severity of its findings.
    pub severity: Severity,
    /// Family.
    pub category: Category,
    /// Equivalent ids of other tools (Trivy `KSV-0017`, Checkov `CKV_K8S_16`, Kubescape `C-0057`, ...).
    pub aliases: &'static [&'static str],
    /// Framework controls this rule implements.
    pub frameworks: &'static [Framework],
    /// Markdown documentation: what, why, example, fix, references.
    pub doc: &'static str,
}

impl RuleMeta {
    /// True when `name` is this rule's id or one of its aliases (case-insensitive).
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        self.id.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}
