use kubesecops_k8s::Object;

use crate::rules::rbac::policy_rules;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules whose `resources` contain `*`.
    ///
    /// ## Why it matters
    /// `*` covers every resource of the listed API groups, subresources included: Secrets,
    /// `pods/exec`, `serviceaccounts/token`, RBAC objects in the `rbac.authorization.k8s.io`
    /// group, and every custom resource installed later. A "read everything" ClusterRole reads
    /// every Secret of the cluster; a "manage the namespace" Role can mint tokens and exec into
    /// pods (MITRE ATT&CK T1098.006, additional container cluster roles; T1552.007, container
    /// API).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: viewer
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["*"]   # reported: includes secrets
    ///   verbs: ["get", "list", "watch"]
    /// ```
    ///
    /// ## Fix
    /// Name the resources. For read-only access across the cluster, start from the built-in
    /// `view` ClusterRole, which leaves Secrets out.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.3
    /// - Kubernetes documentation, "RBAC Good Practices": avoid wildcards
    pub static META = {
        id: "KSO-R002",
        title: "Role grants access to every resource",
        severity: High,
        category: Rbac,
        aliases: ["KSV-0046", "KSV-0112"],
        frameworks: [Cis("5.1.3"), NsaCisa("authentication and authorization"), MitreAttack("T1098.006")],
    };
}

/// Reports each `*` resource.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for rule in policy_rules(obj) {
        let verbs: Vec<&str> = rule.items("verbs").map(|(_, v)| v).collect();
        let verbs = if verbs.contains(&"*") { "every verb".to_string() } else { verbs.join(", ") };
        for (node, _) in rule.items("resources").filter(|(_, r)| *r == "*") {
            out.emit(
                node.pos,
                &rule.key("resources"),
                format!("{} rule {} grants {} on every resource (\"*\")", obj.kind(), rule.index, verbs),
            );
        }
    }
}
