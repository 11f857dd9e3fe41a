//! From Kubernetes objects (with line numbers) to validated [`Resources`].
//!
//! Every rejected field is reported with its file and line. Following netpol-analyzer, an
//! invalid policy is fatal (no result is better than a wrong one), while an unreadable
//! workload or service is reported and left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use kubesecops_k8s::{Node, Object, Pos};

use crate::ipv4::{CidrError, IpSet};
use crate::model::*;
use crate::ports::{Protocol, MAX_PORT, MIN_PORT};
use crate::selector::{Labels, Requirement, Selector};

/// The label every namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The namespace label that allows a primary UserDefinedNetwork.
pub const PRIMARY_UDN_LABEL: &str = "k8s.ovn.org/primary-user-defined-network";
const NETWORKS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/networks";
const POLICY_FOR_ANNOTATION: &str = "k8s.v1.cni.cncf.io/policy-for";
const WORKLOAD_KINDS: &[&str] =
    &["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job", "CronJob"];
const MULTI_NETWORK_KINDS: &[&str] = &[
    "UserDefinedNetwork",
    "ClusterUserDefinedNetwork",
    "NetworkAttachmentDefinition",
    "MultiNetworkPolicy",
    "VirtualMachine",
];

/// What reading the objects gave.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// The resources (complete unless `fatal` is non-empty).
    pub resources: Resources,
    /// Invalid policies or network definitions: the analysis must not run.
    pub fatal: Vec<InputError>,
    /// Objects that could not be read and were left out.
    pub skipped: Vec<InputError>,
}

/// One pod as netpol-analyzer models it, before pods of one owner are merged.
struct PodRecord {
    workload: Workload,
    /// Pods created by a controller (merged by owner; their labels must agree).
    owned: bool,
}

/// Reads objects in input order.
pub fn read_resources(objects: &[Object]) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    let res = &mut out.resources;
    res.multi_network = objects.iter().any(|o| MULTI_NETWORK_KINDS.contains(&o.kind()));

    let mut namespace_index: HashMap<String, usize> = HashMap::new();
    for obj in objects.iter().filter(|o| o.kind() == "Namespace") {
        let r = Reader::new(obj);
        match r.namespace_object() {
            Ok(ns) => {
                if namespace_index.contains_key(&ns.name) {
                    out.fatal.push(r.error(obj.root.pos, "defined twice"));
                    continue;
                }
                namespace_index.insert(ns.name.clone(), res.namespaces.len());
                res.namespaces.push(ns);
            }
            Err(e) => out.skipped.push(e),
        }
    }

    let mut pods: Vec<(String, PodRecord)> = Vec::new();
    let mut pod_slots: HashMap<String, usize> = HashMap::new();
    let mut policy_names: BTreeSet<(String, String)> = BTreeSet::new();
    let mut mnp_names: BTreeSet<(String, String)> = BTreeSet::new();
    let mut anp_names: BTreeSet<String> = BTreeSet::new();
    for obj in objects {
        let r = Reader::new(obj);
        let kind = obj.kind();
        let result: Result<(), InputError> = match kind {
            "Pod" => match r.pod() {
                Ok(Some(rec)) => {
                    let key = format!("{}/{}", rec.workload.namespace, r.name());
                    insert_pod(&mut pods, &mut pod_slots, key, rec);
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(e) => {
                    out.skipped.push(e);
                    Ok(())
                }
            },
            k if WORKLOAD_KINDS.contains(&k) || (k == "VirtualMachine" && res.multi_network) => {
                match r.workload() {
                    Ok((workload, replicas)) => {
                        let base = format!("{}/{}", workload.namespace, workload.name);
                        for index in 1..=replicas.clamp(1, 2) {
                            let rec = PodRecord { workload: workload.clone(), owned: false };
                            insert_pod(&mut pods, &mut pod_slots, format!("{base}-{index}"), rec);
                        }
                    }
                    Err(e) => out.skipped.push(e),
                }
                Ok(())
            }
            "NetworkPolicy" => r.network_policy(false).and_then(|np| {
                if !policy_names.insert((np.namespace.clone(), np.name.clone())) {
                    return Err(
                        r.error(obj.root.pos, format!("defined twice in namespace {:?}", np.namespace))
                    );
                }
                res.network_policies.push(np);
                Ok(())
            }),
            "MultiNetworkPolicy" if res.multi_network => r.network_policy(true).and_then(|np| {
                if !mnp_names.insert((np.namespace.clone(), np.name.clone())) {
                    return Err(
                        r.error(obj.root.pos, format!("defined twice in namespace {:?}", np.namespace))
                    );
                }
                res.multi_network_policies.push(np);
                Ok(())
            }),
            "AdminNetworkPolicy" => r.admin_policy(false).and_then(|anp| {
                if !anp_names.insert(anp.name.clone()) {
                    return Err(
                        r.error(obj.root.pos, "defined twice (AdminNetworkPolicy names must be unique)")
                    );
                }
                res.admin_policies.push(anp);
                Ok(())
            }),
            "BaselineAdminNetworkPolicy" => r.admin_policy(true).and_then(|banp| {
                if res.baseline.is_some() {
                    return Err(r.error(
                        obj.root.pos,
                        "only one BaselineAdminNetworkPolicy may exist (it is a cluster singleton)",
                    ));
                }
                if banp.name != "default" {
                    return Err(r.error(
                        r.name_pos(),
                        format!("BaselineAdminNetworkPolicy must be named \"default\", not {:?}", banp.name),
                    ));
                }
                res.baseline = Some(banp);
                Ok(())
            }),
            "Service" => {
                match r.service() {
                    Ok(svc) => res.services.push(svc),
                    Err(e) => out.skipped.push(e),
                }
                Ok(())
            }
            "Route" | "Ingress" => {
                match if kind == "Route" { r.route() } else { r.ingress() } {
                    Ok(ing) => res.ingress_resources.push(ing),
                    Err(e) => out.skipped.push(e),
                }
                Ok(())
            }
            "UserDefinedNetwork" | "ClusterUserDefinedNetwork" if res.multi_network => {
                r.user_network(kind == "ClusterUserDefinedNetwork").map(|net| res.user_networks.push(net))
            }
            "NetworkAttachmentDefinition" if res.multi_network => {
                res.attachment_definitions
                    .push(AttachmentDefinition { namespace: r.namespace(), name: r.name().to_string() });
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            out.fatal.push(e);
        }
        res.warnings.append(&mut r.warnings.borrow_mut());
    }

    merge_pods(pods, res, &mut out.fatal);
    sort_admin_policies(res, &mut out.fatal);
    assign_primary_networks(res, &mut out.fatal);
    for w in &res.workloads {
        if !namespace_index.contains_key(&w.namespace) {
            namespace_index.insert(w.namespace.clone(), res.namespaces.len());
            res.namespaces.push(implicit_namespace(&w.namespace));
        }
    }
    out
}

/// A namespace referenced but not defined: it carries only its name label.
pub fn implicit_namespace(name: &str) -> Namespace {
    Namespace {
        name: name.to_string(),
        labels: Labels::new([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())]),
        origin: None,
    }
}

