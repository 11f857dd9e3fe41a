//! Privilege paths: which subjects can become cluster-admin (or another subject), and how.
//!
//! The graph's nodes are subjects; an edge is a way one subject can act as another (or as
//! cluster-admin) with the permissions it holds, each step naming the binding that grants it.
//! Permissions are decided by the exact authorizer ([`Resolved::granting_bindings`]), in
//! every namespace the input mentions.
//!
//! Steps modelled, per namespace N unless said otherwise:
//! - `create-pod`: create pods in N, or create/update/patch a workload (Deployment,
//!   ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController): run as any
//!   service account of N.
//! - `exec`: create `pods/exec` in N: act as the service accounts pods of N run as.
//! - `read-token-secret`: get (by name) or list Secrets of type
//!   `kubernetes.io/service-account-token` in N: that account's token.
//! - `create-token`: create `serviceaccounts/token` in N: a token for that account.
//! - `impersonate`: impersonate `users`, `groups` (cluster-wide) or `serviceaccounts` (in N).
//! - `bind` + `create-binding`: bind a role and create a binding for it: cluster-admin
//!   through a ClusterRoleBinding; in N through a RoleBinding, then every account of N.
//! - `escalate` + `update-role`: edit a role bound to oneself to grant anything (cluster-admin
//!   for a ClusterRole bound cluster-wide; every account of N for a Role in N).
//! - `nodes-proxy`: `nodes/proxy` (the kubelet API: exec in any pod, control plane included):
//!   cluster-admin.
//! - `create-csr` + `approve-csr`: create and approve a client certificate request for the
//!   `kubernetes.io/kube-apiserver-client` signer: a certificate in group `system:masters`.
//! - `patch-webhook` + `create-privileged-pod`: change or delete admission webhooks (the
//!   policy that blocks privileged pods) and create pods: a privileged pod owns its node and
//!   the credentials on it. Cluster-admin on the assumption that admission policy was the
//!   only barrier.
//!
//! Not modelled: creating or updating a binding without `bind` (the API server then requires
//! holding every permission of the role, so it does not escalate), node compromise through
//! pods when no webhook stands in the way, and cloud credentials.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use kubesecops_core::{Location, ObjectRef};
use serde::Serialize;

use crate::authorizer::Request;
use crate::model::{Binding, Resolved, RoleKind, TokenSecret, RBAC_GROUP};
use crate::subject::{Subject, SubjectKind, UserInfo, MASTERS_GROUP};

/// What paths lead to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Every permission on every resource, cluster-wide.
    ClusterAdmin,
    /// Acting as this subject.
    Subject(Subject),
}

impl Target {
    /// Parses `cluster-admin` or a subject.
    pub fn parse(text: &str) -> Result<Target, crate::RbacError> {
        if text == "cluster-admin" {
            Ok(Target::ClusterAdmin)
        } else {
            Subject::parse(text).map(Target::Subject)
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::ClusterAdmin => f.write_str("cluster-admin"),
            Target::Subject(s) => s.fmt(f),
        }
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What is done: `create-pod`, `impersonate`, `bound`, ... (see the module docs).
    pub action: &'static str,
    /// The binding that grants the step (`None` for membership of `system:masters`).
    pub via: Option<Via>,
    /// The subject the step makes one act as, when it leads to a subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub becomes: Option<String>,
    /// The step in words.
    pub detail: String,
    /// Where the granting object is.
    #[serde(skip)]
    pub location: Option<Location>,
}

/// The object granting a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    /// Object kind.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Namespace (omitted for cluster-scoped objects).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl Via {
    fn of(binding: &Binding) -> Via {
        Via::object(&binding.object)
    }

    fn object(object: &ObjectRef) -> Via {
        Via { kind: object.kind.clone(), name: object.name.clone(), namespace: object.namespace.clone() }
    }
}

/// The shortest way one subject reaches the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivilegePath {
    /// Who.
    pub subject: SubjectJson,
    /// `cluster-admin` or the target subject.
    pub target: String,
    /// True when the subject is bound to the target's permissions directly (no escalation).
    pub direct: bool,
    /// The steps, first to last.
    pub steps: Vec<Step>,
}

