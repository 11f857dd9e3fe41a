//! The RBAC authorizer's decision, rule for rule as the API server makes it, and `who-can`.

use std::collections::BTreeSet;

use crate::model::{Binding, PolicyRule, Resolved};
use crate::subject::{Subject, UserInfo, MASTERS_GROUP};

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A request on an API resource.
    Resource {
        /// Verb (`get`, `list`, `create`, `impersonate`, ...).
        verb: String,
        /// API group (empty for the core group).
        group: String,
        /// Resource (plural, lower case).
        resource: String,
        /// Subresource (`exec`, `token`, `proxy`, ...), empty for none.
        subresource: String,
        /// Object name, empty when the request names none (list, create without a name).
        name: String,
        /// Namespace, empty for cluster-scoped requests and requests across all namespaces.
        namespace: String,
    },
    /// A request on a non-resource URL such as `/healthz`.
    NonResource {
        /// Verb (`get`, `post`, ...).
        verb: String,
        /// URL path.
        path: String,
    },
}

impl Request {
    /// A resource request.
    pub fn resource(verb: &str, group: &str, resource: &str, subresource: &str, namespace: &str) -> Request {
        Request::Resource {
            verb: verb.to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            name: String::new(),
            namespace: namespace.to_string(),
        }
    }

    /// The same request on the object `name`.
    pub fn named(mut self, object_name: &str) -> Request {
        if let Request::Resource { name, .. } = &mut self {
            *name = object_name.to_string();
        }
        self
    }

    fn namespace(&self) -> &str {
        match self {
            Request::Resource { namespace, .. } => namespace,
            Request::NonResource { .. } => "",
        }
    }
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|item| item == "*" || item == want)
}

/// Whether one policy rule allows a request (Kubernetes' `RuleAllows`).
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    match request {
        Request::Resource { verb, group, resource, subresource, name, .. } => {
            has(&rule.verbs, verb)
                && has(&rule.api_groups, group)
                && resource_matches(rule, resource, subresource)
                && (rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name))
        }
        Request::NonResource { verb, path } => {
            has(&rule.verbs, verb)
                && rule.non_resource_urls.iter().any(|url| {
                    url == "*"
                        || url == path
                        || url.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix))
                })
        }
    }
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        if r == "*" {
            return true;
        }
        if subresource.is_empty() {
            return r == resource;
        }
        r.split_once('/').is_some_and(|(res, sub)| sub == subresource && (res == resource || res == "*"))
    })
}

/// Whether a binding applies to a request's namespace: ClusterRoleBindings everywhere,
/// RoleBindings only to requests inside their namespace.
pub fn binding_applies(binding: &Binding, namespace: &str) -> bool {
    binding.is_cluster() || binding.namespace == namespace
}

impl Resolved<'_> {
    /// The bindings that grant `request` to `user`, in input order. Members of
    /// `system:masters` are allowed everything by the API server before RBAC is asked; that
    /// is not a binding, so use [`Resolved::allows`] for the decision.
    pub fn granting_bindings<'b>(
        &'b self,
        user: &'b UserInfo,
        request: &'b Request,
    ) -> impl Iterator<Item = &'b Binding> + 'b {
        self.model.bindings.iter().filter(move |b| {
            binding_applies(b, request.namespace())
                && b.subjects.iter().any(|s| user.matches(s, &b.namespace))
                && self.binding_rules(b).iter().any(|r| rule_allows(r, request))
        })
    }

    /// The API server's decision for `user` (RBAC plus the `system:masters` bypass).
    pub fn allows(&self, user: &UserInfo, request: &Request) -> bool {
        user.groups.iter().any(|g| g == MASTERS_GROUP)
            || self.granting_bindings(user, request).next().is_some()
    }

    /// Every subject named in a binding that grants `request` (`who-can`). A subject that
    /// holds it only through a group is not listed; the group is. `system:masters` is listed
    /// always, since the API server allows it everything.
    pub fn who_can(&self, request: &Request) -> BTreeSet<Subject> {
        let mut out = BTreeSet::new();
        out.insert(Subject::group(MASTERS_GROUP));
        for binding in &self.model.bindings {
            if binding_applies(binding, request.namespace())
                && self.binding_rules(binding).iter().any(|r| rule_allows(r, request))
            {
                out.extend(
                    binding
                        .resolved_subjects()
                        .filter(|s| !s.namespace.is_empty() || s.kind != crate::SubjectKind::ServiceAccount),
                );
            }
        }
        out
    }
}