fn insert_pod(
    pods: &mut Vec<(String, PodRecord)>,
    slots: &mut HashMap<String, usize>,
    key: String,
    rec: PodRecord,
) {
    match slots.get(&key) {
        Some(&i) => pods[i].1 = rec,
        None => {
            slots.insert(key.clone(), pods.len());
            pods.push((key, rec));
        }
    }
}

/// Merges pods into workloads by `ns/name[Kind]`. Pods of one controller must agree on
/// every label a policy looks at, or the analysis cannot tell which of them it is about.
fn merge_pods(pods: Vec<(String, PodRecord)>, res: &mut Resources, fatal: &mut Vec<InputError>) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let has_policies =
        !res.network_policies.is_empty() || !res.admin_policies.is_empty() || res.baseline.is_some();
    for (_, rec) in pods {
        let key = rec.workload.display();
        match index.get(&key) {
            None => {
                index.insert(key, res.workloads.len());
                res.workloads.push(rec.workload);
            }
            Some(&i) => {
                let first = &res.workloads[i];
                if rec.owned && has_policies && first.labels != rec.workload.labels {
                    if let Some(message) = label_gap_used_by_policy(first, &rec.workload, res) {
                        fatal.push(InputError::at(&rec.workload.origin, message));
                    }
                }
            }
        }
    }
}

/// Keys whose value differs between two pods of one owner, with (first, second) values.
fn label_gap_used_by_policy(first: &Workload, second: &Workload, res: &Resources) -> Option<String> {
    let mut gap: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for (k, v) in second.labels.iter() {
        let other = first.labels.get(k).unwrap_or("");
        if first.labels.get(k) != Some(v) {
            gap.insert(k, (other, v));
        }
    }
    for (k, v) in first.labels.iter() {
        if second.labels.get(k).is_none() {
            gap.insert(k, (v, ""));
        }
    }
    let uses = |sel: &Selector| -> Option<String> {
        for req in sel.requirements() {
            let Some(&(a, b)) = gap.get(req.key()) else { continue };
            let hit = match req {
                Requirement::Equals(_, v) => v == a || v == b,
                Requirement::In(_, vs) | Requirement::NotIn(_, vs) => {
                    vs.iter().any(|x| x == a) != vs.iter().any(|x| x == b)
                }
                Requirement::Exists(_) | Requirement::DoesNotExist(_) => false,
            };
            if hit {
                return Some(req.key().to_string());
            }
        }
        None
    };
    let mut found: Option<(String, String)> = None;
    for np in &res.network_policies {
        if np.namespace == first.namespace {
            if let Some(k) = uses(&np.pod_selector) {
                found = Some((k, format!("NetworkPolicy {:?}", np.qualified_name())));
                break;
            }
        }
        let rules = np
            .ingress
            .iter()
            .filter(|_| np.affects_ingress)
            .chain(np.egress.iter().filter(|_| np.affects_egress));
        if let Some(k) = rules.flat_map(|r| r.peers.iter()).find_map(|p| match p {
            RulePeer::Selectors { pods: Some(pods), .. } => uses(pods),
            _ => None,
        }) {
            found = Some((k, format!("NetworkPolicy {:?}", np.qualified_name())));
            break;
        }
    }
    if found.is_none() {
        let admin = res
            .admin_policies
            .iter()
            .map(|p| ("AdminNetworkPolicy", p))
            .chain(res.baseline.iter().map(|p| ("BaselineAdminNetworkPolicy", p)));
        for (kind, p) in admin {
            let subject_pods = match &p.subject {
                AdminPods::Pods { pods, .. } => uses(pods),
                AdminPods::Namespaces(_) => None,
            };
            let peer_pods =
                p.ingress.iter().chain(p.egress.iter()).flat_map(|r| r.peers.iter()).find_map(|peer| {
                    match peer {
                        AdminPeer::Pods(AdminPods::Pods { pods, .. }) => uses(pods),
                        _ => None,
                    }
                });
            if let Some(k) = subject_pods.or(peer_pods) {
                found = Some((k, format!("{kind} {:?}", p.name)));
                break;
            }
        }
    }
    let (key, policy) = found?;
    let (a, b) = gap[key.as_str()];
    Some(format!(
        "pods of {} have different values for label {key:?} ({a:?} and {b:?}) while {policy} selects by it; \
         the analysis needs pods of one owner to be selected alike",
        first.qualified_name()
    ))
}