/// A subject as JSON reports write it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SubjectJson {
    /// User, Group or ServiceAccount.
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Namespace of a service account.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl From<&Subject> for SubjectJson {
    fn from(s: &Subject) -> Self {
        SubjectJson { kind: s.kind.as_str(), name: s.name.clone(), namespace: s.namespace.clone() }
    }
}

impl SubjectJson {
    /// Back to a subject.
    pub fn subject(&self) -> Subject {
        let kind = match self.kind {
            "User" => SubjectKind::User,
            "Group" => SubjectKind::Group,
            _ => SubjectKind::ServiceAccount,
        };
        Subject { kind, name: self.name.clone(), namespace: self.namespace.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NodeId {
    Admin,
    Subject(Subject),
}

#[derive(Debug, Clone)]
struct Edge {
    to: NodeId,
    steps: Vec<Step>,
    /// The group through which the subject holds the first step's permission, if not its own.
    through_group: Option<String>,
}

/// Per-subject view of the bindings that apply to it.
struct Holder<'r, 'm> {
    resolved: &'r Resolved<'m>,
    user: Option<UserInfo>,
    subject: Subject,
    /// The bindings naming the subject or one of its groups, in input order: every grant
    /// comes from one of these, so only they are searched.
    mine: Vec<&'r Binding>,
    /// Every verb the rules of `mine` name (`*` included): steps whose verbs are missing are
    /// not asked of the authorizer at all, which keeps the graph linear in practice.
    verbs: HashSet<&'r str>,
}

impl<'r> Holder<'r, '_> {
    fn new<'m>(resolved: &'r Resolved<'m>, subject: &Subject, mine: Vec<&'r Binding>) -> Holder<'r, 'm> {
        let verbs = mine
            .iter()
            .flat_map(|b| resolved.binding_rules(b))
            .flat_map(|r| r.verbs.iter().map(String::as_str))
            .collect();
        Holder { resolved, user: subject.user_info(), subject: subject.clone(), mine, verbs }
    }

    /// Whether some rule of the subject names one of `verbs` (or `*`).
    fn may(&self, verbs: &[&str]) -> bool {
        self.verbs.contains("*") || verbs.iter().any(|v| self.verbs.contains(v))
    }

    fn matches(&self, binding: &Binding) -> bool {
        match &self.user {
            Some(user) => binding.subjects.iter().any(|s| user.matches(s, &binding.namespace)),
            None => {
                binding.subjects.iter().any(|s| s.kind == SubjectKind::Group && s.name == self.subject.name)
            }
        }
    }

    /// The first binding (in input order) granting `request` to this subject.
    fn grant(&self, request: &Request) -> Option<&'r Binding> {
        let namespace = match request {
            Request::Resource { namespace, .. } => namespace.as_str(),
            Request::NonResource { .. } => "",
        };
        self.mine.iter().copied().find(|b| {
            crate::authorizer::binding_applies(b, namespace)
                && self.resolved.binding_rules(b).iter().any(|r| crate::authorizer::rule_allows(r, request))
        })
    }

    fn grant_any(
        &self,
        verbs: &[&str],
        group: &str,
        resource: &str,
        sub: &str,
        ns: &str,
        name: &str,
    ) -> Option<&'r Binding> {
        if !self.may(verbs) {
            return None;
        }
        verbs.iter().find_map(|v| self.grant(&Request::resource(v, group, resource, sub, ns).named(name)))
    }

    /// The group (if any) through which `binding` applies, when it does not name the subject.
    fn through_group(&self, binding: &Binding) -> Option<String> {
        let user = self.user.as_ref()?;
        let direct = binding
            .subjects
            .iter()
            .any(|s| s.kind != SubjectKind::Group && user.matches(s, &binding.namespace));
        if direct {
            return None;
        }
        binding
            .subjects
            .iter()
            .find(|s| s.kind == SubjectKind::Group && user.groups.contains(&s.name))
            .map(|s| s.name.clone())
    }
}

fn step(action: &'static str, binding: &Binding, becomes: Option<&Subject>, detail: String) -> Step {
    Step {
        action,
        via: Some(Via::of(binding)),
        becomes: becomes.map(Subject::to_string),
        detail,
        location: Some(binding.location.clone()),
    }
}

/// Workload kinds whose pod template picks the service account: (group, resource).
const WORKLOADS: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
];

