use kubesecops_k8s::Object;

use crate::rules::rbac::binding;
use crate::{declare_rule, Config, Emitter};

/// ClusterRoles Kubernetes itself binds to all service accounts.
const BUILTIN_SERVICE_ACCOUNT_ROLES: &[&str] = &["system:service-account-issuer-discovery"];

declare_rule! {
    /// ## What it checks
    /// RoleBindings and ClusterRoleBindings whose subjects include a `default` service account
    /// (`kind: ServiceAccount`, `name: default`), or the groups of all service accounts
    /// (`system:serviceaccounts`) or of all service accounts of a namespace
    /// (`system:serviceaccounts:<namespace>`), which include the `default` ones. The
    /// built-in binding of all service accounts to `system:service-account-issuer-discovery`
    /// is not reported.
    ///
    /// ## Why it matters
    /// Every pod that names no service account runs as `default` and, unless told otherwise,
    /// carries its token. Permissions bound to it go to every such pod of the namespace,
    /// including ones deployed later by people unaware of the binding; a single compromised pod
    /// then holds them (MITRE ATT&CK T1078.001, default accounts).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: RoleBinding
    /// metadata:
    ///   name: app-reader
    ///   namespace: shop
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: view
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: default   # reported
    ///   namespace: shop
    /// ```
    ///
    /// ## Fix
    /// Create a dedicated ServiceAccount for the workload that needs the permissions, bind the
    /// role to it, and set `serviceAccountName` in that workload.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.5
    /// - Kubernetes documentation, "Managing Service Accounts"
    pub static META = {
        id: "KSO-R014",
        title: "Binding grants permissions to default service accounts",
        severity: Medium,
        category: Rbac,
        aliases: ["CKV_K8S_42", "C-0189"],
        frameworks: [Cis("5.1.5"), NsaCisa("authentication and authorization"), MitreAttack("T1078.001")],
    };
}

/// Reports subjects that are, or include, a `default` service account.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(binding) = binding(obj) else { return };
    if binding.role_kind == "ClusterRole" && BUILTIN_SERVICE_ACCOUNT_ROLES.contains(&binding.role_name) {
        return;
    }
    for subject in &binding.subjects {
        let who = match (subject.kind, subject.name) {
            ("ServiceAccount", "default") => {
                let ns = subject.namespace.unwrap_or(obj.namespace());
                if ns.is_empty() {
                    "the `default` service account".to_string()
                } else {
                    format!("the `default` service account of {ns:?}")
                }
            }
            ("Group", "system:serviceaccounts") => "every service account of the cluster".to_string(),
            ("Group", group) => match group.strip_prefix("system:serviceaccounts:") {
                Some(ns) => format!("every service account of {ns:?}"),
                None => continue,
            },
            _ => continue,
        };
        out.emit(
            subject.name_node.pos,
            &format!("subjects[{}]", subject.name),
            format!("{} grants {} {:?} to {who}", obj.kind(), binding.role_kind, binding.role_name),
        );
    }
}
