use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `Secret` objects of type `Opaque` (or with no type, which means `Opaque`) that carry
    /// values under `stringData`. Empty values and template placeholders (`${VAR}`,
    /// `{{ ... }}`, `<placeholder>`) are not reported. `data` is not checked here: the API
    /// server returns every live Secret with `data`, so a cluster snapshot would be all
    /// findings; base64-encoded values in files are the secret scanner's job.
    ///
    /// ## Why it matters
    /// `stringData` is the plain-text way to write a Secret. It exists only in manifests
    /// (the API server folds it into `data`), so a Secret with `stringData` in a file means a
    /// credential sits in clear text in the repository, its history and every clone and CI
    /// cache of it (MITRE ATT&CK T1552.001, credentials in files).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: db
    /// type: Opaque
    /// stringData:
    ///   password: s3cr3t   # reported
    /// ```
    ///
    /// ## Fix
    /// Keep Secret values out of the repository: create Secrets from a secret manager
    /// (External Secrets Operator, the Secrets Store CSI driver) or commit them encrypted
    /// (Sealed Secrets, SOPS). Rotate any credential that was committed.
    ///
    /// ## References
    /// - Kubernetes documentation, "Good practices for Kubernetes Secrets"
    /// - CIS Kubernetes Benchmark 5.4.2
    pub static META = {
        id: "KSO-S004",
        title: "Secret values in plain text in a manifest",
        severity: Medium,
        category: Secrets,
        aliases: [],
        frameworks: [Cis("5.4.2"), NsaCisa("secrets"), MitreAttack("T1552.001")],
    };
}

/// Whether a value is a placeholder or template rather than a real value.
fn placeholder(value: &str) -> bool {
    let value = value.trim();
    value.is_empty()
        || ["${", "{{", "$("].iter().any(|p| value.contains(p))
        || (value.starts_with('<') && value.ends_with('>'))
}

/// Reports each filled-in `stringData` key of an Opaque Secret.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "Secret" || !obj.group().is_empty() {
        return;
    }
    if obj.root.get("type").and_then(Node::as_str).is_some_and(|t| t != "Opaque") {
        return;
    }
    let Some(string_data) = obj.root.get("stringData") else { return };
    for entry in string_data.entries() {
        if entry.value.as_str().is_some_and(|v| !placeholder(v)) {
            out.emit(
                entry.key_pos,
                &format!("stringData.{}", entry.key),
                format!("Secret stores {:?} in plain text under stringData", entry.key),
            );
        }
    }
}