/// The privilege graph of a resolved model.
pub struct Graph {
    edges: BTreeMap<NodeId, Vec<Edge>>,
}

impl Graph {
    /// Builds every edge of every subject the input names.
    pub fn build(resolved: &Resolved<'_>) -> Graph {
        let accounts = resolved.service_accounts();
        let mut subjects: BTreeSet<Subject> = BTreeSet::new();
        subjects.insert(Subject::group(MASTERS_GROUP));
        for binding in &resolved.model.bindings {
            subjects.extend(
                binding
                    .resolved_subjects()
                    .filter(|s| !s.namespace.is_empty() || s.kind != SubjectKind::ServiceAccount),
            );
        }
        for (ns, names) in &accounts {
            subjects.extend(names.iter().map(|n| Subject::service_account(ns, n)));
        }
        let mut namespaces: BTreeSet<String> = resolved.namespaces().clone();
        namespaces.extend(accounts.keys().cloned());
        let mut identities: HashMap<&str, Vec<&str>> = HashMap::new();
        for (ns, name) in &resolved.model.pod_identities {
            identities.entry(ns.as_str()).or_default().push(name.as_str());
        }
        let mut token_secrets: HashMap<&str, Vec<&TokenSecret>> = HashMap::new();
        for secret in &resolved.model.token_secrets {
            token_secrets.entry(secret.namespace.as_str()).or_default().push(secret);
        }
        let context = Context {
            subjects: &subjects,
            namespaces: &namespaces,
            accounts: &accounts,
            identities,
            token_secrets,
        };
        let by_subject = BindingIndex::new(&resolved.model.bindings);
        let mut edges = BTreeMap::new();
        for subject in &subjects {
            let probe = Holder::new(resolved, subject, Vec::new());
            let mine = by_subject.candidates(subject).filter(|b| probe.matches(b)).collect();
            let holder = Holder::new(resolved, subject, mine);
            let out = if holder.mine.is_empty() && subject.kind != SubjectKind::Group {
                Vec::new()
            } else {
                subject_edges(&holder, &context)
            };
            edges.insert(NodeId::Subject(subject.clone()), out);
        }
        Graph { edges }
    }

    /// The shortest path of every subject that can reach `target` (fewest steps; ties broken
    /// by subject order), the target itself excluded. With `from`, only that subject's path.
    pub fn paths(&self, target: &Target, from: Option<&Subject>) -> Vec<PrivilegePath> {
        let goal = match target {
            Target::ClusterAdmin => NodeId::Admin,
            Target::Subject(s) => NodeId::Subject(s.clone()),
        };
        // Dijkstra on the reversed graph from the goal: `next[n]` is n's first edge.
        let mut reverse: HashMap<&NodeId, Vec<(&NodeId, &Edge)>> = HashMap::new();
        for (from, list) in &self.edges {
            for edge in list {
                reverse.entry(&edge.to).or_default().push((from, edge));
            }
        }
        let mut dist: HashMap<&NodeId, usize> = HashMap::new();
        let mut next: HashMap<&NodeId, &Edge> = HashMap::new();
        let mut heap = BinaryHeap::new();
        dist.insert(&goal, 0);
        heap.push(Reverse((0usize, &goal)));
        while let Some(Reverse((d, node))) = heap.pop() {
            if dist.get(node).is_some_and(|&best| best < d) {
                continue;
            }
            for (pred, edge) in reverse.get(node).map(Vec::as_slice).unwrap_or_default() {
                let nd = d + edge.steps.len();
                if dist.get(pred).is_none_or(|&best| nd < best) {
                    dist.insert(pred, nd);
                    next.insert(pred, edge);
                    heap.push(Reverse((nd, pred)));
                }
            }
        }
        let mut out = Vec::new();
        for node in self.edges.keys() {
            let NodeId::Subject(subject) = node else { continue };
            if *node == goal || from.is_some_and(|f| f != subject) {
                continue;
            }
            let Some(first) = next.get(node) else { continue };
            // A subject that holds the first step only through a group is covered by the
            // group's own path, unless asked for by name.
            if from.is_none() && first.through_group.is_some() {
                continue;
            }
            let mut steps = Vec::new();
            let mut at = node;
            while let Some(edge) = next.get(at) {
                steps.extend(edge.steps.iter().cloned());
                at = &edge.to;
                if *at == goal {
                    break;
                }
            }
            let direct = first.to == goal && first.steps.len() == 1 && first.steps[0].action == "bound";
            out.push(PrivilegePath { subject: subject.into(), target: target.to_string(), direct, steps });
        }
        out
    }

