use kubesecops_k8s::Object;

use crate::rules::rbac::policy_rules;
use crate::{declare_rule, Config, Emitter};

/// Resources whose deletion destroys data, removes guard rails or covers tracks.
const HIGH_IMPACT: &[(&str, &str)] = &[
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("", "persistentvolumeclaims"),
    ("", "secrets"),
    ("", "events"),
    ("events.k8s.io", "events"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
];

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant deletion broadly:
    /// - `delete` or `deletecollection` on resources whose loss is severe: namespaces, nodes,
    ///   persistent volumes and claims, Secrets, events, CustomResourceDefinitions and
    ///   admission webhook configurations, or on `*` resources; or
    /// - `deletecollection` on any resource.
    ///
    /// As in the other permission rules, `verbs: ["*"]` together with `resources: ["*"]` is
    /// left to `KSO-R001` and `KSO-R002`.
    ///
    /// ## Why it matters
    /// Deleting a namespace or a volume claim destroys everything in it; deleting CRDs
    /// removes every custom resource of that type; deleting webhook configurations switches
    /// off admission policy; deleting events hides an intrusion (MITRE ATT&CK T1485, data
    /// destruction; T1070, indicator removal). `deletecollection` removes all objects of a
    /// type in one request.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: cleanup
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["namespaces"]   # reported
    ///   verbs: ["delete"]
    /// ```
    ///
    /// ## Fix
    /// Grant deletion of specific objects with `resourceNames`, or only of the resource types
    /// the subject manages, and keep namespace and volume deletion with administrators.
    ///
    /// ## References
    /// - Kubernetes documentation, "RBAC Good Practices"
    /// - MITRE ATT&CK T1485
    pub static META = {
        id: "KSO-R010",
        title: "Role can delete broadly",
        severity: Medium,
        category: Rbac,
        aliases: ["C-0007", "C-0031"],
        frameworks: [NsaCisa("authentication and authorization"), MitreAttack("T1485"), MitreAttack("T1070")],
    };
}

/// Reports rules granting deletion of high-impact resources, or `deletecollection`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for rule in policy_rules(obj) {
        let resources: Vec<&str> = rule.items("resources").map(|(_, r)| r).collect();
        let explicit_verb = |names: &[&str]| rule.items("verbs").find(|(_, v)| names.contains(v));
        let (node, message) = if let Some((verb, resource)) =
            rule.explicit_grant(&["delete", "deletecollection"], HIGH_IMPACT)
        {
            let node = if resource.wildcard { verb.node } else { resource.node };
            (node, format!("grants {:?} on {:?}", verb.text, resource.text))
        } else if let Some((node, verb)) =
            explicit_verb(&["delete", "deletecollection"]).filter(|_| resources.contains(&"*"))
        {
            let groups: Vec<String> = rule.items("apiGroups").map(|(_, g)| format!("{g:?}")).collect();
            (node, format!("grants {verb:?} on every resource of API groups {}", groups.join(", ")))
        } else if let Some((node, _)) = explicit_verb(&["deletecollection"]).filter(|_| !resources.is_empty())
        {
            (
                node,
                format!(
                    "grants \"deletecollection\" on {}, removing all of them at once",
                    resources.join(", ")
                ),
            )
        } else {
            continue;
        };
        out.emit(node.pos, &rule.key("delete"), format!("{} rule {} {message}", obj.kind(), rule.index));
    }
}
