//! RBAC rules (`KSO-R`): what Roles and ClusterRoles grant, whom bindings grant it to, and
//! service-account token mounting.
//!
//! Permission rules follow Kubernetes' own matching: a rule grants verb V on resource R of API
//! group G when its `verbs` hold V or `*`, its `resources` hold R, `*`, or `*/sub` for a
//! subresource R, and its `apiGroups` hold G or `*`. To keep one over-broad rule from
//! producing a finding per dangerous permission, rules about a specific permission fire only
//! when the verb or the resource is named explicitly; `verbs: ["*"]` together with
//! `resources: ["*"]` is left to the wildcard rules (`KSO-R001`, `KSO-R002`).

use kubesecops_k8s::{Node, Object};

use crate::rule::{Check, RuleDef};
use crate::Emitter;

pub mod anonymous_binding;
pub mod authenticated_binding;
pub mod broad_delete;
pub mod cluster_admin_binding;
pub mod default_service_account_binding;
pub mod escalate_bind;
pub mod exec_attach;
pub mod impersonate;
pub mod node_proxy;
pub mod privilege_path;
pub mod secrets_read;
pub mod service_account_automount;
pub mod wildcard_api_groups;
pub mod wildcard_resources;
pub mod wildcard_verbs;
pub mod workload_create;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &wildcard_verbs::META, check: Check::Object(wildcard_verbs::check) },
    RuleDef { meta: &wildcard_resources::META, check: Check::Object(wildcard_resources::check) },
    RuleDef { meta: &wildcard_api_groups::META, check: Check::Object(wildcard_api_groups::check) },
    RuleDef { meta: &secrets_read::META, check: Check::Object(secrets_read::check) },
    RuleDef { meta: &escalate_bind::META, check: Check::Object(escalate_bind::check) },
    RuleDef { meta: &impersonate::META, check: Check::Object(impersonate::check) },
    RuleDef { meta: &exec_attach::META, check: Check::Object(exec_attach::check) },
    RuleDef { meta: &node_proxy::META, check: Check::Object(node_proxy::check) },
    RuleDef { meta: &workload_create::META, check: Check::Object(workload_create::check) },
    RuleDef { meta: &broad_delete::META, check: Check::Object(broad_delete::check) },
    RuleDef { meta: &cluster_admin_binding::META, check: Check::Object(cluster_admin_binding::check) },
    RuleDef { meta: &anonymous_binding::META, check: Check::Object(anonymous_binding::check) },
    RuleDef { meta: &authenticated_binding::META, check: Check::Object(authenticated_binding::check) },
    RuleDef {
        meta: &default_service_account_binding::META,
        check: Check::Object(default_service_account_binding::check),
    },
    RuleDef {
        meta: &service_account_automount::META,
        check: Check::Object(service_account_automount::check),
    },
    RuleDef { meta: &privilege_path::META, check: Check::Index(privilege_path::check) },
];

/// The RBAC API group.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One entry of a Role's or ClusterRole's `rules`.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRule<'a> {
    /// Position in `rules`.
    pub index: usize,
    /// The rule node.
    pub node: &'a Node,
}

/// A list item that grants what was asked, and whether it did so through `*`.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The item (`"get"`, `"*"`, `"pods/exec"`, ...).
    pub node: &'a Node,
    /// Its text.
    pub text: &'a str,
    /// True when the item is the bare wildcard `*`.
    pub wildcard: bool,
}

impl<'a> PolicyRule<'a> {
    /// The string items of `field`.
    pub fn items(&self, field: &str) -> impl Iterator<Item = (&'a Node, &'a str)> + 'a {
        self.node
            .get(field)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| Some((n, n.as_str()?)))
    }

    /// Whether the rule is limited to named objects (`resourceNames`).
    pub fn has_resource_names(&self) -> bool {
        self.node.get("resourceNames").is_some_and(|n| !n.items().is_empty())
    }

    /// `rules[i].<field>`, for fingerprints.
    pub fn key(&self, field: &str) -> String {
        format!("rules[{}].{field}", self.index)
    }

    fn grant(&self, field: &str, matches: impl Fn(&str) -> bool) -> Option<Grant<'a>> {
        let mut items = self.items(field);
        // An explicit item is the better place to point at than a wildcard next to it.
        let found: Vec<_> = items.by_ref().filter(|(_, text)| matches(text)).collect();
        let pick = found.iter().find(|(_, t)| *t != "*").or_else(|| found.first())?;
        Some(Grant { node: pick.0, text: pick.1, wildcard: pick.1 == "*" })
    }

    /// The item of `verbs` granting one of `verbs`.
    pub fn verb(&self, verbs: &[&str]) -> Option<Grant<'a>> {
        self.grant("verbs", |v| v == "*" || verbs.contains(&v))
    }

    /// The item of `apiGroups` granting `group`.
    pub fn group(&self, group: &str) -> Option<Grant<'a>> {
        self.grant("apiGroups", |g| g == "*" || g == group)
    }

    /// The item of `resources` granting one of `resources` (each `resource` or
    /// `resource/subresource`).
    pub fn resource(&self, resources: &[&str]) -> Option<Grant<'a>> {
        self.grant("resources", |r| {
            r == "*"
                || resources.iter().any(|want| {
                    r == *want
                        || want.split_once('/').is_some_and(|(_, sub)| r.strip_prefix("*/") == Some(sub))
                })
        })
    }

    /// The verb and resource items through which this rule grants one of `verbs` on one of
    /// `targets` (`(api group, resource)` pairs), unless both are bare wildcards.
    pub fn explicit_grant(&self, verbs: &[&str], targets: &[(&str, &str)]) -> Option<(Grant<'a>, Grant<'a>)> {
        let verb = self.verb(verbs)?;
        targets.iter().find_map(|(group, resource)| {
            self.group(group)?;
            let resource = self.resource(&[resource])?;
            (!(verb.wildcard && resource.wildcard)).then_some((verb, resource))
        })
    }
}

