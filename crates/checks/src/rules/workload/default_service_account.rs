use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods run as their namespace's `default` service account: neither
    /// `serviceAccountName` nor the deprecated `serviceAccount` is set, or one of them is
    /// `default`. Pods with `automountServiceAccountToken: false` are not reported: they carry
    /// no token of that identity.
    ///
    /// ## Why it matters
    /// Every pod that names no service account shares the `default` one. A permission granted
    /// to it for one application (often by a quick `kubectl create rolebinding`) silently goes
    /// to every other pod of the namespace, and a token stolen from any of them carries all of
    /// it (MITRE ATT&CK T1078.001, default accounts). Audit logs cannot tell the applications
    /// apart either.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     spec:
    ///       serviceAccountName: default   # reported
    ///       containers:
    ///       - name: app
    ///         image: registry.example.com/app:1.0
    /// ```
    ///
    /// ## Fix
    /// Create a ServiceAccount per application, set `serviceAccountName`, grant it only what
    /// the application needs, and set `automountServiceAccountToken: false` on the `default`
    /// service account.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.5
    /// - Kubernetes documentation, "Configure Service Accounts for Pods"
    pub static META = {
        id: "KSO-W003",
        title: "Pods run as the default service account",
        severity: Low,
        category: Workload,
        aliases: ["default-service-account"],
        frameworks: [Cis("5.1.5"), NsaCisa("authentication and authorization"), MitreAttack("T1078.001")],
    };
}

/// Reports pod specs that use the `default` service account with its token mounted.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if template.get("automountServiceAccountToken").and_then(Node::as_bool) == Some(false) {
        return;
    }
    let key = format!("{}.serviceAccountName", template.spec_path);
    let named = ["serviceAccountName", "serviceAccount"]
        .into_iter()
        .find_map(|field| template.get(field).filter(|n| n.as_str().is_some_and(|s| !s.is_empty())));
    match named {
        Some(node) if node.as_str() == Some("default") => {
            out.emit(node.pos, &key, "pods run as the `default` service account")
        }
        Some(_) => {}
        None => out.emit(
            template.spec.pos,
            &key,
            "pods name no service account, so they run as the namespace's `default` service account",
        ),
    }
}
