//! The RBAC objects of an input, reduced to what authorization and privilege paths need.
//!
//! Objects are added one at a time (files, snapshots or a live listing) and dropped by the
//! caller; the model keeps only rules, bindings and the names of service accounts, token
//! Secrets and the identities pods run as.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use kubesecops_core::{Location, ObjectRef};
use kubesecops_k8s::selector::LabelSelector;
use kubesecops_k8s::{Node, Object};

use crate::subject::{Subject, SubjectKind};

/// The RBAC API group.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One entry of a role's `rules`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    /// `verbs`.
    pub verbs: Vec<String>,
    /// `apiGroups`.
    pub api_groups: Vec<String>,
    /// `resources` (`pods`, `pods/exec`, `*/scale`, `*`).
    pub resources: Vec<String>,
    /// `resourceNames` (empty: every name).
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    pub non_resource_urls: Vec<String>,
}

fn strings(node: Option<&Node>) -> Vec<String> {
    node.map(Node::items).unwrap_or_default().iter().filter_map(|n| n.as_str().map(str::to_string)).collect()
}

impl PolicyRule {
    fn from_node(node: &Node) -> PolicyRule {
        PolicyRule {
            verbs: strings(node.get("verbs")),
            api_groups: strings(node.get("apiGroups")),
            resources: strings(node.get("resources")),
            resource_names: strings(node.get("resourceNames")),
            non_resource_urls: strings(node.get("nonResourceURLs")),
        }
    }
}

/// Role or ClusterRole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleKind {
    /// A namespaced Role.
    Role,
    /// A ClusterRole.
    ClusterRole,
}

/// A Role or ClusterRole.
#[derive(Debug, Clone)]
pub struct Role {
    /// Role or ClusterRole.
    pub kind: RoleKind,
    /// Namespace of a Role (empty for ClusterRoles).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its own `rules`.
    pub rules: Vec<PolicyRule>,
    /// `metadata.labels`, for aggregation.
    pub labels: Vec<(String, String)>,
    /// `aggregationRule.clusterRoleSelectors` (ClusterRoles only).
    pub aggregation: Vec<LabelSelector>,
    /// The object, for reports.
    pub object: Arc<ObjectRef>,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Namespace of a RoleBinding (empty for ClusterRoleBindings).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `roleRef.kind`.
    pub role_kind: RoleKind,
    /// `roleRef.name`.
    pub role_name: String,
    /// `subjects` (service accounts without a namespace keep it empty; see
    /// [`crate::UserInfo::matches`]).
    pub subjects: Vec<Subject>,
    /// The object, for reports.
    pub object: Arc<ObjectRef>,
    /// Where it is.
    pub location: Location,
}

impl Binding {
    /// True for a ClusterRoleBinding.
    pub fn is_cluster(&self) -> bool {
        self.namespace.is_empty()
    }

    /// The subjects with service-account namespaces filled in from the binding.
    pub fn resolved_subjects(&self) -> impl Iterator<Item = Subject> + '_ {
        self.subjects.iter().map(|s| {
            let mut s = s.clone();
            if s.kind == SubjectKind::ServiceAccount && s.namespace.is_empty() {
                s.namespace = self.namespace.clone();
            }
            s
        })
    }
}

/// A Secret of type `kubernetes.io/service-account-token`.
#[derive(Debug, Clone)]
pub struct TokenSecret {
    /// Namespace.
    pub namespace: String,
    /// Secret name.
    pub name: String,
    /// The service account it holds a token of (`kubernetes.io/service-account.name`).
    pub service_account: String,
    /// The object, for reports.
    pub object: Arc<ObjectRef>,
    /// Where it is.
    pub location: Location,
}

/// Everything RBAC analysis reads, gathered object by object.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Roles and ClusterRoles.
    pub roles: Vec<Role>,
    /// RoleBindings and ClusterRoleBindings.
    pub bindings: Vec<Binding>,
    /// Service accounts seen as objects: (namespace, name).
    pub service_accounts: BTreeSet<(String, String)>,
    /// Namespaces seen as objects or as the namespace of some object.
    pub namespaces: BTreeSet<String>,
    /// Legacy service-account token Secrets.
    pub token_secrets: Vec<TokenSecret>,
    /// Identities pods run as: (namespace, service account), from pods and pod templates.
    pub pod_identities: BTreeSet<(String, String)>,
}

fn role_kind(text: &str) -> Option<RoleKind> {
    match text {
        "Role" => Some(RoleKind::Role),
        "ClusterRole" => Some(RoleKind::ClusterRole),
        _ => None,
    }
}