/// Decides which namespaces a primary UDN or CUDN takes over, in input order, with the
/// same rules as OVN-Kubernetes: the namespace must exist and carry the primary-UDN label,
/// may not be `default` or `openshift-*`, and may have only one primary network.
fn assign_primary_networks(res: &mut Resources, fatal: &mut Vec<InputError>) {
    let labels: BTreeMap<String, Labels> =
        res.namespaces.iter().map(|n| (n.name.clone(), n.labels.clone())).collect();
    let forbidden = |ns: &str| ns == "default" || ns.starts_with("openshift-");
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for net in &res.user_networks {
        match net {
            UserNetwork::Udn { namespace, name, primary, origin } => {
                let full = format!("{namespace}/{name}");
                if !primary {
                    res.warnings.push(InputError::at(
                        origin,
                        format!("UserDefinedNetwork {full:?} is not primary: ignored"),
                    ));
                    continue;
                }
                let Some(ns_labels) = labels.get(namespace) else {
                    res.warnings.push(InputError::at(origin, format!("UserDefinedNetwork {full:?}: namespace {namespace:?} is not in the input: ignored")));
                    continue;
                };
                if ns_labels.get(PRIMARY_UDN_LABEL).is_none() {
                    res.warnings.push(InputError::at(origin, format!("UserDefinedNetwork {full:?}: namespace {namespace:?} lacks label {PRIMARY_UDN_LABEL}: ignored")));
                    continue;
                }
                if forbidden(namespace) {
                    fatal.push(InputError::at(origin, format!("UserDefinedNetwork {full:?}: a primary network may not be defined in namespace {namespace:?}")));
                    continue;
                }
                if let Some(current) = owner.get(namespace) {
                    fatal.push(InputError::at(origin, format!("namespace {namespace:?} already has primary network {current:?}; {full:?} would be a second one")));
                    continue;
                }
                owner.insert(namespace.clone(), full);
                res.primary_networks.insert(namespace.clone(), PrimaryNetwork::Udn(namespace.clone()));
            }
            UserNetwork::Cudn { name, primary, namespaces, origin } => {
                if !primary {
                    res.warnings.push(InputError::at(
                        origin,
                        format!("ClusterUserDefinedNetwork {name:?} is not primary: ignored"),
                    ));
                    continue;
                }
                if namespaces.is_empty() && !owner.is_empty() {
                    fatal.push(InputError::at(origin, format!("ClusterUserDefinedNetwork {name:?} selects every namespace while other primary networks exist")));
                    continue;
                }
                let mut selected = 0;
                for (ns, ns_labels) in &labels {
                    if !namespaces.matches(ns_labels) {
                        continue;
                    }
                    if let Some(current) = owner.get(ns) {
                        fatal.push(InputError::at(origin, format!("namespace {ns:?} already has primary network {current:?}; {name:?} would be a second one")));
                        continue;
                    }
                    if ns_labels.get(PRIMARY_UDN_LABEL).is_none() {
                        res.warnings.push(InputError::at(origin, format!("ClusterUserDefinedNetwork {name:?}: namespace {ns:?} lacks label {PRIMARY_UDN_LABEL}: not selected")));
                        continue;
                    }
                    if forbidden(ns) {
                        fatal.push(InputError::at(origin, format!("ClusterUserDefinedNetwork {name:?}: a primary network may not be defined in namespace {ns:?}")));
                        continue;
                    }
                    selected += 1;
                    owner.insert(ns.clone(), name.clone());
                    res.primary_networks.insert(ns.clone(), PrimaryNetwork::Cudn(name.clone()));
                }
                if selected == 0 {
                    res.warnings.push(InputError::at(
                        origin,
                        format!("ClusterUserDefinedNetwork {name:?} selects no namespace"),
                    ));
                }
            }
        }
    }
}

fn sort_admin_policies(res: &mut Resources, fatal: &mut Vec<InputError>) {
    for p in &res.admin_policies {
        if !(0..=1000).contains(&p.priority) {
            fatal.push(InputError::at(
                &p.origin,
                format!("AdminNetworkPolicy {:?}: priority {} is outside 0..=1000", p.name, p.priority),
            ));
        }
    }
    res.admin_policies.sort_by_key(|p| p.priority);
    for pair in res.admin_policies.windows(2) {
        if pair[0].priority == pair[1].priority {
            fatal.push(InputError::at(
                &pair[1].origin,
                format!(
                    "AdminNetworkPolicies {:?} and {:?} have the same priority {}: their order is undefined",
                    pair[0].name, pair[1].name, pair[1].priority
                ),
            ));
        }
    }
}

/// Typed access to one object's fields, with errors located in its file.
struct Reader<'a> {
    obj: &'a Object,
    path: &'a Arc<str>,
    /// Remarks about fields the analysis ignores.
    warnings: std::cell::RefCell<Vec<InputError>>,
}

