use kubesecops_k8s::{Node, Object};

use crate::rules::secrets::{credential_name, env_entries};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Container environment variables whose name says they hold a credential (the name test
    /// of `KSO-S001`) but whose value comes from a ConfigMap through
    /// `valueFrom.configMapKeyRef`.
    ///
    /// ## Why it matters
    /// The variable's name says the value is a credential, so the ConfigMap it is read from
    /// holds that credential. ConfigMaps are readable by every role that can view the
    /// namespace, are not encrypted at rest, and are routinely dumped into logs and bug
    /// reports (MITRE ATT&CK T1552.007, unsecured credentials: container API). This catches
    /// credentials in ConfigMaps that are defined elsewhere, where `KSO-S002` cannot see them.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: API_TOKEN
    ///   valueFrom:
    ///     configMapKeyRef:   # reported
    ///       name: settings
    ///       key: api-token
    /// ```
    ///
    /// ## Fix
    /// Store the value in a Secret and mount it as a file (or use `secretKeyRef`), then remove
    /// it from the ConfigMap and rotate it.
    ///
    /// ## References
    /// - Kubernetes documentation, "ConfigMaps": "ConfigMap does not provide secrecy or encryption"
    /// - CIS Kubernetes Benchmark 5.4.1
    pub static META = {
        id: "KSO-S005",
        title: "Credential read from a ConfigMap",
        severity: Medium,
        category: Secrets,
        aliases: [],
        frameworks: [NsaCisa("secrets"), MitreAttack("T1552.007")],
    };
}

/// Reports credential-named env vars fed from a ConfigMap key.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (entry, name) in env_entries(container.node) {
            if !credential_name(name) {
                continue;
            }
            let Some(value_from) = entry.get("valueFrom") else { continue };
            let Some(cm_ref) = value_from.get("configMapKeyRef") else { continue };
            let cm = cm_ref.get("name").and_then(Node::as_str).unwrap_or("?");
            out.emit(
                value_from.key_pos("configMapKeyRef"),
                &format!("{}.env[{name}].configMapKeyRef", container.key()),
                format!(
                    "container {:?} reads {name} from ConfigMap {cm:?}; credentials belong in Secrets",
                    container.name()
                ),
            );
        }
    });
}