    /// The graph in Graphviz `dot`, edges labelled with their actions.
    pub fn dot(&self, paths: &[PrivilegePath]) -> String {
        let mut text = String::from("digraph privileges {\n  rankdir=LR;\n  node [shape=box];\n");
        let mut seen = BTreeSet::new();
        for path in paths {
            let mut from = path.subject.subject().to_string();
            for step in &path.steps {
                let to = step.becomes.clone().unwrap_or_else(|| path.target.clone());
                let label = match &step.via {
                    Some(via) => format!("{} ({} {})", step.action, via.kind, via.name),
                    None => step.action.to_string(),
                };
                if seen.insert((from.clone(), to.clone(), label.clone())) {
                    let _ = writeln!(text, "  {from:?} -> {to:?} [label={label:?}];");
                }
                from = to;
            }
        }
        text.push_str("}\n");
        text
    }
}

/// What every subject's edges are computed against, indexed once per graph.
struct Context<'a> {
    subjects: &'a BTreeSet<Subject>,
    namespaces: &'a BTreeSet<String>,
    accounts: &'a BTreeMap<String, BTreeSet<String>>,
    /// Service accounts pods run as, by namespace.
    identities: HashMap<&'a str, Vec<&'a str>>,
    /// Service-account token Secrets, by namespace.
    token_secrets: HashMap<&'a str, Vec<&'a TokenSecret>>,
}

/// Bindings by the subjects they name, so a subject's bindings are found without reading
/// them all (the authorizer's exact match is still applied to each candidate).
struct BindingIndex<'m> {
    bindings: &'m [Binding],
    by_key: HashMap<(SubjectKind, String, String), Vec<usize>>,
}