/// The API group of a resource written without one: the group that serves it in Kubernetes,
/// or the core group for resources this table does not know.
pub fn default_group(resource: &str) -> &'static str {
    match resource {
        "deployments" | "replicasets" | "statefulsets" | "daemonsets" | "controllerrevisions" => "apps",
        "jobs" | "cronjobs" => "batch",
        "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings" => "rbac.authorization.k8s.io",
        "networkpolicies" | "ingresses" | "ingressclasses" => "networking.k8s.io",
        "certificatesigningrequests" => "certificates.k8s.io",
        "validatingwebhookconfigurations" | "mutatingwebhookconfigurations" => "admissionregistration.k8s.io",
        "customresourcedefinitions" => "apiextensions.k8s.io",
        "poddisruptionbudgets" | "podsecuritypolicies" => "policy",
        "storageclasses" | "volumeattachments" | "csidrivers" | "csinodes" => "storage.k8s.io",
        "horizontalpodautoscalers" => "autoscaling",
        "leases" => "coordination.k8s.io",
        "priorityclasses" => "scheduling.k8s.io",
        "tokenreviews" => "authentication.k8s.io",
        "subjectaccessreviews"
        | "selfsubjectaccessreviews"
        | "localsubjectaccessreviews"
        | "selfsubjectrulesreviews" => "authorization.k8s.io",
        "endpointslices" => "discovery.k8s.io",
        "runtimeclasses" => "node.k8s.io",
        "apiservices" => "apiregistration.k8s.io",
        _ => "",
    }
}

/// Splits `RESOURCE[.GROUP][/SUBRESOURCE]` as kubectl writes it (`deployments.apps`,
/// `pods/exec`) into (group, resource, subresource). Without a group, [`default_group`].
pub fn parse_resource(text: &str) -> (String, String, String) {
    let (main, sub) = text.split_once('/').unwrap_or((text, ""));
    let (resource, group) = match main.split_once('.') {
        Some((r, g)) => (r.to_string(), g.to_string()),
        None => (main.to_string(), default_group(main).to_string()),
    };
    (group, resource, sub.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            verbs: v(verbs),
            api_groups: v(groups),
            resources: v(resources),
            resource_names: v(names),
            non_resource_urls: Vec::new(),
        }
    }

    #[test]
    fn resources_and_subresources_match_like_the_api_server() {
        let pods = rule(&["get"], &[""], &["pods"], &[]);
        assert!(rule_allows(&pods, &Request::resource("get", "", "pods", "", "a")));
        assert!(
            !rule_allows(&pods, &Request::resource("get", "", "pods", "log", "a")),
            "pods does not cover pods/log"
        );
        assert!(!rule_allows(&pods, &Request::resource("get", "apps", "pods", "", "a")));
        let any_scale = rule(&["update"], &["*"], &["*/scale"], &[]);
        assert!(rule_allows(&any_scale, &Request::resource("update", "apps", "deployments", "scale", "")));
        assert!(!rule_allows(&any_scale, &Request::resource("update", "apps", "deployments", "", "")));
        let named = rule(&["*"], &[""], &["secrets"], &["a"]);
        assert!(rule_allows(&named, &Request::resource("get", "", "secrets", "", "x").named("a")));
        assert!(
            !rule_allows(&named, &Request::resource("list", "", "secrets", "", "x")),
            "list names no object"
        );
        let everything = rule(&["*"], &["*"], &["*"], &[]);
        assert!(rule_allows(&everything, &Request::resource("create", "x.io", "widgets", "status", "")));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_prefix() {
        let mut r = rule(&["get"], &[], &[], &[]);
        r.non_resource_urls = vec!["/healthz".into(), "/api/*".into()];
        let get = |path: &str| Request::NonResource { verb: "get".into(), path: path.into() };
        assert!(rule_allows(&r, &get("/healthz")));
        assert!(!rule_allows(&r, &get("/healthz/etcd")));
        assert!(rule_allows(&r, &get("/api/v1")));
        assert!(!rule_allows(&r, &Request::NonResource { verb: "post".into(), path: "/healthz".into() }));
    }

    #[test]
    fn resource_names_parse_with_groups() {
        assert_eq!(parse_resource("deployments"), ("apps".into(), "deployments".into(), String::new()));
        assert_eq!(parse_resource("pods/exec"), (String::new(), "pods".into(), "exec".into()));
        assert_eq!(
            parse_resource("widgets.example.com"),
            ("example.com".into(), "widgets".into(), String::new())
        );
    }
}
