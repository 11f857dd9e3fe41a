//! Least privilege from audit logs: the Roles, ClusterRoles and bindings that allow exactly
//! the kinds of request a user made (the idea of audit2rbac; our own implementation).
//!
//! Requests are grouped by namespace (a Role and RoleBinding per namespace) and cluster scope
//! (a ClusterRole and ClusterRoleBinding for cluster-scoped resources, requests across all
//! namespaces and non-resource URLs). Any of `get`, `list` and `watch` grants all three, as
//! read access is usually wanted whole; other verbs are kept as made. Rules with the same
//! API group and verbs are merged. Denied requests count: they are what the user needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Verbs per (API group, resource, non-resource URL), for one scope.
type VerbsByTarget = BTreeMap<(String, String, String), BTreeSet<String>>;

use serde_json::Value;

use crate::subject::Subject;
use crate::RbacError;

/// One request of the audit log, reduced to what authorization looks at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Access {
    namespace: String,
    group: String,
    resource: String,
    non_resource_url: String,
    verb: String,
}

/// A rule of a suggested role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct SuggestedRule {
    /// `apiGroups` (one group).
    #[serde(rename = "apiGroups", skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// `resources`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// `nonResourceURLs`.
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
    /// `verbs`, sorted.
    pub verbs: Vec<String>,
}

/// A suggested role (namespace empty for a ClusterRole) and the binding of it to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Namespace of the Role; empty for the ClusterRole.
    pub namespace: String,
    /// Name of the role and binding.
    pub name: String,
    /// Rules.
    pub rules: Vec<SuggestedRule>,
    /// The subject bound.
    pub subject: Subject,
}

/// What reading an audit log gave.
#[derive(Debug, Clone, Default)]
pub struct Suggested {
    /// One per namespace and one for cluster scope, namespaces first (sorted).
    pub roles: Vec<Suggestion>,
    /// Requests of the user that were read.
    pub requests: usize,
    /// Lines that were not audit events (1-based line numbers with the reason).
    pub skipped: Vec<(usize, String)>,
}

const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

/// Reads an audit log (JSON lines, or one JSON `EventList`) and suggests roles for the
/// requests of `user` (a user name, or a service account as `system:serviceaccount:NS:NAME`).
/// Impersonated requests count for the impersonated user.
pub fn suggest(log: &str, user: &str) -> Result<Suggested, RbacError> {
    let mut events: Vec<(usize, Value)> = Vec::new();
    let mut skipped = Vec::new();
    // One JSON document (an EventList or a single Event), else JSON lines.
    match serde_json::from_str::<Value>(log) {
        Ok(value) => match value.get("items").and_then(Value::as_array) {
            Some(items) => events.extend(items.iter().cloned().map(|v| (1, v))),
            None => events.push((1, value)),
        },
        Err(_) => {
            for (i, line) in log.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => events.push((i + 1, v)),
                    Err(e) => skipped.push((i + 1, format!("not JSON: {e}"))),
                }
            }
        }
    }
    let mut seen_ids = BTreeSet::new();
    let mut accesses = BTreeSet::new();
    let mut requests = 0;
    for (line, event) in events {
        if event.get("kind").and_then(Value::as_str) != Some("Event") {
            skipped.push((line, "not an audit Event".to_string()));
            continue;
        }
        let who = event.get("impersonatedUser").filter(|u| !u.is_null()).or_else(|| event.get("user"));
        if who.and_then(|u| u.get("username")).and_then(Value::as_str) != Some(user) {
            continue;
        }
        // Each request is logged once per stage; count it once.
        if let Some(id) = event.get("auditID").and_then(Value::as_str) {
            if !seen_ids.insert(id.to_string()) {
                continue;
            }
        }
        let Some(verb) = event.get("verb").and_then(Value::as_str) else {
            skipped.push((line, "event without a verb".to_string()));
            continue;
        };
        requests += 1;
        let text = |v: Option<&Value>, key: &str| {
            v.and_then(|o| o.get(key)).and_then(Value::as_str).unwrap_or("").to_string()
        };
        match event.get("objectRef").filter(|o| !o.is_null()) {
            Some(obj) => {
                let resource = text(Some(obj), "resource");
                let sub = text(Some(obj), "subresource");
                accesses.insert(Access {
                    namespace: text(Some(obj), "namespace"),
                    group: text(Some(obj), "apiGroup"),
                    resource: if sub.is_empty() { resource } else { format!("{resource}/{sub}") },
                    non_resource_url: String::new(),
                    verb: verb.to_string(),
                });
            }
            None => {
                let uri = text(Some(&event), "requestURI");
                let path = uri.split('?').next().unwrap_or("").to_string();
                accesses.insert(Access {
                    namespace: String::new(),
                    group: String::new(),
                    resource: String::new(),
                    non_resource_url: path,
                    verb: verb.to_string(),
                });
            }
        }
    }
    let subject = Subject::parse(user).unwrap_or_else(|_| Subject::user(user));
    let mut by_scope: BTreeMap<String, VerbsByTarget> = BTreeMap::new();
    for a in accesses {
        let verbs = by_scope
            .entry(a.namespace.clone())
            .or_default()
            .entry((a.group.clone(), a.resource.clone(), a.non_resource_url.clone()))
            .or_default();
        if READ_VERBS.contains(&a.verb.as_str()) && a.non_resource_url.is_empty() {
            verbs.extend(READ_VERBS.iter().map(|v| v.to_string()));
        } else {
            verbs.insert(a.verb);
        }
    }
    let safe_name = user.replace(':', "-");
    let mut roles = Vec::new();
    // Namespaces sort before cluster scope (the empty namespace) in the output.
    let mut scopes: Vec<_> = by_scope.into_iter().collect();
    scopes.sort_by_key(|(ns, _)| (ns.is_empty(), ns.clone()));
    for (namespace, targets) in scopes {
        // Merge resources with the same group and verbs into one rule.
        let mut merged: BTreeMap<(bool, String, Vec<String>), BTreeSet<String>> = BTreeMap::new();
        for ((group, resource, url), verbs) in targets {
            let verbs: Vec<String> = verbs.into_iter().collect();
            if url.is_empty() {
                merged.entry((false, group, verbs)).or_default().insert(resource);
            } else {
                merged.entry((true, String::new(), verbs)).or_default().insert(url);
            }
        }
        let rules = merged
            .into_iter()
            .map(|((non_resource, group, verbs), items)| {
                let items: Vec<String> = items.into_iter().collect();
                if non_resource {
                    SuggestedRule {
                        api_groups: Vec::new(),
                        resources: Vec::new(),
                        non_resource_urls: items,
                        verbs,
                    }
                } else {
                    SuggestedRule {
                        api_groups: vec![group],
                        resources: items,
                        non_resource_urls: Vec::new(),
                        verbs,
                    }
                }
            })
            .collect();
        roles.push(Suggestion {
            namespace,
            name: format!("kubesecops:{safe_name}"),
            rules,
            subject: subject.clone(),
        });
    }
    Ok(Suggested { roles, requests, skipped })
}