impl<'m> BindingIndex<'m> {
    fn new(bindings: &'m [Binding]) -> BindingIndex<'m> {
        let mut by_key: HashMap<(SubjectKind, String, String), Vec<usize>> = HashMap::new();
        for (i, binding) in bindings.iter().enumerate() {
            for s in binding.resolved_subjects() {
                let list = by_key.entry((s.kind, s.name, s.namespace)).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        BindingIndex { bindings, by_key }
    }

    /// Bindings that may apply to `subject`, in input order.
    fn candidates(&self, subject: &Subject) -> impl Iterator<Item = &'m Binding> + '_ {
        let mut keys: Vec<(SubjectKind, String, String)> = Vec::new();
        match subject.user_info() {
            None => keys.push((SubjectKind::Group, subject.name.clone(), String::new())),
            Some(user) => {
                if let Some((ns, name)) =
                    user.name.strip_prefix("system:serviceaccount:").and_then(|r| r.split_once(':'))
                {
                    keys.push((SubjectKind::ServiceAccount, name.to_string(), ns.to_string()));
                }
                keys.extend(user.groups.iter().map(|g| (SubjectKind::Group, g.clone(), String::new())));
                keys.push((SubjectKind::User, user.name, String::new()));
            }
        }
        let mut found: Vec<usize> =
            keys.iter().filter_map(|k| self.by_key.get(k)).flatten().copied().collect();
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|i| &self.bindings[i])
    }
}

fn subject_edges(h: &Holder<'_, '_>, cx: &Context<'_>) -> Vec<Edge> {
    let (subjects, namespaces, accounts) = (cx.subjects, cx.namespaces, cx.accounts);
    // Membership of system:masters, or a ClusterRoleBinding to every verb on everything.
    if h.subject.kind == SubjectKind::Group && h.subject.name == MASTERS_GROUP {
        let via = h.mine.iter().copied().find(|b| b.is_cluster());
        let steps = vec![Step {
            action: "bound",
            via: via.map(Via::of),
            becomes: None,
            detail: "members of system:masters are allowed everything by the API server".into(),
            location: via.map(|b| b.location.clone()),
        }];
        return vec![Edge { to: NodeId::Admin, steps, through_group: None }];
    }
    let mut out: Vec<Edge> = Vec::new();
    let mut at: HashMap<NodeId, usize> = HashMap::new();
    let myself = NodeId::Subject(h.subject.clone());
    let mut push = |to: NodeId, steps: Vec<Step>, first: &Binding| {
        if to == myself {
            return;
        }
        match at.get(&to) {
            Some(&i) if out[i].steps.len() <= steps.len() => {}
            Some(&i) => out[i] = Edge { to, steps, through_group: h.through_group(first) },
            None => {
                at.insert(to.clone(), out.len());
                out.push(Edge { to, steps, through_group: h.through_group(first) });
            }
        }
    };
    let rbac = RBAC_GROUP;

    let everything = Request::resource("*", "*", "*", "", "");
    if let Some(b) = h.grant(&everything) {
        let role =
            format!("{} {}", if b.role_kind == RoleKind::Role { "Role" } else { "ClusterRole" }, b.role_name);
        push(
            NodeId::Admin,
            vec![step(
                "bound",
                b,
                None,
                format!("bound cluster-wide to {role}, which allows every verb on every resource"),
            )],
            b,
        );
    }

    // Cluster-wide steps.
    if let Some(b) = h.grant_any(&["create", "get"], "", "nodes", "proxy", "", "") {
        push(
            NodeId::Admin,
            vec![step(
                "nodes-proxy",
                b,
                None,
                "use the kubelet API through nodes/proxy: exec in any pod, control plane included".into(),
            )],
            b,
        );
    }
    if let (Some(create), Some(approve), Some(sign)) = (
        h.grant_any(&["create"], "certificates.k8s.io", "certificatesigningrequests", "", "", ""),
        h.grant_any(
            &["update", "patch"],
            "certificates.k8s.io",
            "certificatesigningrequests",
            "approval",
            "",
            "",
        ),
        h.grant_any(
            &["approve"],
            "certificates.k8s.io",
            "signers",
            "",
            "",
            "kubernetes.io/kube-apiserver-client",
        )
        .or_else(|| h.grant_any(&["approve"], "certificates.k8s.io", "signers", "", "", "kubernetes.io/*")),
    ) {
        push(
            NodeId::Admin,
            vec![
                step(
                    "create-csr",
                    create,
                    None,
                    "create a CertificateSigningRequest for a client certificate in group system:masters"
                        .into(),
                ),
                step(
                    "approve-csr",
                    approve,
                    None,
                    format!("approve it (signer approval through {} {})", sign.object.kind, sign.name),
                ),
            ],
            create,
        );
    }
    if let (Some(bind), Some(create)) = (
        h.grant_any(&["bind"], rbac, "clusterroles", "", "", "cluster-admin"),
        h.grant_any(&["create", "update", "patch"], rbac, "clusterrolebindings", "", "", ""),
    ) {
        push(
            NodeId::Admin,
            vec![
                step("bind", bind, None, "bind the ClusterRole cluster-admin".into()),
                step(
                    "create-binding",
                    create,
                    None,
                    "create a ClusterRoleBinding of cluster-admin to oneself".into(),
                ),
            ],
            bind,
        );
    }
    for own in h.mine.iter().copied().filter(|b| b.is_cluster()) {
        let name = &own.role_name;
        if let (Some(esc), Some(update)) = (
            h.grant_any(&["escalate"], rbac, "clusterroles", "", "", name),
            h.grant_any(&["update", "patch"], rbac, "clusterroles", "", "", name),
        ) {
            push(
                NodeId::Admin,
                vec![
                    step(
                        "escalate",
                        esc,
                        None,
                        format!("escalate: add permissions one does not hold to ClusterRole {name}"),
                    ),
                    step(
                        "update-role",
                        update,
                        None,
                        format!(
                            "update ClusterRole {name}, bound to oneself by {} {}",
                            own.object.kind, own.name
                        ),
                    ),
                ],
                esc,
            );
            break;
        }
    }
    let webhook = ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"].iter().find_map(|r| {
        h.grant_any(&["patch", "update", "delete"], "admissionregistration.k8s.io", r, "", "", "")
            .map(|b| (*r, b))
    });
    if let Some((resource, hook)) = webhook {
        if let Some((ns, pods)) =
            namespaces.iter().find_map(|ns| h.grant_any(&["create"], "", "pods", "", ns, "").map(|b| (ns, b)))
        {
            push(
                NodeId::Admin,
                vec![
                    step(
                        "patch-webhook",
                        hook,
                        None,
                        format!("change or delete {resource} to switch admission policy off"),
                    ),
                    step(
                        "create-privileged-pod",
                        pods,
                        None,
                        format!("create a privileged pod in namespace {ns} that owns its node"),
                    ),
                ],
                hook,
            );
        }
    }
    for target in subjects.iter().filter(|_| h.may(&["impersonate"])) {
        let (resource, group) = match target.kind {
            SubjectKind::User => ("users", ""),
            SubjectKind::Group => ("groups", ""),
            SubjectKind::ServiceAccount => continue,
        };
        if let Some(b) = h.grant_any(&["impersonate"], group, resource, "", "", &target.name) {
            let to = if target.kind == SubjectKind::Group && target.name == MASTERS_GROUP {
                NodeId::Admin
            } else {
                NodeId::Subject(target.clone())
            };
            push(to, vec![step("impersonate", b, Some(target), format!("impersonate {target}"))], b);
        }
    }

