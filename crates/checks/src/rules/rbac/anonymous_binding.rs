use kubesecops_k8s::Object;

use crate::rules::rbac::binding;
use crate::{declare_rule, Config, Emitter};

/// ClusterRoles Kubernetes itself binds to unauthenticated clients (version and health
/// endpoints only).
const BUILTIN_PUBLIC_ROLES: &[&str] = &["system:public-info-viewer"];

declare_rule! {
    /// ## What it checks
    /// RoleBindings and ClusterRoleBindings with the subject `User system:anonymous` or
    /// `Group system:unauthenticated`. Bindings to `system:public-info-viewer`, which
    /// Kubernetes itself grants to unauthenticated clients for `/version` and `/healthz`, are
    /// not reported.
    ///
    /// ## Why it matters
    /// Such a binding gives its permissions to anyone who can reach the API server, without
    /// credentials. API servers are regularly reachable from the internet; scanners look for
    /// exactly this and use whatever it grants, from listing Secrets to creating pods that
    /// mine cryptocurrency (MITRE ATT&CK T1078.001, default accounts; T1190).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: public-read
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: view
    /// subjects:
    /// - kind: Group
    ///   name: system:unauthenticated   # reported
    ///   apiGroup: rbac.authorization.k8s.io
    /// ```
    ///
    /// ## Fix
    /// Delete the binding and give the clients real identities. Consider
    /// `--anonymous-auth=false` on the API server.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.1 and 1.2.1
    /// - Kubernetes documentation, "Authenticating": anonymous requests
    pub static META = {
        id: "KSO-R012",
        title: "Binding grants access to anonymous users",
        severity: Critical,
        category: Rbac,
        aliases: ["KSV-0122", "C-0262"],
        frameworks: [NsaCisa("authentication and authorization"), MitreAttack("T1078.001"), MitreAttack("T1190")],
    };
}

/// Reports anonymous and unauthenticated subjects.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(binding) = binding(obj) else { return };
    if binding.role_kind == "ClusterRole" && BUILTIN_PUBLIC_ROLES.contains(&binding.role_name) {
        return;
    }
    for subject in &binding.subjects {
        let anonymous = matches!(
            (subject.kind, subject.name),
            ("User", "system:anonymous") | ("Group", "system:unauthenticated")
        );
        if anonymous {
            out.emit(
                subject.name_node.pos,
                &format!("subjects[{}]", subject.name),
                format!(
                    "{} grants {} {:?} to {} {:?}, that is to anyone without credentials",
                    obj.kind(),
                    binding.role_kind,
                    binding.role_name,
                    subject.kind,
                    subject.name
                ),
            );
        }
    }
}
