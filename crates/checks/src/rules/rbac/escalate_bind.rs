use kubesecops_k8s::Object;

use crate::rules::rbac::{policy_rules, RBAC_GROUP};
use crate::{declare_rule, Config, Emitter};

const ROLE_RESOURCES: [(&str, &str); 2] = [(RBAC_GROUP, "roles"), (RBAC_GROUP, "clusterroles")];

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `escalate` or `bind` on `roles` or
    /// `clusterroles` (also through `*`, unless verbs and resources are both `*`). A `bind`
    /// limited by `resourceNames` to named roles is not reported, since that is the intended
    /// way to let someone hand out a few safe roles; `escalate` is reported either way.
    ///
    /// ## Why it matters
    /// RBAC normally stops a user from granting permissions they do not hold. `escalate` lets
    /// the subject edit a role to include any permission; `bind` lets it bind any role,
    /// `cluster-admin` included, to itself. Either is a one-step path to full control of the
    /// namespace or cluster (MITRE ATT&CK T1098.006, additional container cluster roles).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: role-admin
    /// rules:
    /// - apiGroups: ["rbac.authorization.k8s.io"]
    ///   resources: ["clusterroles"]
    ///   verbs: ["bind", "escalate"]   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove the verbs, or for `bind` restrict `resourceNames` to the roles the subject may
    /// hand out.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.8
    /// - Kubernetes documentation, "Using RBAC Authorization": privilege escalation prevention
    pub static META = {
        id: "KSO-R005",
        title: "Role can escalate or bind roles",
        severity: High,
        category: Rbac,
        aliases: ["CKV_K8S_157", "CKV_K8S_158", "C-0191"],
        frameworks: [Cis("5.1.8"), NsaCisa("authentication and authorization"), MitreAttack("T1098.006")],
    };
}

/// Reports rules granting `escalate`, or `bind` without `resourceNames`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for rule in policy_rules(obj) {
        let grant = rule.explicit_grant(&["escalate"], &ROLE_RESOURCES).or_else(|| {
            (!rule.has_resource_names()).then(|| rule.explicit_grant(&["bind"], &ROLE_RESOURCES)).flatten()
        });
        let Some((verb, resource)) = grant else { continue };
        let node = if verb.wildcard { resource.node } else { verb.node };
        let shown = if verb.wildcard {
            "\"*\" (which includes escalate and bind)".to_string()
        } else {
            format!("{:?}", verb.text)
        };
        out.emit(
            node.pos,
            &rule.key("verbs"),
            format!("{} rule {} grants {shown} on {:?}", obj.kind(), rule.index, resource.text),
        );
    }
}