/// Whether the object is a Role or ClusterRole.
pub fn is_role(obj: &Object) -> bool {
    obj.group() == RBAC_GROUP && matches!(obj.kind(), "Role" | "ClusterRole")
}

/// The rules of a Role or ClusterRole (none for other objects).
pub fn policy_rules(obj: &Object) -> Vec<PolicyRule<'_>> {
    if !is_role(obj) {
        return Vec::new();
    }
    obj.root
        .get("rules")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, node)| PolicyRule { index, node })
        .collect()
}

/// Reports, for each rule of a role, the first explicit grant of `verbs` on `targets`, at the
/// explicit item (the resource when named, else the verb). `describe` builds the message
/// from the granting verb and resource texts.
pub fn report_grants(
    obj: &Object,
    out: &mut Emitter<'_>,
    verbs: &[&str],
    targets: &[(&str, &str)],
    skip_named: bool,
    describe: impl Fn(&str, &str) -> String,
) {
    for rule in policy_rules(obj) {
        if skip_named && rule.has_resource_names() {
            continue;
        }
        let Some((verb, resource)) = rule.explicit_grant(verbs, targets) else { continue };
        let (node, field) =
            if resource.wildcard { (verb.node, "verbs") } else { (resource.node, "resources") };
        out.emit(
            node.pos,
            &rule.key(field),
            format!("{} rule {} {}", obj.kind(), rule.index, describe(verb.text, resource.text)),
        );
    }
}

/// A subject of a RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `kind`: `User`, `Group` or `ServiceAccount`.
    pub kind: &'a str,
    /// `name`.
    pub name: &'a str,
    /// The `name` node (where findings point).
    pub name_node: &'a Node,
    /// `namespace` (service accounts).
    pub namespace: Option<&'a str>,
}

/// A RoleBinding or ClusterRoleBinding, reduced to its role reference and subjects.
#[derive(Debug, Clone)]
pub struct Binding<'a> {
    /// `roleRef.kind`.
    pub role_kind: &'a str,
    /// `roleRef.name`.
    pub role_name: &'a str,
    /// The `roleRef.name` node.
    pub role_node: Option<&'a Node>,
    /// `subjects`.
    pub subjects: Vec<Subject<'a>>,
}

/// The binding, when the object is a RoleBinding or ClusterRoleBinding.
pub fn binding(obj: &Object) -> Option<Binding<'_>> {
    if obj.group() != RBAC_GROUP || !matches!(obj.kind(), "RoleBinding" | "ClusterRoleBinding") {
        return None;
    }
    let role_ref = obj.root.get("roleRef");
    let field = |key: &str| role_ref.and_then(|r| r.get(key)).and_then(Node::as_str).unwrap_or("");
    let subjects = obj
        .root
        .get("subjects")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let name_node = s.get("name")?;
            Some(Subject {
                kind: s.get("kind").and_then(Node::as_str).unwrap_or(""),
                name: name_node.as_str()?,
                name_node,
                namespace: s.get("namespace").and_then(Node::as_str),
            })
        })
        .collect();
    Some(Binding {
        role_kind: field("kind"),
        role_name: field("name"),
        role_node: role_ref.and_then(|r| r.get("name")),
        subjects,
    })
}

/// The verbs that change state, for rules about write access.
pub const WRITE_VERBS: &[&str] =
    &["create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_k8s::parse_documents;

    use super::*;

    fn role(text: &str) -> Object {
        let root = parse_documents(text).remove(0).unwrap().root.unwrap();
        Object::from_root(Arc::from("t.yaml"), root).unwrap()
    }

    #[test]
    fn matching_follows_rbac() {
        let obj = role(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrules:\n\
             - {apiGroups: [''], resources: ['*/exec', secrets], verbs: [get, '*']}\n\
             - {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n\
             - {resources: [secrets], verbs: [get]}\n",
        );
        let rules = policy_rules(&obj);
        assert_eq!(rules.len(), 3);
        let (verb, resource) = rules[0].explicit_grant(&["create"], &[("", "pods/exec")]).unwrap();
        assert!(verb.wildcard);
        assert_eq!(resource.text, "*/exec");
        assert_eq!(rules[0].verb(&["get"]).unwrap().text, "get");
        assert!(rules[0].explicit_grant(&["get"], &[("apps", "secrets")]).is_none());
        // Full wildcards are left to the wildcard rules.
        assert!(rules[1].explicit_grant(&["get"], &[("", "secrets")]).is_none());
        // No apiGroups matches no group.
        assert!(rules[2].explicit_grant(&["get"], &[("", "secrets")]).is_none());
    }
}