    // Steps inside one namespace: every namespace when a ClusterRoleBinding applies, else
    // only the namespaces of the subject's RoleBindings (nothing is granted elsewhere).
    let cluster_wide = h.mine.iter().any(|b| b.is_cluster());
    for ns in namespaces.iter().filter(|ns| cluster_wide || h.mine.iter().any(|b| &b.namespace == *ns)) {
        let no_accounts = BTreeSet::new();
        let names = accounts.get(ns).unwrap_or(&no_accounts);
        let run_as =
            h.grant_any(&["create"], "", "pods", "", ns, "").map(|b| (b, "create pods")).or_else(|| {
                WORKLOADS.iter().find_map(|(g, r)| {
                    h.grant_any(&["create", "update", "patch"], g, r, "", ns, "").map(|b| (b, *r))
                })
            });
        if let Some((b, how)) = run_as {
            for name in names {
                let sa = Subject::service_account(ns, name);
                let detail = if how == "create pods" {
                    format!("create a pod in namespace {ns} that runs as {sa}")
                } else {
                    format!("create or change {how} in namespace {ns} so that its pods run as {sa}")
                };
                push(NodeId::Subject(sa.clone()), vec![step("create-pod", b, Some(&sa), detail)], b);
            }
        }
        if let Some(b) = h.grant_any(&["create"], "", "pods", "exec", ns, "") {
            for name in cx.identities.get(ns.as_str()).map(Vec::as_slice).unwrap_or_default() {
                let sa = Subject::service_account(ns, *name);
                push(
                    NodeId::Subject(sa.clone()),
                    vec![step(
                        "exec",
                        b,
                        Some(&sa),
                        format!("exec into a pod of namespace {ns} running as {sa}"),
                    )],
                    b,
                );
            }
        }
        for secret in cx.token_secrets.get(ns.as_str()).map(Vec::as_slice).unwrap_or_default() {
            let b = h
                .grant_any(&["get"], "", "secrets", "", ns, &secret.name)
                .or_else(|| h.grant_any(&["list", "watch"], "", "secrets", "", ns, ""));
            if let Some(b) = b {
                let sa = Subject::service_account(ns, &secret.service_account);
                let detail = format!("read the token of {sa} from Secret {ns}/{}", secret.name);
                push(NodeId::Subject(sa.clone()), vec![step("read-token-secret", b, Some(&sa), detail)], b);
            }
        }
        for name in names.iter().filter(|_| h.may(&["create", "impersonate"])) {
            let sa = Subject::service_account(ns, name);
            if let Some(b) = h.grant_any(&["create"], "", "serviceaccounts", "token", ns, name) {
                push(
                    NodeId::Subject(sa.clone()),
                    vec![step("create-token", b, Some(&sa), format!("request a token for {sa}"))],
                    b,
                );
            }
            if let Some(b) = h.grant_any(&["impersonate"], "", "serviceaccounts", "", ns, name) {
                push(
                    NodeId::Subject(sa.clone()),
                    vec![step("impersonate", b, Some(&sa), format!("impersonate {sa}"))],
                    b,
                );
            }
        }
        let bind = h
            .grant_any(&["bind"], rbac, "clusterroles", "", ns, "cluster-admin")
            .or_else(|| h.grant_any(&["bind"], rbac, "clusterroles", "", ns, "admin"));
        let create = h.grant_any(&["create", "update", "patch"], rbac, "rolebindings", "", ns, "");
        let escalate =
            h.mine.iter().copied().filter(|b| b.namespace == *ns && b.role_kind == RoleKind::Role).find_map(
                |own| {
                    let esc = h.grant_any(&["escalate"], rbac, "roles", "", ns, &own.role_name)?;
                    let upd = h.grant_any(&["update", "patch"], rbac, "roles", "", ns, &own.role_name)?;
                    Some((esc, upd, own.role_name.clone()))
                },
            );
        let control: Option<(Vec<Step>, &Binding)> = match (bind, create, escalate) {
            (Some(bind), Some(create), _) => Some((
                vec![
                    step("bind", bind, None, format!("bind an all-powerful ClusterRole in namespace {ns}")),
                    step(
                        "create-binding",
                        create,
                        None,
                        format!("create a RoleBinding of it to oneself in namespace {ns}"),
                    ),
                ],
                bind,
            )),
            (_, _, Some((esc, upd, role))) => Some((
                vec![
                    step("escalate", esc, None, format!("escalate: add any permission to Role {ns}/{role}")),
                    step("update-role", upd, None, format!("update Role {ns}/{role}, bound to oneself")),
                ],
                esc,
            )),
            _ => None,
        };
        if let Some((steps, first)) = control {
            for name in names {
                let sa = Subject::service_account(ns, name);
                let mut all = steps.clone();
                all.push(Step {
                    action: "create-pod",
                    via: None,
                    becomes: Some(sa.to_string()),
                    detail: format!(
                        "with the new permissions, create a pod in namespace {ns} that runs as {sa}"
                    ),
                    location: None,
                });
                push(NodeId::Subject(sa), all, first);
            }
        }
    }
    out
}