fn labels(obj: &Object) -> Vec<(String, String)> {
    obj.metadata()
        .and_then(|m| m.get("labels"))
        .map(|l| {
            l.entries().iter().filter_map(|e| Some((e.key.clone(), e.value.as_str()?.to_string()))).collect()
        })
        .unwrap_or_default()
}

impl Model {
    /// Records what RBAC analysis needs from `obj` (other objects only add their namespace).
    pub fn add(&mut self, obj: &Object) {
        let namespace = obj.namespace();
        if !namespace.is_empty() {
            self.namespaces.insert(namespace.to_string());
        }
        let core = obj.group().is_empty();
        match obj.kind() {
            "Namespace" if core => {
                self.namespaces.insert(obj.meta.name.clone());
            }
            "ServiceAccount" if core => {
                self.service_accounts.insert((effective(namespace), obj.meta.name.clone()));
            }
            "Secret" if core => self.add_secret(obj),
            "Role" | "ClusterRole" if obj.group() == RBAC_GROUP => self.add_role(obj),
            "RoleBinding" | "ClusterRoleBinding" if obj.group() == RBAC_GROUP => self.add_binding(obj),
            _ => {}
        }
        if let Some(template) = obj.pod_template() {
            let named = ["serviceAccountName", "serviceAccount"]
                .into_iter()
                .find_map(|f| template.get(f).and_then(Node::as_str).filter(|s| !s.is_empty()));
            self.pod_identities.insert((effective(namespace), named.unwrap_or("default").to_string()));
        }
    }

    fn add_secret(&mut self, obj: &Object) {
        let kind = obj.root.get("type").and_then(Node::as_str);
        if kind != Some("kubernetes.io/service-account-token") {
            return;
        }
        let Some(account) = obj.annotation("kubernetes.io/service-account.name") else { return };
        self.token_secrets.push(TokenSecret {
            namespace: effective(obj.namespace()),
            name: obj.meta.name.clone(),
            service_account: account.to_string(),
            object: Arc::clone(&obj.meta),
            location: obj.location(obj.root.pos),
        });
    }

    fn add_role(&mut self, obj: &Object) {
        let Some(kind) = role_kind(obj.kind()) else { return };
        let rules =
            obj.root.get("rules").map(Node::items).unwrap_or_default().iter().map(PolicyRule::from_node);
        let aggregation = obj
            .root
            .path(&["aggregationRule", "clusterRoleSelectors"])
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| LabelSelector::from_node(s).ok())
            .collect();
        self.roles.push(Role {
            kind,
            namespace: if kind == RoleKind::Role { effective(obj.namespace()) } else { String::new() },
            name: obj.meta.name.clone(),
            rules: rules.collect(),
            labels: labels(obj),
            aggregation,
            object: Arc::clone(&obj.meta),
        });
    }

    fn add_binding(&mut self, obj: &Object) {
        let role_ref = obj.root.get("roleRef");
        let field = |key: &str| role_ref.and_then(|r| r.get(key)).and_then(Node::as_str).unwrap_or("");
        let Some(role_kind) = role_kind(field("kind")) else { return };
        let cluster = obj.kind() == "ClusterRoleBinding";
        // A ClusterRoleBinding can only reference a ClusterRole; the API server rejects others.
        if cluster && role_kind == RoleKind::Role {
            return;
        }
        let subjects = obj
            .root
            .get("subjects")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| {
                let kind = match s.get("kind").and_then(Node::as_str)? {
                    "User" => SubjectKind::User,
                    "Group" => SubjectKind::Group,
                    "ServiceAccount" => SubjectKind::ServiceAccount,
                    _ => return None,
                };
                let name = s.get("name").and_then(Node::as_str)?.to_string();
                let namespace = match kind {
                    SubjectKind::ServiceAccount => {
                        s.get("namespace").and_then(Node::as_str).unwrap_or("").to_string()
                    }
                    _ => String::new(),
                };
                Some(Subject { kind, name, namespace })
            })
            .collect();
        self.bindings.push(Binding {
            namespace: if cluster { String::new() } else { effective(obj.namespace()) },
            name: obj.meta.name.clone(),
            role_kind,
            role_name: field("name").to_string(),
            subjects,
            object: Arc::clone(&obj.meta),
            location: obj.location(obj.root.pos),
        });
    }

    /// Adds another model's records (for parallel loading).
    pub fn merge(&mut self, other: Model) {
        self.roles.extend(other.roles);
        self.bindings.extend(other.bindings);
        self.service_accounts.extend(other.service_accounts);
        self.namespaces.extend(other.namespaces);
        self.token_secrets.extend(other.token_secrets);
        self.pod_identities.extend(other.pod_identities);
    }

    /// True when no role or binding was seen.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.bindings.is_empty()
    }

    /// Resolves role references and ClusterRole aggregation into a [`Resolved`] model.
    pub fn resolve(&self) -> Resolved<'_> {
        Resolved::new(self)
    }
}

