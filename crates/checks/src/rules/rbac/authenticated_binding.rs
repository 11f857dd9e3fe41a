use kubesecops_k8s::Object;

use crate::rules::rbac::binding;
use crate::{declare_rule, Config, Emitter};

/// ClusterRoles Kubernetes itself binds to every authenticated user.
const BUILTIN_AUTHENTICATED_ROLES: &[&str] =
    &["system:basic-user", "system:discovery", "system:public-info-viewer"];

declare_rule! {
    /// ## What it checks
    /// RoleBindings and ClusterRoleBindings with the subject `Group system:authenticated`.
    /// The bindings Kubernetes creates itself for that group (to `system:basic-user`,
    /// `system:discovery` and `system:public-info-viewer`) are not reported.
    ///
    /// ## Why it matters
    /// `system:authenticated` is every identity the API server accepts: every user, every
    /// service account of every namespace, and on managed clusters sometimes any account of
    /// the cloud provider (the GKE "any Google account" incidents). A binding to it hands its
    /// permissions to every compromised pod in the cluster (MITRE ATT&CK T1078, valid accounts).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: everyone-edit
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: edit
    /// subjects:
    /// - kind: Group
    ///   name: system:authenticated   # reported
    ///   apiGroup: rbac.authorization.k8s.io
    /// ```
    ///
    /// ## Fix
    /// Bind to the specific users, groups or service accounts that need the role.
    ///
    /// ## References
    /// - Kubernetes documentation, "Using RBAC Authorization": default roles and role bindings
    /// - CIS Kubernetes Benchmark 5.1.1
    pub static META = {
        id: "KSO-R013",
        title: "Binding grants access to all authenticated users",
        severity: High,
        category: Rbac,
        aliases: ["KSV-01011", "C-0265"],
        frameworks: [NsaCisa("authentication and authorization"), MitreAttack("T1078")],
    };
}

/// Reports `system:authenticated` subjects.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(binding) = binding(obj) else { return };
    if binding.role_kind == "ClusterRole" && BUILTIN_AUTHENTICATED_ROLES.contains(&binding.role_name) {
        return;
    }
    for subject in binding.subjects.iter().filter(|s| s.kind == "Group" && s.name == "system:authenticated") {
        out.emit(
            subject.name_node.pos,
            &format!("subjects[{}]", subject.name),
            format!(
                "{} grants {} {:?} to every authenticated identity",
                obj.kind(),
                binding.role_kind,
                binding.role_name
            ),
        );
    }
}
