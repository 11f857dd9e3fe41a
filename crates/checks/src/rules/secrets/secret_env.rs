use kubesecops_k8s::{Node, Object};

use crate::rules::secrets::env_entries;
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers that receive Secret values as environment variables: an `env` entry with
    /// `valueFrom.secretKeyRef`, or an `envFrom` entry with `secretRef`.
    ///
    /// ## Why it matters
    /// Environment variables leak more easily than files. They are inherited by every child
    /// process, printed by crash reporters, debug endpoints and `env` dumps in logs, visible in
    /// `/proc/<pid>/environ` to anything sharing the process namespace, and cannot be rotated
    /// without restarting the container. A mounted Secret file stays readable only by the
    /// process that opens it and is updated in place when the Secret changes (MITRE ATT&CK
    /// T1552.007, unsecured credentials: container API).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:1.0
    ///   env:
    ///   - name: DB_PASSWORD
    ///     valueFrom:
    ///       secretKeyRef:       # reported
    ///         name: db
    ///         key: password
    /// ```
    ///
    /// ## Fix
    /// Mount the Secret as a volume (`volumes[].secret` with a `volumeMounts` entry) and have
    /// the application read the file, for example through a `DB_PASSWORD_FILE` variable.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.4.1
    /// - Kubernetes documentation, "Secrets": using Secrets as files from a Pod
    pub static META = {
        id: "KSO-S003",
        title: "Secret exposed as environment variable",
        severity: Low,
        category: Secrets,
        aliases: ["CKV_K8S_35", "C-0207", "read-secret-from-env-var"],
        frameworks: [Cis("5.4.1"), NsaCisa("secrets"), MitreAttack("T1552.007")],
    };
}

/// Reports `secretKeyRef` env entries and `secretRef` envFrom entries.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (entry, name) in env_entries(container.node) {
            let Some(value_from) = entry.get("valueFrom") else { continue };
            let Some(secret_ref) = value_from.get("secretKeyRef") else { continue };
            let secret = secret_ref.get("name").and_then(Node::as_str).unwrap_or("?");
            out.emit(
                value_from.key_pos("secretKeyRef"),
                &format!("{}.env[{name}].secretKeyRef", container.key()),
                format!(
                    "container {:?} reads Secret {secret:?} into the environment variable {name}",
                    container.name()
                ),
            );
        }
        for entry in container.node.get("envFrom").map(Node::items).unwrap_or_default() {
            let Some(secret_ref) = entry.get("secretRef") else { continue };
            let secret = secret_ref.get("name").and_then(Node::as_str).unwrap_or("?");
            out.emit(
                entry.key_pos("secretRef"),
                &format!("{}.envFrom[{secret}]", container.key()),
                format!(
                    "container {:?} loads every key of Secret {secret:?} into its environment",
                    container.name()
                ),
            );
        }
    });
}
