use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{RuleMeta, Severity};

/// The rule a finding came from, as reports show it. Shared (`Arc`) by every finding of
/// that rule so that large reports do not copy the strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Stable id (`KSO-C001`, or a policy's own id).
    pub id: String,
    /// Equivalent ids of other tools.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One-line title.
    #[serde(default)]
    pub title: String,
}

impl From<&RuleMeta> for RuleRef {
    fn from(meta: &RuleMeta) -> Self {
        RuleRef {
            id: meta.id.to_string(),
            aliases: meta.aliases.iter().map(|a| a.to_string()).collect(),
            title: meta.title.to_string(),
        }
    }
}

/// Where a finding is: a file and the 1-based line and column of the offending field.
/// Live objects use a `cluster://CONTEXT` path and no line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// File path as given by the user (or `-` for stdin, `cluster://...` for live objects).
    pub path: Arc<str>,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// The Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct ObjectRef {
    /// `apps/v1`, `v1`, ...
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    /// `Deployment`, ...
    #[serde(default)]
    pub kind: String,
    /// Namespace as written in the object (empty when not set).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `metadata.name` (or `generateName`).
    #[serde(default)]
    pub name: String,
}

impl ObjectRef {
    /// `Kind/namespace/name` (namespace omitted when empty), for tables and messages.
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Where in version-control history a finding was introduced (`kubesecops secrets --git`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Vcs {
    /// Full commit id.
    pub commit: String,
    /// `Name <email>` of the commit's author.
    pub author: String,
    /// Author date, RFC 3339 (`2024-05-01T12:00:00+02:00`).
    pub date: String,
}

/// An installed package that a vulnerability finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Package {
    /// Name as its ecosystem writes it.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// OSV ecosystem (`Debian:12`, `npm`, `PyPI`, ...).
    pub ecosystem: String,
    /// The file inside the image (or SBOM) the package was read from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Image layer (digest) that file came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// One problem found by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Arc<RuleRef>,
    /// Severity (the rule's default unless configuration changed it).
    pub severity: Severity,
    /// What is wrong here, in a sentence.
    pub message: String,
    /// File and line of the offending field.
    pub location: Location,
    /// The object, when the input was a Kubernetes object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Arc<ObjectRef>>,
    /// Stable identity of this finding across edits that move lines (see [`fingerprint`]).
    pub fingerprint: String,
    /// The commit that added the offending line, for findings in version-control history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcs: Option<Box<Vcs>>,
    /// The package a vulnerability finding is about (image and SBOM scans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Box<Package>>,
    /// The first version that fixes the vulnerability, when one is known.
    #[serde(rename = "fixedVersion", default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
}

/// A fingerprint that survives line moves: a hash of the rule id, the file, the object and
/// a logical key of the offending field (such as `containers[web].securityContext.privileged`),
/// never of line numbers. Baselines compare fingerprints.
pub fn fingerprint(rule_id: &str, path: &str, object: Option<&ObjectRef>, key: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [rule_id, path] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    if let Some(obj) = object {
        for part in [&obj.kind, &obj.namespace, &obj.name] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
    }
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    hex(&digest[..8])
}

/// `bytes` in lower-case hexadecimal, two digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_identity_not_line() {
        let obj = ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: "a".into(),
            name: "p".into(),
        };
        let a = fingerprint("KSO-C001", "x.yaml", Some(&obj), "containers[web]");
        assert_eq!(a, fingerprint("KSO-C001", "x.yaml", Some(&obj), "containers[web]"));
        assert_ne!(a, fingerprint("KSO-C001", "x.yaml", Some(&obj), "containers[db]"));
        assert_ne!(a, fingerprint("KSO-C002", "x.yaml", Some(&obj), "containers[web]"));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn hex_writes_two_lower_case_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff, 0x5c]), "000fa0ff5c");
        assert_eq!(hex(&[]), "");
    }
}
