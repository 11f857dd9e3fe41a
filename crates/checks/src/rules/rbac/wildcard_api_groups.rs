use kubesecops_k8s::Object;

use crate::rules::rbac::{policy_rules, WRITE_VERBS};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules with `apiGroups: ["*"]` that grant a write verb (`create`,
    /// `update`, `patch`, `delete`, `deletecollection`, `escalate`, `bind`, `impersonate`, or
    /// `*`) on named resources. Read-only rules are left alone, and so are rules whose
    /// `resources` is `*`, which `KSO-R002` reports already.
    ///
    /// ## Why it matters
    /// Resource names are only unique within an API group. `apiGroups: ["*"]` with
    /// `resources: ["deployments"]` also matches `deployments` of every other group, including
    /// custom resources that operators install later and that may launch pods or hold
    /// credentials. Write access then grows silently whenever a new CRD with a matching name
    /// arrives (MITRE ATT&CK T1098.006, additional container cluster roles).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: deployer
    /// rules:
    /// - apiGroups: ["*"]   # reported
    ///   resources: ["deployments"]
    ///   verbs: ["create", "update", "patch"]
    /// ```
    ///
    /// ## Fix
    /// Name the groups: `apiGroups: ["apps"]` for Deployments.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.3
    /// - Kubernetes documentation, "Using RBAC Authorization": referring to resources
    pub static META = {
        id: "KSO-R003",
        title: "Role grants write access in every API group",
        severity: Medium,
        category: Rbac,
        aliases: [],
        frameworks: [Cis("5.1.3"), MitreAttack("T1098.006")],
    };
}

/// Reports `*` API groups on rules that write named resources.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for rule in policy_rules(obj) {
        let resources: Vec<&str> = rule.items("resources").map(|(_, r)| r).collect();
        if resources.is_empty() || resources.contains(&"*") {
            continue;
        }
        let Some(verb) = rule.verb(WRITE_VERBS) else { continue };
        for (node, _) in rule.items("apiGroups").filter(|(_, g)| *g == "*") {
            out.emit(
                node.pos,
                &rule.key("apiGroups"),
                format!(
                    "{} rule {} grants {:?} on {} in every API group (\"*\")",
                    obj.kind(),
                    rule.index,
                    verb.text,
                    resources.join(", ")
                ),
            );
        }
    }
}
