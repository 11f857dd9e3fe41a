use kubesecops_k8s::Object;

use crate::rules::rbac::binding;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// RoleBindings and ClusterRoleBindings whose `roleRef` is the `cluster-admin`
    /// ClusterRole. The built-in binding of `cluster-admin` to the `system:masters` group
    /// (the only subject) is not reported.
    ///
    /// ## Why it matters
    /// `cluster-admin` allows every action on every resource. Bound cluster-wide it owns the
    /// cluster; bound with a RoleBinding it owns the namespace, including its Secrets, and
    /// every workload there. Each extra subject holding it is one more credential whose theft
    /// ends the game (MITRE ATT&CK T1078, valid accounts; T1098.006).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata:
    ///   name: ci-admin
    /// roleRef:
    ///   apiGroup: rbac.authorization.k8s.io
    ///   kind: ClusterRole
    ///   name: cluster-admin   # reported
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: ci
    ///   namespace: ci
    /// ```
    ///
    /// ## Fix
    /// Bind a role listing what the subject needs. Keep `cluster-admin` for break-glass
    /// accounts, bound only while needed.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.1
    /// - Kubernetes documentation, "Using RBAC Authorization": user-facing roles
    pub static META = {
        id: "KSO-R011",
        title: "Binding to cluster-admin",
        severity: High,
        category: Rbac,
        aliases: [
            "KSV-0111",
            "C-0185",
            "cluster-admin-role-binding",
            "clusterrolebindingClusterAdmin",
            "rolebindingClusterAdminClusterRole",
        ],
        frameworks: [Cis("5.1.1"), NsaCisa("authentication and authorization"), MitreAttack("T1078")],
    };
}

/// Reports bindings that grant `cluster-admin`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(binding) = binding(obj) else { return };
    if binding.role_kind != "ClusterRole" || binding.role_name != "cluster-admin" {
        return;
    }
    let builtin = !binding.subjects.is_empty()
        && binding.subjects.iter().all(|s| s.kind == "Group" && s.name == "system:masters");
    if builtin {
        return;
    }
    let subjects: Vec<String> = binding.subjects.iter().map(|s| format!("{} {:?}", s.kind, s.name)).collect();
    let to = if subjects.is_empty() { "no subject yet".to_string() } else { subjects.join(", ") };
    let scope = if obj.kind() == "ClusterRoleBinding" { "cluster-wide" } else { "in its namespace" };
    out.emit(
        binding.role_node.map_or(obj.root.key_pos("roleRef"), |n| n.pos),
        "roleRef",
        format!("{} grants cluster-admin {scope} to {to}", obj.kind()),
    );
}
