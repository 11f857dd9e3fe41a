use kubesecops_k8s::Object;

use crate::rules::rbac::policy_rules;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules whose `verbs` contain `*`.
    ///
    /// ## Why it matters
    /// `*` grants every verb that exists now and every one added later, including the
    /// privilege-escalation verbs `escalate`, `bind` and `impersonate`, `delete` and
    /// `deletecollection`, and write access to subresources. A role meant to "manage" one
    /// resource becomes a path to modify RBAC, impersonate users or wipe data, and whoever
    /// steals a token bound to it inherits all of it (MITRE ATT&CK T1098.006, additional
    /// container cluster roles).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: config-manager
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["configmaps"]
    ///   verbs: ["*"]   # reported
    /// ```
    ///
    /// ## Fix
    /// List the verbs the subject needs, typically `get`, `list`, `watch` and perhaps
    /// `create`, `update`, `patch`.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.3
    /// - Kubernetes documentation, "RBAC Good Practices": avoid wildcards
    pub static META = {
        id: "KSO-R001",
        title: "Role grants every verb",
        severity: High,
        category: Rbac,
        aliases: ["KSV-0045", "CKV_K8S_49", "C-0187", "wildcard-in-rules"],
        frameworks: [Cis("5.1.3"), NsaCisa("authentication and authorization"), MitreAttack("T1098.006")],
    };
}

/// Reports each `*` verb.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for rule in policy_rules(obj) {
        let on_everything = rule.items("resources").any(|(_, r)| r == "*");
        for (node, _) in rule.items("verbs").filter(|(_, v)| *v == "*") {
            let target = if on_everything { " on every resource" } else { "" };
            out.emit(
                node.pos,
                &rule.key("verbs"),
                format!("{} rule {} grants every verb (\"*\"){target}", obj.kind(), rule.index),
            );
        }
    }
}
