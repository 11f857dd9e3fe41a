use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `EncryptionConfiguration` files (`apiserver.config.k8s.io`) that leave Secrets
    /// unencrypted: the first provider of the entry covering `secrets` (by name, or through
    /// the `*.` and `*.*` wildcards) is `identity`, or no entry covers Secrets at all. The
    /// first provider is the one new writes use; later providers are only tried for reads.
    ///
    /// ## Why it matters
    /// The API server writes Secrets with the first provider listed. With `identity` first
    /// they are stored in etcd as plain base64 even though encryption at rest looks
    /// configured: etcd backups, data directories and node disk snapshots hold every
    /// credential in clear (MITRE ATT&CK T1552, unsecured credentials).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apiserver.config.k8s.io/v1
    /// kind: EncryptionConfiguration
    /// resources:
    /// - resources: [secrets]
    ///   providers:
    ///   - identity: {}          # reported: new Secrets are written unencrypted
    ///   - aescbc:
    ///       keys:
    ///       - name: key1
    ///         secret: <base64 key>
    /// ```
    ///
    /// ## Fix
    /// Put `kms` (v2), `secretbox`, `aesgcm` or `aescbc` first and keep `identity` last (only
    /// to read data written before encryption was enabled); restart the API server and
    /// rewrite existing Secrets so they are stored encrypted.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 1.2.28
    /// - Kubernetes documentation, "Encrypting Confidential Data at Rest"
    pub static META = {
        id: "KSO-S010",
        title: "Encryption configuration leaves Secrets unencrypted",
        severity: High,
        category: Secrets,
        aliases: ["C-0142"],
        frameworks: [Cis("1.2.28"), NsaCisa("secrets"), MitreAttack("T1552")],
    };
}

/// True when a `resources` list names Secrets, by name or wildcard.
fn covers_secrets(resources: &Node) -> bool {
    resources.items().iter().filter_map(Node::as_str).any(|r| matches!(r, "secrets" | "*." | "*.*"))
}

/// Reports encryption configurations whose first provider for Secrets is `identity`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "EncryptionConfiguration" || !obj.group().starts_with("apiserver.") {
        return;
    }
    let entries = obj.root.get("resources").map(Node::items).unwrap_or_default();
    // The API server uses the first entry that matches a resource.
    let Some(entry) = entries.iter().find(|e| e.get("resources").is_some_and(covers_secrets)) else {
        out.emit(
            obj.root.key_pos("resources"),
            "resources",
            "no entry covers secrets: Secrets are stored in etcd unencrypted",
        );
        return;
    };
    let providers = entry.get("providers").map(Node::items).unwrap_or_default();
    match providers.first() {
        None => out.emit(
            entry.key_pos("providers"),
            "resources[secrets].providers",
            "the entry for secrets lists no provider: Secrets are stored in etcd unencrypted",
        ),
        Some(first) if first.entry("identity").is_some() => out.emit(
            first.pos,
            "resources[secrets].providers[0]",
            "the first provider for secrets is identity: new Secrets are written to etcd unencrypted",
        ),
        Some(_) => {}
    }
}
