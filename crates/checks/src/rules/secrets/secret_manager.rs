use kubesecops_k8s::{Node, Object};

use crate::config::SecretManager;
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Only when the project says secrets come from a secret manager (`secret-managers` in
    /// `kubesecops.toml` `[scan]`: `vault`, `csi`, `external-secrets`); otherwise it reports
    /// nothing.
    /// - A `Secret` with `data` or `stringData` written in the manifests (service account
    ///   token Secrets aside): the credential is in the repository instead of the manager.
    /// - When `external-secrets` is not among the managers, a container that reads a
    ///   Kubernetes Secret directly (`secretKeyRef`, `envFrom.secretRef`, a `secret` volume or
    ///   a projected `secret` source): with Vault Agent or the Secrets Store CSI driver,
    ///   credentials reach pods through the injector's annotations
    ///   (`vault.hashicorp.com/agent-inject: "true"`) or a `csi` volume with driver
    ///   `secrets-store.csi.k8s.io`, never through Secrets. With `external-secrets`, Secrets
    ///   synced by an `ExternalSecret` are the expected way in, so reading them is fine.
    ///
    /// ## Why it matters
    /// A secret manager gives one place for access policy, audit, rotation and revocation.
    /// Credentials that bypass it are invisible to those controls: they are not rotated
    /// when the manager rotates, not revoked when an identity is removed, and their reads
    /// are not audited (MITRE ATT&CK T1552, unsecured credentials).
    ///
    /// ## Example
    /// ```toml
    /// # kubesecops.toml
    /// [scan]
    /// secret-managers = ["vault"]
    /// ```
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: db
    /// stringData:              # reported: defined in the manifests
    ///   password: s3cr3t
    /// ```
    ///
    /// ## Fix
    /// Store the credential in the manager and deliver it with Vault Agent injector
    /// annotations, a `SecretProviderClass` and CSI volume, or an `ExternalSecret`; delete the
    /// Secret from the manifests and rotate the credential it held.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.4.2 (consider external secret storage)
    /// - Kubernetes documentation, "Good practices for Kubernetes Secrets"
    pub static META = {
        id: "KSO-S007",
        title: "Secret bypasses the required secret manager",
        severity: Medium,
        category: Secrets,
        aliases: ["C-0208", "C-0234"],
        frameworks: [Cis("5.4.2"), NsaCisa("secrets"), MitreAttack("T1552")],
    };
}

fn managers_text(managers: &[SecretManager]) -> String {
    managers.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
}

/// Reports Secrets written in manifests and direct Secret reads, when a manager is required.
pub fn check(obj: &Object, config: &Config, out: &mut Emitter<'_>) {
    let managers = &config.secret_managers;
    if managers.is_empty() {
        return;
    }
    let expected = managers_text(managers);
    if obj.kind() == "Secret" && obj.group().is_empty() {
        let token =
            obj.root.get("type").and_then(Node::as_str) == Some("kubernetes.io/service-account-token");
        for field in ["data", "stringData"] {
            let Some(values) = obj.root.get(field) else { continue };
            if token || values.entries().is_empty() {
                continue;
            }
            out.emit(
                obj.root.key_pos(field),
                field,
                format!(
                    "Secret values are written in the manifests ({field}); secrets must come from {expected}"
                ),
            );
        }
        return;
    }
    if managers.contains(&SecretManager::ExternalSecrets) {
        return;
    }
    let Some(template) = obj.pod_template() else { return };
    for volume in template.get("volumes").map(Node::items).unwrap_or_default() {
        let name = volume.get("name").and_then(Node::as_str).unwrap_or("?");
        let mut secrets: Vec<(&str, &Node)> = Vec::new();
        if let Some(secret) = volume.get("secret") {
            secrets.push((secret.get("secretName").and_then(Node::as_str).unwrap_or("?"), secret));
        }
        for source in volume.path(&["projected", "sources"]).map(Node::items).unwrap_or_default() {
            if let Some(secret) = source.get("secret") {
                secrets.push((secret.get("name").and_then(Node::as_str).unwrap_or("?"), secret));
            }
        }
        for (secret, node) in secrets {
            out.emit(
                node.pos,
                &format!("volumes[{name}].secret[{secret}]"),
                format!("volume {name:?} mounts Secret {secret:?}; secrets must come from {expected}"),
            );
        }
    }
    for_each_container(obj, |_, container| {
        for entry in container.node.get("env").map(Node::items).unwrap_or_default() {
            let Some(secret_ref) = entry.path(&["valueFrom", "secretKeyRef"]) else { continue };
            let var = entry.get("name").and_then(Node::as_str).unwrap_or("?");
            let secret = secret_ref.get("name").and_then(Node::as_str).unwrap_or("?");
            out.emit(
                secret_ref.pos,
                &format!("{}.env[{var}].secretKeyRef", container.key()),
                format!(
                    "container {:?} reads {var} from Secret {secret:?}; secrets must come from {expected}",
                    container.name()
                ),
            );
        }
        for entry in container.node.get("envFrom").map(Node::items).unwrap_or_default() {
            let Some(secret_ref) = entry.get("secretRef") else { continue };
            let secret = secret_ref.get("name").and_then(Node::as_str).unwrap_or("?");
            out.emit(
                secret_ref.pos,
                &format!("{}.envFrom[{secret}]", container.key()),
                format!(
                    "container {:?} loads Secret {secret:?} into its environment; secrets must come from {expected}",
                    container.name()
                ),
            );
        }
    });
}