fn yaml_list(out: &mut String, indent: &str, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}{key}:");
    for item in items {
        let _ = writeln!(out, "{indent}- {}", serde_json::to_string(item).unwrap_or_default());
    }
}

/// The suggestion as YAML manifests (Role/ClusterRole and binding per scope), ready for
/// `kubectl apply`.
pub fn to_yaml(suggested: &Suggested) -> String {
    let mut out = String::new();
    for (i, role) in suggested.roles.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let cluster = role.namespace.is_empty();
        let (role_kind, binding_kind) =
            if cluster { ("ClusterRole", "ClusterRoleBinding") } else { ("Role", "RoleBinding") };
        let name = serde_json::to_string(&role.name).unwrap_or_default();
        let ns_line = if cluster { String::new() } else { format!("  namespace: {}\n", role.namespace) };
        let _ = write!(out, "apiVersion: rbac.authorization.k8s.io/v1\nkind: {role_kind}\nmetadata:\n  name: {name}\n{ns_line}rules:\n");
        for rule in &role.rules {
            let mut block = String::new();
            if !rule.api_groups.is_empty() {
                yaml_list(&mut block, "  ", "apiGroups", &rule.api_groups);
            }
            yaml_list(&mut block, "  ", "resources", &rule.resources);
            yaml_list(&mut block, "  ", "nonResourceURLs", &rule.non_resource_urls);
            yaml_list(&mut block, "  ", "verbs", &rule.verbs);
            out.push_str(&block.replacen("  ", "- ", 1));
        }
        let subject = &role.subject;
        let subject_lines = match subject.kind {
            crate::SubjectKind::ServiceAccount => format!(
                "- kind: ServiceAccount\n  name: {}\n  namespace: {}\n",
                subject.name, subject.namespace
            ),
            kind => format!(
                "- apiGroup: rbac.authorization.k8s.io\n  kind: {}\n  name: {}\n",
                kind.as_str(),
                serde_json::to_string(&subject.name).unwrap_or_default()
            ),
        };
        let _ = write!(
            out,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {binding_kind}\nmetadata:\n  name: {name}\n{ns_line}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {name}\nsubjects:\n{subject_lines}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","stage":"ResponseComplete","verb":"list","user":{"username":"admin","groups":["system:masters"]},"impersonatedUser":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"ns1","apiVersion":"v1"},"responseStatus":{"code":403}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","stage":"RequestReceived","verb":"list","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"ns1","apiVersion":"v1"}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"2","stage":"ResponseComplete","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"deployments","subresource":"scale","namespace":"ns1","apiGroup":"apps","apiVersion":"apps/v1"}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"3","stage":"ResponseComplete","verb":"get","user":{"username":"alice"},"requestURI":"/healthz?verbose"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"4","stage":"ResponseComplete","verb":"get","user":{"username":"bob"},"objectRef":{"resource":"secrets","namespace":"ns2"}}
not json
"#;

    #[test]
    fn requests_become_rules_per_scope() {
        let s = suggest(LOG, "alice").unwrap();
        assert_eq!(s.requests, 3, "one request per audit id, bob's left out");
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.roles.len(), 2);
        let ns1 = &s.roles[0];
        assert_eq!(ns1.namespace, "ns1");
        assert_eq!(ns1.rules.len(), 2);
        assert_eq!(ns1.rules[0].api_groups, [""]);
        assert_eq!(ns1.rules[0].resources, ["pods"]);
        assert_eq!(ns1.rules[0].verbs, ["get", "list", "watch"]);
        assert_eq!(ns1.rules[1].resources, ["deployments/scale"]);
        assert_eq!(ns1.rules[1].verbs, ["create"]);
        let cluster = &s.roles[1];
        assert!(cluster.namespace.is_empty());
        assert_eq!(cluster.rules[0].non_resource_urls, ["/healthz"]);
        assert_eq!(cluster.rules[0].verbs, ["get"]);
        let yaml = to_yaml(&s);
        assert!(yaml.contains("kind: Role\n") && yaml.contains("kind: ClusterRoleBinding\n"), "{yaml}");
        let docs = kubesecops_k8s::parse_documents(&yaml);
        assert_eq!(docs.len(), 4);
        assert!(docs.iter().all(|d| d.is_ok()), "{yaml}");
    }
}