impl<'a> Reader<'a> {
    fn new(obj: &'a Object) -> Reader<'a> {
        Reader { obj, path: &obj.path, warnings: Default::default() }
    }

    fn origin(&self, pos: Pos) -> Origin {
        Origin { path: Arc::clone(self.path), line: pos.line }
    }

    fn error(&self, pos: Pos, message: impl Into<String>) -> InputError {
        let what = format!("{} {:?}", self.obj.kind(), self.display_name());
        InputError {
            path: self.path.to_string(),
            line: Some(pos.line),
            message: format!("{what}: {}", message.into()),
        }
    }

    fn display_name(&self) -> String {
        let ns = self.obj.namespace();
        if ns.is_empty() {
            self.name().to_string()
        } else {
            format!("{ns}/{}", self.name())
        }
    }

    fn name(&self) -> &str {
        self.obj.metadata().and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("")
    }

    fn name_pos(&self) -> Pos {
        self.obj.metadata().map_or(self.obj.root.pos, |m| m.key_pos("name"))
    }

    /// The object's namespace, `default` when unset.
    fn namespace(&self) -> String {
        match self.obj.namespace() {
            "" => "default".to_string(),
            ns => ns.to_string(),
        }
    }

    /// A scalar as text; maps and sequences are errors.
    fn text(&self, node: &Node, key: &str) -> Result<Option<String>, InputError> {
        match node.get(key) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) => Ok(Some(s.to_string())),
                None => Err(self.error(node.key_pos(key), format!("`{key}` must be a string"))),
            },
        }
    }

    fn int(&self, node: &Node, key: &str) -> Result<Option<i64>, InputError> {
        match node.get(key) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(self.error(node.key_pos(key), format!("`{key}` must be an integer"))),
            },
        }
    }

    fn int_or_string(&self, node: &Node, key: &str) -> Result<Option<IntOrString>, InputError> {
        match node.get(key) {
            None => Ok(None),
            Some(v) => {
                if let Some(i) = v.as_i64() {
                    Ok(Some(IntOrString::Int(i)))
                } else if let Some(s) = v.as_str().filter(|_| !v.is_map() && !v.is_seq()) {
                    Ok(Some(IntOrString::String(s.to_string())))
                } else {
                    Err(self.error(node.key_pos(key), format!("`{key}` must be a number or a name")))
                }
            }
        }
    }

    fn list<'n>(&self, node: &'n Node, key: &str) -> Result<&'n [Node], InputError> {
        match node.get(key) {
            None => Ok(&[]),
            Some(v) if v.is_seq() => Ok(v.items()),
            Some(_) => Err(self.error(node.key_pos(key), format!("`{key}` must be a list"))),
        }
    }

    fn labels(&self, node: Option<&Node>) -> Result<Labels, InputError> {
        let Some(node) = node else { return Ok(Labels::default()) };
        if !node.is_map() {
            return Err(self.error(node.pos, "labels must be a mapping"));
        }
        let mut labels = Labels::default();
        for e in node.entries() {
            let value = if e.value.is_null() {
                String::new()
            } else {
                e.value
                    .as_str()
                    .ok_or_else(|| self.error(e.key_pos, "label values must be strings"))?
                    .to_string()
            };
            labels.insert(e.key.clone(), value);
        }
        Ok(labels)
    }

    fn selector(&self, node: &Node) -> Result<Selector, InputError> {
        if node.is_null() {
            return Ok(Selector::everything());
        }
        if !node.is_map() {
            return Err(self.error(node.pos, "a label selector must be a mapping"));
        }
        let mut match_labels = Vec::new();
        if let Some(ml) = node.get("matchLabels") {
            for e in ml.entries() {
                let v = if e.value.is_null() { "" } else { e.value.as_str().unwrap_or("") };
                match_labels.push((e.key.clone(), v.to_string()));
            }
        }
        let mut expressions = Vec::new();
        for expr in self.list(node, "matchExpressions")? {
            let key = self.text(expr, "key")?.unwrap_or_default();
            let op = self.text(expr, "operator")?.unwrap_or_default();
            let values = self
                .list(expr, "values")?
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| self.error(v.pos, "values must be strings"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            expressions.push((key, op, values));
        }
        Selector::new(match_labels, expressions)
            .map_err(|m| self.error(node.pos, format!("selector error: {m}")))
    }

    fn optional_selector(&self, node: &Node, key: &str) -> Result<Option<Selector>, InputError> {
        match node.entry(key) {
            None => Ok(None),
            Some(e) if e.value.is_null() => Ok(None),
            Some(e) => self.selector(&e.value).map(Some),
        }
    }

    fn protocol(&self, node: &Node, key: &str) -> Result<Protocol, InputError> {
        match self.text(node, key)? {
            None => Ok(Protocol::Tcp),
            Some(p) if p.is_empty() => Ok(Protocol::Tcp),
            Some(p) => Protocol::parse(&p).ok_or_else(|| {
                self.error(node.key_pos(key), format!("unsupported protocol {p:?} (TCP, UDP or SCTP)"))
            }),
        }
    }

    fn namespace_object(&self) -> Result<Namespace, InputError> {
        let name = self.name().to_string();
        let mut labels = self.labels(self.obj.metadata().and_then(|m| m.get("labels")))?;
        if labels.get(NAMESPACE_NAME_LABEL).is_none() {
            labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.clone());
        }
        Ok(Namespace { name, labels, origin: Some(self.origin(self.obj.root.pos)) })
    }

    fn container_ports(&self, spec: Option<&Node>) -> Result<Vec<ContainerPort>, InputError> {
        let Some(spec) = spec else { return Ok(Vec::new()) };
        let mut ports = Vec::new();
        for container in self.list(spec, "containers")? {
            for p in self.list(container, "ports")? {
                let port = self.int(p, "containerPort")?.unwrap_or(0);
                let protocol = match self.text(p, "protocol")? {
                    None => Some(Protocol::Tcp),
                    Some(t) if t.is_empty() => Some(Protocol::Tcp),
                    Some(t) => Protocol::parse(&t),
                };
                ports.push(ContainerPort { name: self.text(p, "name")?.unwrap_or_default(), port, protocol });
            }
        }
        Ok(ports)
    }

    fn secondary_networks(
        &self,
        metadata: Option<&Node>,
    ) -> Result<BTreeMap<String, SecondaryNetwork>, InputError> {
        let mut nets = BTreeMap::new();
        let Some(value) =
            metadata.and_then(|m| m.get("annotations")).and_then(|a| a.get(NETWORKS_ANNOTATION))
        else {
            return Ok(nets);
        };
        let text = value.as_str().unwrap_or("");
        if text.is_empty() {
            return Ok(nets);
        }
        if text.contains(['[', '{', '"']) {
            let parsed: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                self.error(value.pos, format!("annotation {NETWORKS_ANNOTATION} is not valid JSON: {e}"))
            })?;
            for item in parsed.as_array().into_iter().flatten() {
                let name = item.get("name").and_then(|v| v.as_str()).unwrap_or("");
                if name.is_empty() {
                    continue;
                }
                let namespace = item.get("namespace").and_then(|v| v.as_str()).unwrap_or("").to_string();
                let ips = item
                    .get("ips")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                nets.insert(name.to_string(), SecondaryNetwork { name: name.to_string(), namespace, ips });
            }
        } else {
            for part in text.split(',') {
                let network = part.trim().split('@').next().unwrap_or("");
                let (namespace, name) = match network.split_once('/') {
                    Some((ns, n)) => (ns.to_string(), n.to_string()),
                    None => (String::new(), network.to_string()),
                };
                nets.insert(name.clone(), SecondaryNetwork { name, namespace, ips: Vec::new() });
            }
        }
        Ok(nets)
    }

    /// A Pod; `None` for KubeVirt launcher pods (their VirtualMachine is the workload).
    fn pod(&self) -> Result<Option<PodRecord>, InputError> {
        let name = self.name().to_string();
        if name.starts_with("virt-launcher-") {
            return Ok(None);
        }
        let metadata = self.obj.metadata();
        let mut owner: Option<(String, String)> = None;
        if let Some(refs) = metadata {
            for r in self.list(refs, "ownerReferences")? {
                if r.get("controller").and_then(Node::as_bool) == Some(true) {
                    let kind = self.text(r, "kind")?.unwrap_or_default();
                    if kind != "Node" {
                        owner = Some((
                            if kind.is_empty() { "Pod".to_string() } else { kind },
                            self.text(r, "name")?.unwrap_or_default(),
                        ));
                    }
                    break;
                }
            }
        }
        let owned = owner.is_some();
        let (kind, wl_name) = owner.unwrap_or_else(|| ("Pod".to_string(), name));
        let workload = Workload {
            namespace: self.namespace(),
            name: wl_name,
            kind,
            labels: self.labels(metadata.and_then(|m| m.get("labels")))?,
            ports: self.container_ports(self.obj.root.get("spec"))?,
            secondary: self.secondary_networks(metadata)?,
            origin: self.origin(self.obj.root.pos),
        };
        Ok(Some(PodRecord { workload, owned }))
    }

    /// A workload with a pod template (or a VirtualMachine) and its replica count.
    fn workload(&self) -> Result<(Workload, i64), InputError> {
        let kind = self.obj.kind();
        let root = &self.obj.root;
        let template = match kind {
            "CronJob" => root.path(&["spec", "jobTemplate", "spec", "template"]),
            _ => root.path(&["spec", "template"]),
        };
        let replicas = match kind {
            "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController" => {
                root.get("spec").map(|s| self.int(s, "replicas")).transpose()?.flatten().unwrap_or(1)
            }
            "Job" => root.get("spec").map(|s| self.int(s, "parallelism")).transpose()?.flatten().unwrap_or(1),
            _ => 1,
        };
        let metadata = template.and_then(|t| t.get("metadata"));
        let spec = template.and_then(|t| t.get("spec"));
        let (ports, secondary) = if kind == "VirtualMachine" {
            (Vec::new(), self.vm_networks(spec)?)
        } else {
            (self.container_ports(spec)?, self.secondary_networks(metadata)?)
        };
        let workload = Workload {
            namespace: self.namespace(),
            name: self.name().to_string(),
            kind: kind.to_string(),
            labels: self.labels(metadata.and_then(|m| m.get("labels")))?,
            ports,
            secondary,
            origin: self.origin(root.pos),
        };
        Ok((workload, replicas))
    }

    /// Multus networks of a VirtualMachine template, with the addresses its cloud-init
    /// network data gives to interfaces other than `eth0`.
    fn vm_networks(&self, spec: Option<&Node>) -> Result<BTreeMap<String, SecondaryNetwork>, InputError> {
        let mut nets = BTreeMap::new();
        let Some(spec) = spec else { return Ok(nets) };
        let mut ips = Vec::new();
        for volume in self.list(spec, "volumes")? {
            let Some(data) = volume.path(&["cloudInitNoCloud", "networkData"]).and_then(Node::as_str) else {
                continue;
            };
            let mut interface = "";
            for line in data.lines() {
                let line = line.trim();
                if let Some(name) = line.strip_suffix(':') {
                    interface = name;
                    continue;
                }
                if !interface.is_empty() && interface != "eth0" {
                    ips.extend(cidrs_in(line));
                }
            }
        }
        for network in self.list(spec, "networks")? {
            if let Some(full) = network.path(&["multus", "networkName"]).and_then(Node::as_str) {
                let (namespace, name) = match full.split_once('/') {
                    Some((ns, n)) => (ns.to_string(), n.to_string()),
                    None => (String::new(), full.to_string()),
                };
                nets.insert(full.to_string(), SecondaryNetwork { name, namespace, ips: ips.clone() });
            }
        }
        Ok(nets)
    }

    fn spec(&self) -> Option<&'a Node> {
        self.obj.root.get("spec")
    }

    fn network_policy(&self, multi: bool) -> Result<NetworkPolicy, InputError> {
        let empty = Node::null(self.obj.root.pos);
        let spec = self.spec().unwrap_or(&empty);
        let pod_selector = self.optional_selector(spec, "podSelector")?.unwrap_or_default();
        let ingress = self.rules(spec, "ingress", "from")?;
        let egress = self.rules(spec, "egress", "to")?;
        let types = self.list(spec, "policyTypes")?;
        let (affects_ingress, affects_egress) = if types.is_empty() {
            (true, !egress.is_empty())
        } else {
            let mut flags = (false, false);
            for t in types {
                match t.as_str() {
                    Some("Ingress") => flags.0 = true,
                    Some("Egress") => flags.1 = true,
                    other => {
                        return Err(self.error(
                            t.pos,
                            format!("unknown policyType {:?} (Ingress or Egress)", other.unwrap_or("")),
                        ))
                    }
                }
            }
            flags
        };
        let policy_for =
            if multi { self.obj.annotation(POLICY_FOR_ANNOTATION).map(str::to_string) } else { None };
        Ok(NetworkPolicy {
            namespace: self.namespace(),
            name: self.name().to_string(),
            pod_selector,
            affects_ingress,
            affects_egress,
            ingress,
            egress,
            policy_for,
            origin: self.origin(self.obj.root.pos),
        })
    }

    fn rules(&self, spec: &Node, key: &str, peers_key: &str) -> Result<Vec<Rule>, InputError> {
        let mut rules = Vec::new();
        for rule in self.list(spec, key)? {
            let mut peers = Vec::new();
            for peer in self.list(rule, peers_key)? {
                peers.push(self.rule_peer(peer)?);
            }
            let mut ports = Vec::new();
            for port in self.list(rule, "ports")? {
                ports.push(self.rule_port(port)?);
            }
            rules.push(Rule { peers, ports, origin: self.origin(rule.pos) });
        }
        Ok(rules)
    }

    fn rule_peer(&self, peer: &Node) -> Result<RulePeer, InputError> {
        let namespaces = self.optional_selector(peer, "namespaceSelector")?;
        let pods = self.optional_selector(peer, "podSelector")?;
        let ip_block = peer.get("ipBlock");
        match (namespaces.is_some() || pods.is_some(), ip_block) {
            (false, None) => {
                Err(self.error(peer.pos, "rule peer is empty: set podSelector, namespaceSelector or ipBlock"))
            }
            (true, Some(_)) => Err(self.error(
                peer.pos,
                "rule peer sets ipBlock together with podSelector/namespaceSelector; use separate peers",
            )),
            (true, None) => Ok(RulePeer::Selectors { namespaces, pods }),
            (false, Some(block)) => {
                let cidr = self.text(block, "cidr")?.unwrap_or_default();
                let mut set = self.cidr(&cidr, block.key_pos("cidr"))?;
                for except in self.list(block, "except")? {
                    let text = except.as_str().unwrap_or("");
                    set = set.subtract(&self.cidr(text, except.pos)?);
                }
                Ok(RulePeer::IpBlock(set))
            }
        }
    }

    fn cidr(&self, text: &str, pos: Pos) -> Result<IpSet, InputError> {
        match IpSet::from_cidr(text) {
            Ok(set) => Ok(set),
            // The analysis covers IPv4: an IPv6 block selects none of its endpoints.
            Err(CidrError::Ipv6(_)) if is_valid_ipv6_cidr(text) => {
                self.warnings.borrow_mut().push(
                    self.error(pos, format!("IPv6 block {text:?} ignored (the analysis covers IPv4 only)")),
                );
                Ok(IpSet::empty())
            }
            Err(e) => Err(self.error(pos, e.to_string())),
        }
    }

    fn rule_port(&self, port: &Node) -> Result<RulePort, InputError> {
        let protocol = self.protocol(port, "protocol")?;
        let end = self.int(port, "endPort")?;
        let spec = match self.int_or_string(port, "port")? {
            None => PortSpec::Any,
            Some(IntOrString::String(name)) => {
                if end.is_some() {
                    return Err(
                        self.error(port.key_pos("endPort"), "endPort may not be used with a named port")
                    );
                }
                PortSpec::Named(name)
            }
            Some(IntOrString::Int(start)) => {
                let end = end.unwrap_or(start);
                if start < i64::from(MIN_PORT) || end > i64::from(MAX_PORT) || end < start {
                    return Err(self.error(
                        port.key_pos("port"),
                        format!("illegal port range {start}-{end} (ports are 1-65535, endPort >= port)"),
                    ));
                }
                PortSpec::Range(start as u32, end as u32)
            }
        };
        Ok(RulePort { protocol, port: spec })
    }

    fn admin_policy(&self, baseline: bool) -> Result<AdminPolicy, InputError> {
        let empty = Node::null(self.obj.root.pos);
        let spec = self.spec().unwrap_or(&empty);
        let priority = if baseline { 0 } else { self.int(spec, "priority")?.unwrap_or(0) };
        let subject_node = spec.get("subject").unwrap_or(&empty);
        let subject = self.admin_pods(subject_node, "subject")?;
        let ingress = self.admin_rules(spec, "ingress", "from", baseline)?;
        let egress = self.admin_rules(spec, "egress", "to", baseline)?;
        Ok(AdminPolicy {
            name: self.name().to_string(),
            priority,
            subject,
            ingress,
            egress,
            origin: self.origin(self.obj.root.pos),
        })
    }

    /// `namespaces` xor `pods`.
    fn admin_pods(&self, node: &Node, what: &str) -> Result<AdminPods, InputError> {
        let namespaces = node.get("namespaces");
        let pods = node.get("pods");
        match (namespaces, pods) {
            (Some(ns), None) => Ok(AdminPods::Namespaces(self.selector(ns)?)),
            (None, Some(p)) => Ok(AdminPods::Pods {
                namespaces: p
                    .get("namespaceSelector")
                    .map(|s| self.selector(s))
                    .transpose()?
                    .unwrap_or_default(),
                pods: p.get("podSelector").map(|s| self.selector(s)).transpose()?.unwrap_or_default(),
            }),
            _ => Err(self.error(node.pos, format!("{what} must set exactly one of `namespaces` and `pods`"))),
        }
    }

    fn admin_rules(
        &self,
        spec: &Node,
        key: &str,
        peers_key: &str,
        baseline: bool,
    ) -> Result<Vec<AdminRule>, InputError> {
        let mut rules = Vec::new();
        for rule in self.list(spec, key)? {
            let name = self.text(rule, "name")?.unwrap_or_default();
            let action = match self.text(rule, "action")?.as_deref() {
                Some("Allow") => Action::Allow,
                Some("Deny") => Action::Deny,
                Some("Pass") if !baseline => Action::Pass,
                other => {
                    let allowed = if baseline { "Allow or Deny" } else { "Allow, Deny or Pass" };
                    return Err(self.error(
                        rule.key_pos("action"),
                        format!("rule {name:?}: unknown action {:?} ({allowed})", other.unwrap_or("")),
                    ));
                }
            };
            let peer_nodes = self.list(rule, peers_key)?;
            if peer_nodes.is_empty() {
                return Err(
                    self.error(rule.pos, format!("rule {name:?}: `{peers_key}` must list at least one peer"))
                );
            }
            let mut peers = Vec::new();
            for p in peer_nodes {
                peers.push(self.admin_peer(p, key == "egress", &name)?);
            }
            let ports = match rule.get("ports") {
                None => None,
                Some(_) => {
                    let mut ports = Vec::new();
                    for p in self.list(rule, "ports")? {
                        ports.push(self.admin_port(p, &name)?);
                    }
                    Some(ports)
                }
            };
            rules.push(AdminRule { name, action, peers, ports, origin: self.origin(rule.pos) });
        }
        Ok(rules)
    }

    fn admin_peer(&self, node: &Node, egress: bool, rule: &str) -> Result<AdminPeer, InputError> {
        let set: Vec<&str> = ["namespaces", "pods", "nodes", "networks"]
            .into_iter()
            .filter(|k| node.get(k).is_some())
            .collect();
        let allowed_ok = egress || set.iter().all(|k| *k == "namespaces" || *k == "pods");
        if set.len() != 1 || !allowed_ok {
            let fields =
                if egress { "`namespaces`, `pods`, `nodes` or `networks`" } else { "`namespaces` or `pods`" };
            return Err(
                self.error(node.pos, format!("rule {rule:?}: a peer must set exactly one of {fields}"))
            );
        }
        match set[0] {
            "nodes" => Ok(AdminPeer::Nodes),
            "networks" => {
                let mut blocks = Vec::new();
                for cidr in self.list(node, "networks")? {
                    let text = cidr.as_str().unwrap_or("");
                    match IpSet::from_cidr(text) {
                        Ok(b) => blocks.push(b),
                        Err(CidrError::Ipv6(_)) => {
                            if !is_valid_ipv6_cidr(text) {
                                return Err(self.error(
                                    cidr.pos,
                                    format!("rule {rule:?}: invalid CIDR address {text:?}"),
                                ));
                            }
                        }
                        Err(_) => {
                            return Err(
                                self.error(cidr.pos, format!("rule {rule:?}: invalid CIDR address {text:?}"))
                            )
                        }
                    }
                }
                Ok(AdminPeer::Networks(blocks))
            }
            _ => self.admin_pods(node, &format!("rule {rule:?} peer")).map(AdminPeer::Pods),
        }
    }

    fn admin_port(&self, node: &Node, rule: &str) -> Result<AdminPort, InputError> {
        let set: Vec<&str> =
            ["portNumber", "namedPort", "portRange"].into_iter().filter(|k| node.get(k).is_some()).collect();
        if set.len() != 1 {
            return Err(self.error(
                node.pos,
                format!(
                    "rule {rule:?}: a port must set exactly one of `portNumber`, `namedPort` and `portRange`"
                ),
            ));
        }
        match set[0] {
            "portNumber" => {
                let p = node.get("portNumber").expect("checked above");
                let port = self.int(p, "port")?.unwrap_or(0);
                Ok(AdminPort::Number(
                    self.protocol(p, "protocol")?,
                    port.clamp(0, i64::from(u32::MAX)) as u32,
                ))
            }
            "namedPort" => Ok(AdminPort::Named(self.text(node, "namedPort")?.unwrap_or_default())),
            _ => {
                let r = node.get("portRange").expect("checked above");
                let start = self.int(r, "start")?.unwrap_or(0);
                let end = self.int(r, "end")?.unwrap_or(0);
                if start < i64::from(MIN_PORT) || end > i64::from(MAX_PORT) || end < start {
                    return Err(self.error(
                        r.pos,
                        format!("rule {rule:?}: illegal port range {start}-{end} (ports are 1-65535, end >= start)"),
                    ));
                }
                Ok(AdminPort::Range(self.protocol(r, "protocol")?, start as u32, end as u32))
            }
        }
    }

    fn service(&self) -> Result<Service, InputError> {
        let empty = Node::null(self.obj.root.pos);
        let spec = self.spec().unwrap_or(&empty);
        let selector = match spec.get("selector") {
            None => None,
            Some(s) => Some(self.labels(Some(s))?),
        };
        let mut ports = Vec::new();
        for p in self.list(spec, "ports")? {
            ports.push(ServicePort {
                name: self.text(p, "name")?.unwrap_or_default(),
                port: self.int(p, "port")?.unwrap_or(0),
                target_port: self.int_or_string(p, "targetPort")?,
            });
        }
        Ok(Service {
            namespace: self.namespace(),
            name: self.name().to_string(),
            selector,
            ports,
            origin: self.origin(self.obj.root.pos),
        })
    }

    fn route(&self) -> Result<IngressResource, InputError> {
        let empty = Node::null(self.obj.root.pos);
        let spec = self.spec().unwrap_or(&empty);
        let port = spec.get("port").map(|p| self.int_or_string(p, "targetPort")).transpose()?.flatten();
        let mut backends = Vec::new();
        let targets = spec.get("to").into_iter().chain(self.list(spec, "alternateBackends")?.iter());
        for target in targets {
            let kind = self.text(target, "kind")?.unwrap_or_default();
            if kind.is_empty() || kind == "Service" {
                backends.push((self.text(target, "name")?.unwrap_or_default(), port.clone()));
            }
        }
        Ok(IngressResource {
            kind: "Route",
            namespace: self.namespace(),
            name: self.name().to_string(),
            backends,
            origin: self.origin(self.obj.root.pos),
        })
    }

    fn ingress(&self) -> Result<IngressResource, InputError> {
        let empty = Node::null(self.obj.root.pos);
        let spec = self.spec().unwrap_or(&empty);
        let mut backends = Vec::new();
        let service_backend = |backend: &Node| -> Result<Option<(String, Option<IntOrString>)>, InputError> {
            let Some(service) = backend.get("service") else { return Ok(None) };
            let name = self.text(service, "name")?.unwrap_or_default();
            let port = match service.get("port") {
                None => Some(IntOrString::Int(0)),
                Some(p) => match self.text(p, "name")? {
                    Some(n) if !n.is_empty() => Some(IntOrString::String(n)),
                    _ => Some(IntOrString::Int(self.int(p, "number")?.unwrap_or(0))),
                },
            };
            Ok(Some((name, port.filter(|p| *p != IntOrString::Int(0)))))
        };
        if let Some(default) = spec.get("defaultBackend") {
            backends.extend(service_backend(default)?);
        }
        for rule in self.list(spec, "rules")? {
            let Some(http) = rule.get("http") else { continue };
            for path in self.list(http, "paths")? {
                if let Some(backend) = path.get("backend") {
                    backends.extend(service_backend(backend)?);
                }
            }
        }
        Ok(IngressResource {
            kind: "Ingress",
            namespace: self.namespace(),
            name: self.name().to_string(),
            backends,
            origin: self.origin(self.obj.root.pos),
        })
    }

    fn user_network(&self, cluster: bool) -> Result<UserNetwork, InputError> {
        let empty = Node::null(self.obj.root.pos);
        let spec = self.spec().unwrap_or(&empty);
        let net = if cluster { spec.get("network").unwrap_or(&empty) } else { spec };
        let topology = self.text(net, "topology")?.unwrap_or_default();
        let (layer2, layer3) = (net.get("layer2"), net.get("layer3"));
        if topology != "Layer2" && topology != "Layer3" {
            return Err(self.error(
                net.key_pos("topology"),
                format!("invalid value {topology:?} for key \"topology\" (Layer2 or Layer3)"),
            ));
        }
        if (topology == "Layer2" && layer3.is_some()) || (topology == "Layer3" && layer2.is_some()) {
            return Err(self.error(
                net.key_pos("topology"),
                format!("topology {topology} does not match the layer configuration"),
            ));
        }
        let mut primary = false;
        for layer in [layer2, layer3].into_iter().flatten() {
            match self.text(layer, "role")?.as_deref() {
                Some("Primary") => primary = true,
                Some("Secondary") => {}
                other => {
                    return Err(self.error(
                        layer.key_pos("role"),
                        format!(
                            "invalid value {:?} for key \"role\" (Primary or Secondary)",
                            other.unwrap_or("")
                        ),
                    ))
                }
            }
        }
        let origin = self.origin(self.obj.root.pos);
        if cluster {
            let namespaces =
                spec.get("namespaceSelector").map(|s| self.selector(s)).transpose()?.unwrap_or_default();
            Ok(UserNetwork::Cudn { name: self.name().to_string(), primary, namespaces, origin })
        } else {
            if self.name() == "default" {
                return Err(self.error(self.name_pos(), "a UserDefinedNetwork may not be named \"default\""));
            }
            Ok(UserNetwork::Udn {
                namespace: self.namespace(),
                name: self.name().to_string(),
                primary,
                origin,
            })
        }
    }
}

/// Whether `text` is a syntactically valid IPv6 CIDR (which the analysis then ignores).
fn is_valid_ipv6_cidr(text: &str) -> bool {
    let Some((addr, bits)) = text.split_once('/') else { return false };
    bits.parse::<u8>().is_ok_and(|b| b <= 128) && addr.parse::<std::net::Ipv6Addr>().is_ok()
}

/// IPv4 CIDRs (`a.b.c.d/n`) in a line of text.
fn cidrs_in(line: &str) -> Vec<String> {
    line.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '/'))
        .filter(|w| w.contains('/') && IpSet::from_cidr(w).is_ok())
        .map(str::to_string)
        .collect()
}