/// The namespace an object lives in (`default` when it does not say).
fn effective(namespace: &str) -> String {
    if namespace.is_empty() {
        "default".to_string()
    } else {
        namespace.to_string()
    }
}

/// A model whose role references are resolved: every binding's rules are at hand, with
/// aggregated ClusterRoles holding the rules of the roles they select.
#[derive(Debug)]
pub struct Resolved<'a> {
    /// The model.
    pub model: &'a Model,
    /// Rules of each role: (kind, namespace, name) → rules.
    rules: HashMap<(RoleKind, String, String), Vec<PolicyRule>>,
    /// Role objects by the same key (the first one seen when names repeat).
    role_objects: HashMap<(RoleKind, String, String), Arc<ObjectRef>>,
}

impl<'a> Resolved<'a> {
    fn new(model: &'a Model) -> Resolved<'a> {
        let mut rules: HashMap<(RoleKind, String, String), Vec<PolicyRule>> = HashMap::new();
        let mut role_objects = HashMap::new();
        for role in &model.roles {
            let key = (role.kind, role.namespace.clone(), role.name.clone());
            rules.entry(key.clone()).or_default().extend(role.rules.iter().cloned());
            role_objects.entry(key).or_insert_with(|| Arc::clone(&role.object));
        }
        // Aggregation: the controller copies the rules of every selected ClusterRole into the
        // aggregating one. A live object already carries them; a manifest usually does not.
        // Aggregated roles may select other aggregated roles, so resolve to a fixed point.
        let aggregating: Vec<&Role> = model
            .roles
            .iter()
            .filter(|r| r.kind == RoleKind::ClusterRole && !r.aggregation.is_empty())
            .collect();
        for _ in 0..=aggregating.len() {
            let mut changed = false;
            for role in &aggregating {
                let mut added = Vec::new();
                for other in
                    model.roles.iter().filter(|o| o.kind == RoleKind::ClusterRole && o.name != role.name)
                {
                    let labels: Vec<(&str, &str)> =
                        other.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    if role.aggregation.iter().any(|sel| !sel.is_empty() && sel.matches(&labels)) {
                        let key = (RoleKind::ClusterRole, String::new(), other.name.clone());
                        added.extend(rules.get(&key).cloned().unwrap_or_default());
                    }
                }
                let own = rules.entry((RoleKind::ClusterRole, String::new(), role.name.clone())).or_default();
                for rule in added {
                    if !own.contains(&rule) {
                        own.push(rule);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        Resolved { model, rules, role_objects }
    }

    /// The rules a binding grants (empty when its role is not in the input).
    pub fn binding_rules(&self, binding: &Binding) -> &[PolicyRule] {
        let namespace = match binding.role_kind {
            RoleKind::Role => binding.namespace.clone(),
            RoleKind::ClusterRole => String::new(),
        };
        self.rules.get(&(binding.role_kind, namespace, binding.role_name.clone())).map_or(&[], Vec::as_slice)
    }

    /// Whether the role a binding references is in the input.
    pub fn role_known(&self, binding: &Binding) -> bool {
        let namespace =
            if binding.role_kind == RoleKind::Role { binding.namespace.clone() } else { String::new() };
        self.role_objects.contains_key(&(binding.role_kind, namespace, binding.role_name.clone()))
    }

    /// Every namespace the input mentions.
    pub fn namespaces(&self) -> &BTreeSet<String> {
        &self.model.namespaces
    }

    /// Service accounts per namespace: those seen as objects, those pods run as, those with
    /// a token Secret, those named by bindings, and `default` of every namespace.
    pub fn service_accounts(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for ns in &self.model.namespaces {
            out.entry(ns.clone()).or_default().insert("default".to_string());
        }
        let named =
            self.model.service_accounts.iter().chain(&self.model.pod_identities).cloned().chain(
                self.model.token_secrets.iter().map(|t| (t.namespace.clone(), t.service_account.clone())),
            );
        for (ns, name) in named {
            out.entry(ns).or_default().insert(name);
        }
        for binding in &self.model.bindings {
            for s in binding.resolved_subjects() {
                if s.kind == SubjectKind::ServiceAccount && !s.namespace.is_empty() {
                    out.entry(s.namespace).or_default().insert(s.name);
                }
            }
        }
        out
    }
}