/// Whether a subject belongs to Kubernetes itself (its components and controllers), whose
/// permissions come with the cluster: `system:` users and groups other than the anonymous,
/// authenticated and service-account groups, and service accounts of `kube-system`.
pub fn is_builtin(subject: &Subject) -> bool {
    match subject.kind {
        SubjectKind::ServiceAccount => subject.namespace == "kube-system",
        SubjectKind::User => subject.name.starts_with("system:") && subject.name != crate::ANONYMOUS_USER,
        SubjectKind::Group => {
            subject.name.starts_with("system:")
                && !matches!(
                    subject.name.as_str(),
                    crate::UNAUTHENTICATED_GROUP | crate::AUTHENTICATED_GROUP | "system:serviceaccounts"
                )
                && !subject.name.starts_with("system:serviceaccounts:")
        }
    }
}

/// Text form of paths, one block per subject.
pub fn render_text(paths: &[PrivilegePath]) -> String {
    let mut text = String::new();
    if paths.is_empty() {
        text.push_str("no subject can reach the target\n");
    }
    for path in paths {
        let who = path.subject.subject();
        let how =
            if path.direct { "directly".to_string() } else { format!("in {} step(s)", path.steps.len()) };
        let _ = writeln!(text, "{who} -> {} {how}", path.target);
        for (i, step) in path.steps.iter().enumerate() {
            let via = match &step.via {
                Some(v) if v.namespace.is_empty() => format!("{}/{}", v.kind, v.name),
                Some(v) => format!("{}/{}/{}", v.kind, v.namespace, v.name),
                None => "-".to_string(),
            };
            let _ = writeln!(text, "  {}. {:<22} {}  [via {via}]", i + 1, step.action, step.detail);
        }
    }
    text
}

/// The object a finding about a path points at: the first step's granting object.
pub fn first_grant(path: &PrivilegePath) -> Option<(Arc<ObjectRef>, Location)> {
    let step = path.steps.iter().find(|s| s.via.is_some() && s.location.is_some())?;
    let via = step.via.as_ref()?;
    let object = ObjectRef {
        api_version: format!("{RBAC_GROUP}/v1"),
        kind: via.kind.clone(),
        namespace: via.namespace.clone(),
        name: via.name.clone(),
    };
    Some((Arc::new(object), step.location.clone()?))
}
