//! The reachability computation.
//!
//! Every selector that any policy uses (policy subjects and rule peers) becomes an *atom*;
//! each workload gets the bit set of atoms it satisfies. Workloads with equal bits, equal
//! resolutions of the named ports policies mention, and the same networks behave alike as
//! sources and as destinations, so connectivity is computed once per pair of such classes.
//!
//! Per direction, the layers are evaluated as the network-policy API defines them:
//! AdminNetworkPolicies by priority (first matching rule of each policy decides; `Pass`
//! delegates), then NetworkPolicies when any selects the pod, else the baseline policy,
//! else allow. A connection needs egress allowed at the source and ingress at the
//! destination.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use rayon::prelude::*;

use crate::ipv4::{disjoint_blocks, IpSet};
use crate::model::*;
use crate::parse::implicit_namespace;
use crate::ports::{ConnSet, PortSet, Protocol, MAX_PORT, MIN_PORT};
use crate::selector::{Labels, Selector};

mod explain;
mod representative;
mod testplan;

pub use explain::{DirectionReasons, Explanation, Exposure};
pub use testplan::{test_plan_yaml, Expected, Probe, TestPlan};

/// Name of the pseudo-pod that stands for the cluster's ingress controller.
pub const INGRESS_CONTROLLER: &str = "ingress-controller";
/// Namespace of the ingress controller pseudo-pod.
pub const INGRESS_CONTROLLER_NAMESPACE: &str = "ingress-controller-ns";

/// A network connections are analysed in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Network {
    /// The cluster's default pod network.
    PodNetwork,
    /// A primary UserDefinedNetwork (named after its namespace).
    Udn(String),
    /// A primary ClusterUserDefinedNetwork.
    Cudn(String),
    /// A secondary network (NetworkAttachmentDefinition name).
    Nad(String),
}

impl Network {
    fn of_primary(primary: &PrimaryNetwork) -> Network {
        match primary {
            PrimaryNetwork::PodNetwork => Network::PodNetwork,
            PrimaryNetwork::Udn(n) => Network::Udn(n.clone()),
            PrimaryNetwork::Cudn(n) => Network::Cudn(n.clone()),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::PodNetwork => f.write_str("pod-network"),
            Network::Udn(n) => write!(f, "{n}[UDN]"),
            Network::Cudn(n) => write!(f, "{n}[CUDN]"),
            Network::Nad(n) => write!(f, "{n}[NAD]"),
        }
    }
}

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// A workload (index into [`Reachability::workloads`]).
    Workload(usize),
    /// An external address block (index into [`Reachability::ip_blocks`]).
    IpBlock(usize),
    /// The cluster's ingress controller (from Ingress/Route analysis).
    IngressController,
}

/// An allowed connection between two endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Source.
    pub src: Endpoint,
    /// Destination.
    pub dst: Endpoint,
    /// What is allowed.
    pub conns: ConnSet,
    /// The network it is allowed in.
    pub network: Network,
}

/// Connections from every member of one class to every member of another.
#[derive(Debug, Clone)]
struct ClassEdge {
    src: ClassEnd,
    dst: ClassEnd,
    conns: ConnSet,
    network: Network,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClassEnd {
    Class(usize),
    Ip(usize),
}

/// The computed reachability.
#[derive(Debug, Clone)]
pub struct Reachability {
    /// The resources analysed.
    pub resources: Resources,
    /// External address blocks that appear as endpoints (sources and destinations).
    pub ip_blocks: Vec<IpSet>,
    /// Workload indexes of each equivalence class.
    classes: Vec<Vec<usize>>,
    edges: Vec<ClassEdge>,
    /// Connections from the ingress controller (Ingress/Route analysis).
    ingress_edges: Vec<Connection>,
    /// Remarks from the analysis (unmatched named ports, ignored fields).
    pub warnings: Vec<String>,
}

impl Reachability {
    /// The workloads (endpoints of [`Endpoint::Workload`]).
    pub fn workloads(&self) -> &[Workload] {
        &self.resources.workloads
    }

    /// Number of equivalence classes the workloads fell into.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Every allowed connection between distinct endpoints (expanding the classes).
    pub fn connections(&self) -> impl Iterator<Item = Connection> + '_ {
        let expand = move |end: ClassEnd| -> Vec<Endpoint> {
            match end {
                ClassEnd::Class(c) => self.classes[c].iter().map(|&w| Endpoint::Workload(w)).collect(),
                ClassEnd::Ip(i) => vec![Endpoint::IpBlock(i)],
            }
        };
        self.edges
            .iter()
            .flat_map(move |edge| {
                let srcs = expand(edge.src);
                let dsts = expand(edge.dst);
                srcs.into_iter().flat_map(move |s| {
                    let dsts = dsts.clone();
                    dsts.into_iter().filter(move |&d| d != s).map(move |d| Connection {
                        src: s,
                        dst: d,
                        conns: edge.conns.clone(),
                        network: edge.network.clone(),
                    })
                })
            })
            .chain(self.ingress_edges.iter().cloned())
    }

    /// Number of connections [`Reachability::connections`] yields, without building them.
    pub fn connection_count(&self) -> usize {
        let size = |end: ClassEnd| match end {
            ClassEnd::Class(c) => self.classes[c].len(),
            ClassEnd::Ip(_) => 1,
        };
        self.edges
            .iter()
            .map(|e| {
                let n = size(e.src) * size(e.dst);
                if e.src == e.dst {
                    n - size(e.src)
                } else {
                    n
                }
            })
            .sum::<usize>()
            + self.ingress_edges.len()
    }

    /// How an endpoint is written: `ns/name[Kind]`, `a.b.c.d-e.f.g.h[External]`,
    /// `{ingress-controller}`.
    pub fn endpoint_name(&self, end: Endpoint) -> String {
        match end {
            Endpoint::Workload(w) => self.resources.workloads[w].display(),
            Endpoint::IpBlock(i) => format!("{}[External]", self.ip_blocks[i]),
            Endpoint::IngressController => format!("{{{INGRESS_CONTROLLER}}}"),
        }
    }

    /// The primary network of a workload.
    pub fn primary_network(&self, workload: usize) -> Network {
        let ns = &self.resources.workloads[workload].namespace;
        self.resources.primary_networks.get(ns).map_or(Network::PodNetwork, Network::of_primary)
    }
}

/// How a workload resolves the named ports the policies mention (in their sorted order).
type NamedPorts = Vec<Option<(Option<Protocol>, i64)>>;

/// A pod predicate: the namespace condition and the pod selector of a policy subject or
/// rule peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Predicate {
    namespaces: NsCondition,
    pods: Option<Selector>,
    /// MultiNetworkPolicy selectors never select VirtualMachines.
    exclude_vms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NsCondition {
    Named(String),
    Selector(Selector),
}

#[derive(Default)]
struct Atoms {
    index: HashMap<Predicate, usize>,
    list: Vec<Predicate>,
}

impl Atoms {
    fn add(&mut self, p: Predicate) -> usize {
        if let Some(&i) = self.index.get(&p) {
            return i;
        }
        let i = self.list.len();
        self.index.insert(p.clone(), i);
        self.list.push(p);
        i
    }

    fn admin(&mut self, pods: &AdminPods) -> usize {
        match pods {
            AdminPods::Namespaces(ns) => self.add(Predicate {
                namespaces: NsCondition::Selector(ns.clone()),
                pods: None,
                exclude_vms: false,
            }),
            AdminPods::Pods { namespaces, pods } => self.add(Predicate {
                namespaces: NsCondition::Selector(namespaces.clone()),
                pods: Some(pods.clone()),
                exclude_vms: false,
            }),
        }
    }
}

#[derive(Debug)]
enum CPeer {
    Atom(usize),
    Ip(IpSet),
}

#[derive(Debug)]
struct CRule<'r> {
    /// `None`: every peer.
    peers: Option<Vec<CPeer>>,
    /// A port is named (resolved against the destination).
    has_named: bool,
    rule: &'r Rule,
}

#[derive(Debug)]
struct CPolicy<'r> {
    subject: usize,
    ingress: Vec<CRule<'r>>,
    egress: Vec<CRule<'r>>,
    policy: &'r NetworkPolicy,
}

#[derive(Debug)]
enum CAdminPeer {
    Atom(usize),
    Networks(Vec<IpSet>),
    Nodes,
}

#[derive(Debug)]
struct CAdminRule<'r> {
    peers: Vec<CAdminPeer>,
    has_named: bool,
    rule: &'r AdminRule,
}

/// A rule of any layer.
#[derive(Clone, Copy)]
enum AnyRule<'s> {
    Np(&'s CRule<'s>),
    Admin(&'s CAdminRule<'s>),
}

/// Which rules (in evaluation order) select a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Matched {
    bits: Vec<u64>,
    /// One of the matched rules has a named port.
    named: bool,
}

/// [`Matched`] bits as a table key without allocating for up to 64 rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MatchKey {
    Small(u64),
    Large(Box<[u64]>),
}

impl MatchKey {
    fn words(&self) -> &[u64] {
        match self {
            MatchKey::Small(w) => std::slice::from_ref(w),
            MatchKey::Large(ws) => ws,
        }
    }
}

/// A fast hasher for the small integer keys of the memo tables (FxHash's mixing).
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

#[derive(Debug)]
struct CAdmin<'r> {
    subject: usize,
    ingress: Vec<CAdminRule<'r>>,
    egress: Vec<CAdminRule<'r>>,
}

/// A pod as the evaluation sees it.
#[derive(Clone, Copy)]
struct PodRef<'a> {
    bits: &'a [u64],
    /// `None` for the ingress controller pseudo-pod and for representative pods.
    workload: Option<&'a Workload>,
    /// A pod standing for pods a selector admits (`--exposure`): named ports stay names.
    representative: bool,
}

impl PodRef<'_> {
    fn has(&self, atom: usize) -> bool {
        self.bits[atom / 64] >> (atom % 64) & 1 == 1
    }

    fn named_port(&self, name: &str) -> Option<(Option<Protocol>, i64)> {
        self.workload.and_then(|w| w.named_port(name))
    }
}

#[derive(Clone, Copy)]
enum PeerRef<'a> {
    Pod(PodRef<'a>),
    Ip(&'a IpSet),
}

impl PeerRef<'_> {
    fn pod(&self) -> Option<PodRef<'_>> {
        match self {
            PeerRef::Pod(p) => Some(*p),
            PeerRef::Ip(_) => None,
        }
    }
}

/// What the compiled policies of one direction are for a given subject pod.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
struct Capture {
    /// NetworkPolicies selecting the pod for ingress / egress.
    np_ingress: Vec<usize>,
    np_egress: Vec<usize>,
    /// AdminNetworkPolicies (priority order) selecting the pod for ingress / egress.
    anp_ingress: Vec<usize>,
    anp_egress: Vec<usize>,
    banp_ingress: bool,
    banp_egress: bool,
}

struct Compiled<'r> {
    atoms: Atoms,
    policies: Vec<CPolicy<'r>>,
    admins: Vec<CAdmin<'r>>,
    baseline: Option<CAdmin<'r>>,
    multi: Vec<CPolicy<'r>>,
    named_ports: Vec<String>,
}

fn compile(res: &Resources) -> Compiled<'_> {
    let mut atoms = Atoms::default();
    let mut named: BTreeMap<String, ()> = BTreeMap::new();
    let policies: Vec<CPolicy<'_>> =
        res.network_policies.iter().map(|np| compile_np(&mut atoms, &mut named, np, false)).collect();
    let multi: Vec<CPolicy<'_>> =
        res.multi_network_policies.iter().map(|np| compile_np(&mut atoms, &mut named, np, true)).collect();
    let admins: Vec<CAdmin<'_>> =
        res.admin_policies.iter().map(|p| compile_admin(&mut atoms, &mut named, p)).collect();
    let baseline = res.baseline.as_ref().map(|p| compile_admin(&mut atoms, &mut named, p));
    Compiled { atoms, policies, admins, baseline, multi, named_ports: named.into_keys().collect() }
}

fn compile_np<'r>(
    atoms: &mut Atoms,
    named: &mut BTreeMap<String, ()>,
    np: &'r NetworkPolicy,
    multi: bool,
) -> CPolicy<'r> {
    let subject = atoms.add(Predicate {
        namespaces: NsCondition::Named(np.namespace.clone()),
        pods: Some(np.pod_selector.clone()),
        exclude_vms: false,
    });
    let mut rules = |list: &'r [Rule]| -> Vec<CRule<'r>> {
        list.iter()
            .map(|rule| {
                for p in &rule.ports {
                    if let PortSpec::Named(n) = &p.port {
                        named.insert(n.clone(), ());
                    }
                }
                let peers = (!rule.peers.is_empty()).then(|| {
                    rule.peers
                        .iter()
                        .map(|peer| match peer {
                            RulePeer::IpBlock(set) => CPeer::Ip(set.clone()),
                            RulePeer::Selectors { namespaces, pods } => CPeer::Atom(atoms.add(Predicate {
                                namespaces: match namespaces {
                                    Some(sel) => NsCondition::Selector(sel.clone()),
                                    None => NsCondition::Named(np.namespace.clone()),
                                },
                                pods: pods.clone(),
                                exclude_vms: multi,
                            })),
                        })
                        .collect()
                });
                let has_named = rule.ports.iter().any(|p| matches!(p.port, PortSpec::Named(_)));
                CRule { peers, has_named, rule }
            })
            .collect()
    };
    let ingress = rules(&np.ingress);
    let egress = rules(&np.egress);
    CPolicy { subject, ingress, egress, policy: np }
}

fn compile_admin<'r>(atoms: &mut Atoms, named: &mut BTreeMap<String, ()>, p: &'r AdminPolicy) -> CAdmin<'r> {
    let subject = atoms.admin(&p.subject);
    let mut rules = |list: &'r [AdminRule]| -> Vec<CAdminRule<'r>> {
        list.iter()
            .map(|rule| {
                for port in rule.ports.iter().flatten() {
                    if let AdminPort::Named(n) = port {
                        named.insert(n.clone(), ());
                    }
                }
                let peers = rule
                    .peers
                    .iter()
                    .map(|peer| match peer {
                        AdminPeer::Pods(pods) => CAdminPeer::Atom(atoms.admin(pods)),
                        AdminPeer::Networks(blocks) => CAdminPeer::Networks(blocks.clone()),
                        AdminPeer::Nodes => CAdminPeer::Nodes,
                    })
                    .collect();
                let has_named = rule.ports.iter().flatten().any(|p| matches!(p, AdminPort::Named(_)));
                CAdminRule { peers, has_named, rule }
            })
            .collect()
    };
    let ingress = rules(&p.ingress);
    let egress = rules(&p.egress);
    CAdmin { subject, ingress, egress }
}

/// The pods the analysis iterates: the workloads, then the ingress controller pseudo-pod.
struct Universe<'a> {
    res: &'a Resources,
    words: usize,
    /// Atom bits, `words` per pod; the last pod is the ingress controller.
    bits: Vec<u64>,
}

impl<'a> Universe<'a> {
    fn build(res: &'a Resources, atoms: &Atoms) -> Universe<'a> {
        let ns_labels: HashMap<&str, &Labels> =
            res.namespaces.iter().map(|n| (n.name.as_str(), &n.labels)).collect();
        let ingress_ns = res
            .namespaces
            .iter()
            .find(|n| n.name == INGRESS_CONTROLLER_NAMESPACE)
            .cloned()
            .unwrap_or_else(|| implicit_namespace(INGRESS_CONTROLLER_NAMESPACE));
        let words = atoms.list.len().div_ceil(64).max(1);
        let n_pods = res.workloads.len() + 1;
        let mut bits = vec![0u64; n_pods * words];
        let empty_labels = Labels::default();
        // Pods grouped by namespace, so a namespace condition is checked once per namespace.
        let mut by_ns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, w) in res.workloads.iter().enumerate() {
            by_ns.entry(w.namespace.as_str()).or_default().push(i);
        }
        by_ns.entry(INGRESS_CONTROLLER_NAMESPACE).or_default().push(res.workloads.len());
        let labels_of = |ns: &str| -> &Labels {
            if ns == INGRESS_CONTROLLER_NAMESPACE {
                &ingress_ns.labels
            } else {
                ns_labels.get(ns).copied().unwrap_or(&empty_labels)
            }
        };
        for (atom, pred) in atoms.list.iter().enumerate() {
            for (ns, pods) in &by_ns {
                let ns_ok = match &pred.namespaces {
                    NsCondition::Named(n) => n == ns,
                    NsCondition::Selector(sel) => sel.matches(labels_of(ns)),
                };
                if !ns_ok {
                    continue;
                }
                for &p in pods {
                    let workload = res.workloads.get(p);
                    if pred.exclude_vms && workload.is_some_and(Workload::is_virtual_machine) {
                        continue;
                    }
                    let labels = workload.map_or(&empty_labels, |w| &w.labels);
                    if pred.pods.as_ref().is_none_or(|s| s.matches(labels)) {
                        bits[p * words + atom / 64] |= 1 << (atom % 64);
                    }
                }
            }
        }
        Universe { res, words, bits }
    }

    fn pod(&self, index: usize) -> PodRef<'_> {
        PodRef {
            bits: &self.bits[index * self.words..(index + 1) * self.words],
            workload: self.res.workloads.get(index),
            representative: false,
        }
    }
}

/// Computes reachability. Errors are policy rules that cannot be evaluated (a named port
/// in an egress rule that reaches an address block).
pub fn analyze(resources: Resources) -> Result<Reachability, InputError> {
    analyze_with(resources, false)
}

/// `direct`: evaluate every pair of classes without the profile tables (the reference
/// path, used for multi-network analysis and to test the tables against).
fn analyze_with(resources: Resources, direct: bool) -> Result<Reachability, InputError> {
    let res = &resources;
    let compiled = compile(res);
    let universe = Universe::build(res, &compiled.atoms);
    let ctx = Ctx { res, c: &compiled, u: &universe };
    let warnings = std::sync::Mutex::new(Vec::new());

    // External blocks: cut by every ipBlock / network any rule mentions.
    let mut src_blocks: Vec<IpSet> = Vec::new();
    let mut dst_blocks: Vec<IpSet> = Vec::new();
    for np in &res.network_policies {
        for (rules, out) in [(&np.ingress, &mut src_blocks), (&np.egress, &mut dst_blocks)] {
            for rule in rules {
                for peer in &rule.peers {
                    if let RulePeer::IpBlock(set) = peer {
                        out.extend(set.split());
                    }
                }
            }
        }
    }
    for p in res.admin_policies.iter().chain(res.baseline.iter()) {
        for rule in &p.egress {
            for peer in &rule.peers {
                if let AdminPeer::Networks(blocks) = peer {
                    dst_blocks.extend(blocks.iter().flat_map(IpSet::split));
                }
            }
        }
    }
    let src_ips = disjoint_blocks(&src_blocks);
    let dst_ips = disjoint_blocks(&dst_blocks);
    let mut ip_blocks: Vec<IpSet> = Vec::new();
    let mut ip_index: HashMap<IpSet, usize> = HashMap::new();
    let mut intern = |b: &IpSet| -> usize {
        *ip_index.entry(b.clone()).or_insert_with(|| {
            ip_blocks.push(b.clone());
            ip_blocks.len() - 1
        })
    };
    let src_ip_ids: Vec<usize> = src_ips.iter().map(&mut intern).collect();
    let dst_ip_ids: Vec<usize> = dst_ips.iter().map(&mut intern).collect();

    // Equivalence classes of workloads.
    let mut classes: Vec<Vec<usize>> = Vec::new();
    let mut class_of: HashMap<(Vec<u64>, NamedPorts, usize), usize> = HashMap::new();
    for (i, w) in res.workloads.iter().enumerate() {
        let bits = universe.pod(i).bits.to_vec();
        let named: Vec<_> = compiled.named_ports.iter().map(|n| w.named_port(n)).collect();
        // Multi-network analysis depends on namespaces and addresses: no grouping there.
        let unique = if res.multi_network { i } else { 0 };
        let next = classes.len();
        let c = *class_of.entry((bits, named, unique)).or_insert(next);
        if c == next {
            classes.push(Vec::new());
        }
        classes[c].push(i);
    }
    let captures: Vec<Capture> = classes.iter().map(|members| ctx.capture(ctx.pod(members[0]))).collect();
    let ingress_pod = ctx.pod(res.workloads.len());
    let ingress_capture = ctx.capture(ingress_pod);

    // Sources: address blocks then classes; destinations likewise.
    let mut srcs: Vec<ClassEnd> = src_ip_ids.iter().map(|&i| ClassEnd::Ip(i)).collect();
    srcs.extend((0..classes.len()).map(ClassEnd::Class));
    let mut dsts: Vec<ClassEnd> = dst_ip_ids.iter().map(|&i| ClassEnd::Ip(i)).collect();
    dsts.extend((0..classes.len()).map(ClassEnd::Class));
    if res.workloads.is_empty() {
        srcs.clear();
    }

    let peer_of = |end: ClassEnd| -> (PeerRef<'_>, Option<&Capture>) {
        match end {
            ClassEnd::Ip(i) => (PeerRef::Ip(&ip_blocks[i]), None),
            ClassEnd::Class(c) => (PeerRef::Pod(ctx.pod(classes[c][0])), Some(&captures[c])),
        }
    };
    let skip_pair = |s: ClassEnd, d: ClassEnd| match (s, d) {
        (ClassEnd::Ip(_), ClassEnd::Ip(_)) => true,
        (ClassEnd::Class(a), ClassEnd::Class(b)) => a == b && classes[a].len() == 1,
        _ => false,
    };
    let edges = if res.multi_network || direct {
        // Per-network analysis on (small) per-workload classes.
        let rows: Vec<Result<Vec<ClassEdge>, InputError>> = srcs
            .par_iter()
            .map(|&s| {
                let mut row = Vec::new();
                let (src, src_cap) = peer_of(s);
                for &d in &dsts {
                    if skip_pair(s, d) {
                        continue;
                    }
                    let (dst, dst_cap) = peer_of(d);
                    for (network, conns) in ctx.pair(src, src_cap, dst, dst_cap, &warnings)? {
                        if !conns.is_empty() {
                            row.push(ClassEdge { src: s, dst: d, conns, network });
                        }
                    }
                }
                Ok(row)
            })
            .collect();
        let mut edges = Vec::new();
        for row in rows {
            edges.extend(row?);
        }
        edges
    } else {
        ctx.pod_network_edges(&srcs, &dsts, &classes, &captures, &ip_blocks, &skip_pair, &warnings)?
    };

    let ingress_edges = ctx.ingress_connections(ingress_pod, &ingress_capture, &warnings)?;
    let mut warnings = warnings.into_inner().unwrap_or_default();
    warnings.sort();
    warnings.dedup();
    drop(class_of);
    Ok(Reachability { resources, ip_blocks, classes, edges, ingress_edges, warnings })
}

struct Ctx<'a> {
    res: &'a Resources,
    c: &'a Compiled<'a>,
    u: &'a Universe<'a>,
}

type Warnings = std::sync::Mutex<Vec<String>>;

fn warn(warnings: &Warnings, message: String) {
    if let Ok(mut w) = warnings.lock() {
        if w.len() < 10_000 {
            w.push(message);
        }
    }
}

impl<'a> Ctx<'a> {
    fn pod(&self, index: usize) -> PodRef<'a> {
        self.u.pod(index)
    }

    /// Pod-network connections between every source and destination, through tables:
    /// egress depends on the source only through its *egress profile* (the policies that
    /// select it for egress), ingress on the destination only through its ingress profile,
    /// and within a profile only through which rules select the other end. So each
    /// (profile, peer) cell is computed once, memoized by the set of matching rules, and a
    /// pair's connections are the intersection of two cells.
    #[allow(clippy::too_many_arguments)]
    fn pod_network_edges(
        &self,
        srcs: &[ClassEnd],
        dsts: &[ClassEnd],
        classes: &[Vec<usize>],
        captures: &[Capture],
        ip_blocks: &[IpSet],
        skip_pair: &(dyn Fn(ClassEnd, ClassEnd) -> bool + Sync),
        warnings: &Warnings,
    ) -> Result<Vec<ClassEdge>, InputError> {
        let peer = |end: ClassEnd| match end {
            ClassEnd::Ip(i) => PeerRef::Ip(&ip_blocks[i]),
            ClassEnd::Class(c) => PeerRef::Pod(self.pod(classes[c][0])),
        };
        // Named-port resolutions, interned: part of a cell's key when a matched rule has a
        // named port.
        let mut named_ids: HashMap<NamedPorts, u32> = HashMap::new();
        let class_named: Vec<u32> = classes
            .iter()
            .map(|members| {
                let w = &self.res.workloads[members[0]];
                let key: Vec<_> = self.c.named_ports.iter().map(|n| w.named_port(n)).collect();
                let next = named_ids.len() as u32;
                *named_ids.entry(key).or_insert(next)
            })
            .collect();
        let named_of = |end: ClassEnd| match end {
            ClassEnd::Ip(_) => u32::MAX,
            ClassEnd::Class(c) => class_named[c],
        };

        // Profiles. Index 0 is the open profile (nothing selects the pod): all allowed.
        let mut egress_profiles: Vec<Capture> = vec![Capture::default()];
        let mut ingress_profiles: Vec<(Capture, usize)> = vec![(Capture::default(), 0)];
        let mut egress_ids: HashMap<Capture, usize> = HashMap::new();
        let mut ingress_ids: HashMap<(Capture, u32), usize> = HashMap::new();
        egress_ids.insert(Capture::default(), 0);
        ingress_ids.insert((Capture::default(), u32::MAX), 0);
        let mut egress_of_class = Vec::with_capacity(classes.len());
        let mut ingress_of_class = Vec::with_capacity(classes.len());
        for (c, cap) in captures.iter().enumerate() {
            let egress = Capture {
                np_egress: cap.np_egress.clone(),
                anp_egress: cap.anp_egress.clone(),
                banp_egress: cap.banp_egress,
                ..Capture::default()
            };
            let next = egress_profiles.len();
            let id = *egress_ids.entry(egress.clone()).or_insert(next);
            if id == next {
                egress_profiles.push(egress);
            }
            egress_of_class.push(id);
            let ingress = Capture {
                np_ingress: cap.np_ingress.clone(),
                anp_ingress: cap.anp_ingress.clone(),
                banp_ingress: cap.banp_ingress,
                ..Capture::default()
            };
            let has_named = self.rules_in_order(&ingress, true).any(|r| match r {
                AnyRule::Np(r) => r.has_named,
                AnyRule::Admin(r) => r.has_named,
            });
            let named = if has_named { class_named[c] } else { u32::MAX };
            let next = ingress_profiles.len();
            let id = *ingress_ids.entry((ingress.clone(), named)).or_insert(next);
            if id == next {
                ingress_profiles.push((ingress, c));
            }
            ingress_of_class.push(id);
        }
        let egress_profile = |end: ClassEnd| match end {
            ClassEnd::Ip(_) => 0,
            ClassEnd::Class(c) => egress_of_class[c],
        };
        let ingress_profile = |end: ClassEnd| match end {
            ClassEnd::Ip(_) => 0,
            ClassEnd::Class(c) => ingress_of_class[c],
        };

        // Cells, interned globally: 0 = nothing, 1 = everything.
        type Row = (Vec<u32>, Vec<ConnSet>);
        let egress_rows: Vec<Result<Row, InputError>> = egress_profiles
            .par_iter()
            .map(|cap| {
                let rules: Vec<AnyRule<'_>> = self.rules_in_order(cap, false).collect();
                let mut bits = Vec::new();
                let mut memo: FxMap<(MatchKey, u32), u32> = FxMap::default();
                let mut local: Vec<ConnSet> = Vec::new();
                let mut row = Vec::with_capacity(dsts.len());
                for &d in dsts {
                    let dst = peer(d);
                    let has_named = matched_bits(&rules, dst, &mut bits);
                    let named = if has_named { named_of(d) } else { u32::MAX };
                    let key = (match_key(&bits), named);
                    let id = match memo.get(&key) {
                        Some(&id) => id,
                        None => {
                            let conns = self.eval(cap, false, key.0.words(), dst, warnings)?;
                            local.push(conns);
                            let id = local.len() as u32 - 1;
                            memo.insert(key, id);
                            id
                        }
                    };
                    row.push(id);
                }
                Ok((row, local))
            })
            .collect();
        let ingress_rows: Vec<Result<Row, InputError>> = ingress_profiles
            .par_iter()
            .map(|(cap, rep)| {
                let subject = PeerRef::Pod(self.pod(classes.get(*rep).map_or(0, |m| m[0])));
                let rules: Vec<AnyRule<'_>> = self.rules_in_order(cap, true).collect();
                let mut bits = Vec::new();
                let mut memo: FxMap<MatchKey, u32> = FxMap::default();
                let mut local: Vec<ConnSet> = Vec::new();
                let mut row = Vec::with_capacity(srcs.len());
                for &s in srcs {
                    matched_bits(&rules, peer(s), &mut bits);
                    let key = match_key(&bits);
                    let id = match memo.get(&key) {
                        Some(&id) => id,
                        None => {
                            let conns = if classes.is_empty() {
                                ConnSet::all()
                            } else {
                                self.eval(cap, true, key.words(), subject, warnings)?
                            };
                            local.push(conns);
                            let id = local.len() as u32 - 1;
                            memo.insert(key, id);
                            id
                        }
                    };
                    row.push(id);
                }
                Ok((row, local))
            })
            .collect();
        let mut table: Vec<ConnSet> = vec![ConnSet::empty(), ConnSet::all()];
        let mut index: HashMap<ConnSet, u32> = HashMap::new();
        index.insert(ConnSet::empty(), 0);
        index.insert(ConnSet::all(), 1);
        let mut globalize = |rows: Vec<Result<Row, InputError>>| -> Result<Vec<Vec<u32>>, InputError> {
            rows.into_iter()
                .map(|row| {
                    let (ids, local) = row?;
                    let map: Vec<u32> = local
                        .into_iter()
                        .map(|c| {
                            let next = table.len() as u32;
                            *index.entry(c.clone()).or_insert_with(|| {
                                table.push(c);
                                next
                            })
                        })
                        .collect();
                    Ok(ids.into_iter().map(|i| map[i as usize]).collect())
                })
                .collect()
        };
        let egress_table = globalize(egress_rows)?;
        let ingress_table = globalize(ingress_rows)?;

        // Pairs: intersect the two cells.
        let src_pos: HashMap<ClassEnd, usize> = srcs.iter().enumerate().map(|(i, &s)| (s, i)).collect();
        let (egress_table, ingress_table) = (&egress_table, &ingress_table);
        let (egress_profile, ingress_profile) = (&egress_profile, &ingress_profile);
        let pairs: Vec<(ClassEnd, ClassEnd, u32, u32)> = srcs
            .par_iter()
            .flat_map_iter(|&s| {
                let e_row = &egress_table[egress_profile(s)];
                let si = src_pos[&s];
                dsts.iter().enumerate().filter_map(move |(j, &d)| {
                    let e = e_row[j];
                    if e == 0 || skip_pair(s, d) {
                        return None;
                    }
                    let i = ingress_table[ingress_profile(d)][si];
                    (i != 0).then_some((s, d, e, i))
                })
            })
            .collect();
        let mut meets: HashMap<(u32, u32), Option<ConnSet>> = HashMap::new();
        let mut edges = Vec::with_capacity(pairs.len());
        for (s, d, e, i) in pairs {
            let conns = match (e, i) {
                (1, x) | (x, 1) => table[x as usize].clone(),
                _ => match meets.entry((e, i)).or_insert_with(|| {
                    let c = table[e as usize].intersect(&table[i as usize]);
                    (!c.is_empty()).then_some(c)
                }) {
                    Some(c) => c.clone(),
                    None => continue,
                },
            };
            edges.push(ClassEdge { src: s, dst: d, conns, network: Network::PodNetwork });
        }
        Ok(edges)
    }

    fn capture(&self, pod: PodRef<'_>) -> Capture {
        let mut cap = Capture::default();
        for (i, p) in self.c.policies.iter().enumerate() {
            if pod.has(p.subject) {
                if p.policy.affects_ingress {
                    cap.np_ingress.push(i);
                }
                if p.policy.affects_egress {
                    cap.np_egress.push(i);
                }
            }
        }
        for (i, a) in self.c.admins.iter().enumerate() {
            if pod.has(a.subject) {
                if !a.ingress.is_empty() {
                    cap.anp_ingress.push(i);
                }
                if !a.egress.is_empty() {
                    cap.anp_egress.push(i);
                }
            }
        }
        if let Some(b) = &self.c.baseline {
            if pod.has(b.subject) {
                cap.banp_ingress = !b.ingress.is_empty();
                cap.banp_egress = !b.egress.is_empty();
            }
        }
        cap
    }

    fn primary(&self, pod: PodRef<'_>) -> Network {
        match pod.workload {
            None => Network::PodNetwork,
            Some(w) => {
                self.res.primary_networks.get(&w.namespace).map_or(Network::PodNetwork, Network::of_primary)
            }
        }
    }

    /// Connections from `src` to `dst`, per network they share.
    fn pair(
        &self,
        src: PeerRef<'_>,
        src_cap: Option<&Capture>,
        dst: PeerRef<'_>,
        dst_cap: Option<&Capture>,
        warnings: &Warnings,
    ) -> Result<Vec<(Network, ConnSet)>, InputError> {
        let mut out = Vec::new();
        // Primary network: pod network or a (C)UDN; pods on different primary networks are
        // isolated from each other, while external peers reach any of them.
        let network = match (src.pod(), dst.pod()) {
            (Some(s), Some(d)) => {
                let (ns, nd) = (self.primary(s), self.primary(d));
                if ns != nd {
                    None
                } else {
                    Some(ns)
                }
            }
            (Some(s), None) => Some(self.primary(s)),
            (None, Some(d)) => Some(self.primary(d)),
            (None, None) => None,
        };
        if let Some(network) = network {
            let conns = self.pod_network_conns(src, src_cap, dst, dst_cap, warnings)?;
            out.push((network, conns));
        }
        if let (Some(s), Some(d)) = (src.pod(), dst.pod()) {
            for nad in self.shared_secondary_networks(s, d) {
                let egress = self.multi_xgress(src, dst, false, &nad, warnings)?;
                let conns = if egress.is_empty() {
                    egress
                } else {
                    egress.intersect(&self.multi_xgress(src, dst, true, &nad, warnings)?)
                };
                out.push((Network::Nad(nad), conns));
            }
        }
        Ok(out)
    }

    fn pod_network_conns(
        &self,
        src: PeerRef<'_>,
        src_cap: Option<&Capture>,
        dst: PeerRef<'_>,
        dst_cap: Option<&Capture>,
        warnings: &Warnings,
    ) -> Result<ConnSet, InputError> {
        let egress = match src_cap {
            None => ConnSet::all(),
            Some(cap) => self.xgress(cap, false, src, dst, warnings)?,
        };
        if egress.is_empty() {
            return Ok(egress);
        }
        let ingress = match dst_cap {
            None => ConnSet::all(),
            Some(cap) => self.xgress(cap, true, src, dst, warnings)?,
        };
        Ok(egress.intersect(&ingress))
    }

    /// Allowed connections in one direction, at the subject pod whose capture is `cap`
    /// (the destination for ingress, the source for egress).
    fn xgress(
        &self,
        cap: &Capture,
        ingress: bool,
        src: PeerRef<'_>,
        dst: PeerRef<'_>,
        warnings: &Warnings,
    ) -> Result<ConnSet, InputError> {
        let peer = if ingress { src } else { dst };
        let matched = self.matched(cap, ingress, peer);
        self.eval(cap, ingress, &matched.bits, dst, warnings)
    }

    /// The rules of the subject's policies, in evaluation order: admin policies by
    /// priority, then NetworkPolicies, then the baseline.
    fn rules_in_order<'s>(
        &'s self,
        cap: &'s Capture,
        ingress: bool,
    ) -> impl Iterator<Item = AnyRule<'s>> + 's {
        let (anps, nps, banp) = if ingress {
            (&cap.anp_ingress, &cap.np_ingress, cap.banp_ingress)
        } else {
            (&cap.anp_egress, &cap.np_egress, cap.banp_egress)
        };
        let pick_admin = move |a: &'s CAdmin<'s>| if ingress { &a.ingress } else { &a.egress };
        let admin = anps.iter().flat_map(move |&i| pick_admin(&self.c.admins[i]).iter().map(AnyRule::Admin));
        let np = nps.iter().flat_map(move |&i| {
            let p = &self.c.policies[i];
            (if ingress { &p.ingress } else { &p.egress }).iter().map(AnyRule::Np)
        });
        let baseline = self
            .c
            .baseline
            .iter()
            .filter(move |_| banp)
            .flat_map(move |b| pick_admin(b).iter().map(AnyRule::Admin));
        admin.chain(np).chain(baseline)
    }

    /// Which of the subject's rules select `peer`, and whether one of them has named ports
    /// (then the result also depends on the destination's container ports).
    fn matched(&self, cap: &Capture, ingress: bool, peer: PeerRef<'_>) -> Matched {
        let rules: Vec<AnyRule<'_>> = self.rules_in_order(cap, ingress).collect();
        let mut m = Matched::default();
        m.named = matched_bits(&rules, peer, &mut m.bits);
        m
    }

    /// The allowed connections given which rules matched.
    fn eval(
        &self,
        cap: &Capture,
        ingress: bool,
        matched: &[u64],
        dst: PeerRef<'_>,
        warnings: &Warnings,
    ) -> Result<ConnSet, InputError> {
        let (anps, nps, banp) = if ingress {
            (&cap.anp_ingress, &cap.np_ingress, cap.banp_ingress)
        } else {
            (&cap.anp_egress, &cap.np_egress, cap.banp_egress)
        };
        let hit = |k: usize| matched.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1);
        let mut k = 0;
        // Admin layer: allowed, denied and passed sets, by priority; within one policy the
        // first matching rule decides.
        let mut allowed = ConnSet::empty();
        let mut denied = ConnSet::empty();
        let mut passed = ConnSet::empty();
        for &i in anps {
            let a = &self.c.admins[i];
            let rules = if ingress { &a.ingress } else { &a.egress };
            let (al, de, pa) = self.admin_rules(rules, &hit, &mut k, dst, warnings);
            let de = de.subtract(&allowed).subtract(&passed);
            let al = al.subtract(&denied).subtract(&passed);
            let pa = pa.subtract(&denied).subtract(&allowed);
            allowed = allowed.union(&al);
            denied = denied.union(&de);
            passed = passed.union(&pa);
        }
        if allowed.union(&denied).is_all() {
            return Ok(allowed);
        }
        if !nps.is_empty() {
            let mut np_allowed = ConnSet::empty();
            for &i in nps {
                let p = &self.c.policies[i];
                for r in if ingress { &p.ingress } else { &p.egress } {
                    if hit(k) && !np_allowed.is_all() {
                        np_allowed = np_allowed.union(&self.np_rule_conns(r.rule, dst, warnings)?);
                    }
                    k += 1;
                }
            }
            return Ok(allowed.union(&np_allowed.subtract(&denied)));
        }
        let baseline_denied = match (&self.c.baseline, banp) {
            (Some(b), true) => {
                let rules = if ingress { &b.ingress } else { &b.egress };
                self.admin_rules(rules, &hit, &mut k, dst, warnings).1
            }
            _ => ConnSet::empty(),
        };
        Ok(allowed.union(&ConnSet::all().subtract(&denied).subtract(&baseline_denied)))
    }

    fn np_rule_conns(
        &self,
        rule: &Rule,
        dst: PeerRef<'_>,
        warnings: &Warnings,
    ) -> Result<ConnSet, InputError> {
        if rule.ports.is_empty() {
            return Ok(ConnSet::all());
        }
        let mut out = ConnSet::empty();
        for p in &rule.ports {
            match &p.port {
                PortSpec::Any => out.add(p.protocol, &PortSet::all()),
                PortSpec::Range(a, b) => out.add(p.protocol, &PortSet::range(*a, *b)),
                PortSpec::Named(name) => match dst {
                    PeerRef::Ip(block) => {
                        return Err(InputError::at(
                            &rule.origin,
                            format!(
                                "named port {name:?} cannot be resolved for address block {block}: \
                                 a rule with a named port may only reach pods"
                            ),
                        ))
                    }
                    // A representative's container ports are unknown: the name stays.
                    PeerRef::Pod(pod) if pod.representative => out.add_named(p.protocol, name),
                    PeerRef::Pod(pod) => match pod.named_port(name) {
                        Some((Some(proto), num))
                            if proto == p.protocol
                                && (i64::from(MIN_PORT)..=i64::from(MAX_PORT)).contains(&num) =>
                        {
                            out.add(proto, &PortSet::single(num as u16))
                        }
                        _ => {
                            if let Some(w) = pod.workload {
                                warn(
                                    warnings,
                                    format!(
                                        "{}: named port {name:?} ({}) has no match in {}",
                                        rule.origin,
                                        p.protocol,
                                        w.display()
                                    ),
                                );
                            }
                        }
                    },
                },
            }
        }
        Ok(out)
    }

    /// First-match evaluation of one admin policy's rules: (allowed, denied, passed).
    /// `hit(k)` tells whether rule `k` (counted from `*k`) selects the peer.
    fn admin_rules(
        &self,
        rules: &[CAdminRule<'_>],
        hit: &dyn Fn(usize) -> bool,
        k: &mut usize,
        dst: PeerRef<'_>,
        warnings: &Warnings,
    ) -> (ConnSet, ConnSet, ConnSet) {
        let mut allowed = ConnSet::empty();
        let mut denied = ConnSet::empty();
        let mut passed = ConnSet::empty();
        for r in rules {
            let selected = hit(*k);
            *k += 1;
            if !selected {
                continue;
            }
            let conns = self.admin_rule_conns(r.rule, dst, warnings);
            match r.rule.action {
                Action::Allow => allowed = allowed.union(&conns.subtract(&denied).subtract(&passed)),
                Action::Deny => denied = denied.union(&conns.subtract(&allowed).subtract(&passed)),
                Action::Pass => passed = passed.union(&conns.subtract(&allowed).subtract(&denied)),
            }
        }
        (allowed, denied, passed)
    }

    fn admin_rule_conns(&self, rule: &AdminRule, dst: PeerRef<'_>, warnings: &Warnings) -> ConnSet {
        let Some(ports) = &rule.ports else { return ConnSet::all() };
        let mut out = ConnSet::empty();
        for port in ports {
            match port {
                AdminPort::Number(proto, n) => out.add(*proto, &PortSet::range(*n, *n)),
                AdminPort::Range(proto, a, b) => out.add(*proto, &PortSet::range(*a, *b)),
                AdminPort::Named(name) => match dst {
                    PeerRef::Ip(_) => warn(
                        warnings,
                        format!(
                            "{}: rule {:?}: named port {name:?} is ignored for address blocks",
                            rule.origin, rule.name
                        ),
                    ),
                    // A representative's container ports are unknown: the name stays (admin
                    // ports carry no protocol; written as TCP).
                    PeerRef::Pod(pod) if pod.representative => out.add_named(Protocol::Tcp, name),
                    PeerRef::Pod(pod) => match pod.named_port(name) {
                        Some((Some(proto), num)) if (0..=i64::from(MAX_PORT)).contains(&num) => {
                            out.add(proto, &PortSet::range(num as u32, num as u32))
                        }
                        _ => {
                            if let Some(w) = pod.workload {
                                warn(
                                    warnings,
                                    format!(
                                        "{}: rule {:?}: named port {name:?} has no match in {}",
                                        rule.origin,
                                        rule.name,
                                        w.display()
                                    ),
                                );
                            }
                        }
                    },
                },
            }
        }
        out
    }

    /// Secondary networks (NADs) both pods attach to.
    fn shared_secondary_networks(&self, src: PodRef<'_>, dst: PodRef<'_>) -> Vec<String> {
        let (Some(s), Some(d)) = (src.workload, dst.workload) else { return Vec::new() };
        // A network is attached when a NAD of that name exists in the namespace it names
        // (or the pod's own).
        let attached = |w: &Workload| -> Vec<String> {
            w.secondary
                .iter()
                .filter(|(key, net)| {
                    let ns = if net.namespace.is_empty() { &w.namespace } else { &net.namespace };
                    self.res
                        .attachment_definitions
                        .iter()
                        .any(|nad| &nad.name == *key && &nad.namespace == ns)
                })
                .map(|(key, _)| key.clone())
                .collect()
        };
        let ds = attached(d);
        attached(s).into_iter().filter(|n| ds.contains(n)).collect()
    }

    /// MultiNetworkPolicy evaluation on a secondary network.
    fn multi_xgress(
        &self,
        src: PeerRef<'_>,
        dst: PeerRef<'_>,
        ingress: bool,
        network: &str,
        warnings: &Warnings,
    ) -> Result<ConnSet, InputError> {
        let subject = if ingress { dst } else { src };
        let peer = if ingress { src } else { dst };
        let Some(pod) = subject.pod() else { return Ok(ConnSet::all()) };
        let Some(w) = pod.workload else { return Ok(ConnSet::all()) };
        let mut selected = Vec::new();
        for p in &self.c.multi {
            let np = p.policy;
            if np.namespace != w.namespace {
                continue;
            }
            let Some(policy_for) = &np.policy_for else {
                return Err(InputError::at(
                    &np.origin,
                    format!(
                        "MultiNetworkPolicy {:?} lacks the k8s.v1.cni.cncf.io/policy-for annotation",
                        np.qualified_name()
                    ),
                ));
            };
            let targets = policy_for.split(',').any(|net| {
                let (ns, name) = match net.split_once('/') {
                    Some((ns, name)) => (ns, name),
                    None => (np.namespace.as_str(), net),
                };
                name == network
                    && self
                        .res
                        .attachment_definitions
                        .iter()
                        .any(|nad| nad.name == network && nad.namespace == ns)
            });
            if !targets {
                continue;
            }
            let affects = if ingress { np.affects_ingress } else { np.affects_egress };
            if affects && np.pod_selector.matches(&w.labels) {
                selected.push(p);
            }
        }
        if selected.is_empty() {
            return Ok(ConnSet::all());
        }
        let mut out = ConnSet::empty();
        for p in selected {
            let rules = if ingress { &p.ingress } else { &p.egress };
            for r in rules {
                let hit = match &r.peers {
                    None => true,
                    Some(peers) => peers.iter().any(|cp| match (cp, peer) {
                        (CPeer::Atom(a), PeerRef::Pod(pp)) => pp.has(*a),
                        (CPeer::Ip(block), PeerRef::Ip(ip)) => ip.is_subset(block),
                        (CPeer::Ip(block), PeerRef::Pod(pp)) => {
                            pp.workload.and_then(|pw| pw.secondary.get(network)).is_some_and(|net| {
                                net.ips.iter().any(|addr| {
                                    let ip = addr.split('/').next().unwrap_or("");
                                    IpSet::from_address(ip).is_ok_and(|a| a.is_subset(block))
                                })
                            })
                        }
                        _ => false,
                    }),
                };
                if hit {
                    out = out.union(&self.np_rule_conns(r.rule, dst, warnings)?);
                }
            }
        }
        Ok(out)
    }

    /// Ingress-controller connections to the workloads that Routes and Ingresses expose:
    /// the service's target ports that the workload's containers listen on, intersected
    /// with what the policies allow from a pod in namespace `ingress-controller-ns`.
    fn ingress_connections(
        &self,
        controller: PodRef<'_>,
        controller_cap: &Capture,
        warnings: &Warnings,
    ) -> Result<Vec<Connection>, InputError> {
        let res = self.res;
        // Services with selectors and the workloads they select.
        let mut services: HashMap<(&str, &str), (Vec<usize>, &Service)> = HashMap::new();
        for svc in &res.services {
            let Some(selector) = &svc.selector else {
                warn(warnings, format!("{}: Service {:?} has no selector: ignored", svc.origin, svc.name));
                continue;
            };
            let selected: Vec<usize> = res
                .workloads
                .iter()
                .enumerate()
                .filter(|(_, w)| {
                    w.namespace == svc.namespace && selector.iter().all(|(k, v)| w.labels.get(k) == Some(v))
                })
                .map(|(i, _)| i)
                .collect();
            if !selected.is_empty() {
                services.insert((svc.namespace.as_str(), svc.name.as_str()), (selected, svc));
            }
        }
        let relevant: Vec<&IngressResource> = res
            .ingress_resources
            .iter()
            .filter(|r| !r.backends.is_empty() && services.keys().any(|(ns, _)| *ns == r.namespace))
            .collect();
        if services.is_empty() || relevant.is_empty() {
            return Ok(Vec::new());
        }
        let mut exposed: BTreeMap<usize, ConnSet> = BTreeMap::new();
        for ing in relevant {
            for (svc_name, port) in &ing.backends {
                let Some((selected, svc)) = services.get(&(ing.namespace.as_str(), svc_name.as_str())) else {
                    warn(
                        warnings,
                        format!(
                            "{}: {} {:?}: service {svc_name:?} not found",
                            ing.origin, ing.kind, ing.name
                        ),
                    );
                    continue;
                };
                let port = port
                    .as_ref()
                    .filter(|p| **p != IntOrString::Int(0) && **p != IntOrString::String(String::new()));
                for &w in selected {
                    let conns = service_conns(&res.workloads[w], svc, port, ing.kind == "Route");
                    let entry = exposed.entry(w).or_default();
                    *entry = entry.union(&conns);
                }
            }
        }
        let mut out = Vec::new();
        for (w, conns) in exposed {
            let dst = self.pod(w);
            let cap = self.capture(dst);
            let allowed = self.pod_network_conns(
                PeerRef::Pod(controller),
                Some(controller_cap),
                PeerRef::Pod(dst),
                Some(&cap),
                warnings,
            )?;
            let conns = conns.intersect(&allowed);
            if conns.is_empty() {
                warn(
                    warnings,
                    format!(
                        "ingress to {} from the ingress controller is blocked by network policies",
                        res.workloads[w].display()
                    ),
                );
                continue;
            }
            out.push(Connection {
                src: Endpoint::IngressController,
                dst: Endpoint::Workload(w),
                conns,
                network: self.primary(dst),
            });
        }
        Ok(out)
    }
}

/// Sets `bits` to which of `rules` select `peer`; true when one of those has a named port.
fn matched_bits(rules: &[AnyRule<'_>], peer: PeerRef<'_>, bits: &mut Vec<u64>) -> bool {
    bits.clear();
    bits.resize(rules.len().div_ceil(64).max(1), 0);
    let mut named = false;
    for (k, rule) in rules.iter().enumerate() {
        let (selects, has_named) = match rule {
            AnyRule::Np(r) => (np_peers_select(r.peers.as_deref(), peer), r.has_named),
            AnyRule::Admin(r) => (admin_peers_select(&r.peers, peer), r.has_named),
        };
        if selects {
            bits[k / 64] |= 1 << (k % 64);
            named |= has_named;
        }
    }
    named
}

/// The table key of matched bits.
fn match_key(bits: &[u64]) -> MatchKey {
    match bits {
        [w] => MatchKey::Small(*w),
        ws => MatchKey::Large(ws.into()),
    }
}

/// Whether an admin rule's peers select `peer`.
fn admin_peers_select(peers: &[CAdminPeer], peer: PeerRef<'_>) -> bool {
    peers.iter().any(|p| match (p, peer) {
        (CAdminPeer::Atom(a), PeerRef::Pod(pod)) => pod.has(*a),
        (CAdminPeer::Networks(blocks), PeerRef::Ip(ip)) => blocks.iter().any(|b| ip.is_subset(b)),
        _ => false,
    })
}

/// Whether a NetworkPolicy rule's peers (`None`: all) select `peer`.
fn np_peers_select(peers: Option<&[CPeer]>, peer: PeerRef<'_>) -> bool {
    let Some(peers) = peers else { return true };
    peers.iter().any(|p| match (p, peer) {
        (CPeer::Atom(a), PeerRef::Pod(pod)) => pod.has(*a),
        (CPeer::Ip(block), PeerRef::Ip(ip)) => ip.is_subset(block),
        _ => false,
    })
}

/// The TCP ports a Service exposes on a workload through a Route/Ingress port
/// (`None`: every service port). A Route's port also matches a service `targetPort`
/// written the same way; an Ingress names service ports by name or number only.
fn service_conns(w: &Workload, svc: &Service, required: Option<&IntOrString>, route: bool) -> ConnSet {
    let mut access: Vec<IntOrString> = Vec::new();
    for sp in &svc.ports {
        let target = sp
            .target_port
            .clone()
            .filter(|t| *t != IntOrString::Int(0) && *t != IntOrString::String(String::new()));
        let target = target.unwrap_or(IntOrString::Int(sp.port));
        match required {
            None => access.push(target),
            Some(req) => {
                let by_name = matches!(req, IntOrString::String(n) if !sp.name.is_empty() && *n == sp.name);
                let by_port = matches!(req, IntOrString::Int(n) if *n == sp.port);
                let by_target = match req {
                    IntOrString::Int(_) => sp.target_port.as_ref() == Some(req),
                    IntOrString::String(_) => route && sp.target_port.as_ref() == Some(req),
                };
                if by_name || by_port || by_target {
                    access.push(target);
                    break;
                }
            }
        }
    }
    let mut out = ConnSet::empty();
    for port in access {
        let num = match port {
            IntOrString::Int(n) => n,
            IntOrString::String(name) => match w.named_port(&name) {
                Some((Some(Protocol::Tcp), n)) => n,
                _ => continue,
            },
        };
        let listens = w.is_virtual_machine() || w.ports.iter().any(|p| p.port == num);
        if listens && (i64::from(MIN_PORT)..=i64::from(MAX_PORT)).contains(&num) {
            out.add(Protocol::Tcp, &PortSet::single(num as u16));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::parse::read_resources;

    /// Named ports, ipBlocks, admin layers and repeated label sets: the profile tables
    /// must give exactly what evaluating every pair directly gives.
    const MIXED: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {tier: front}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {tier: back}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web2, namespace: a}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8081}]}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web3, namespace: a}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: b}
spec: {template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c, ports: [{name: sql, containerPort: 5432}]}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: b, labels: {app: tool}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: c}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80, protocol: UDP}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}, {namespaceSelector: {matchLabels: {tier: back}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-all, namespace: b}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}], ports: [{port: sql}, {port: 9000, endPort: 9100}]}]
  egress: [{to: [{podSelector: {matchLabels: {app: tool}}}]}, {to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{protocol: UDP, port: 53}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {tier: back}}}
  ingress:
  - {name: pass-front, action: Pass, from: [{namespaces: {matchLabels: {tier: front}}}], ports: [{namedPort: sql}]}
  - {name: deny-front, action: Deny, from: [{namespaces: {matchLabels: {tier: front}}}]}
  egress:
  - {name: allow-c, action: Allow, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {}}}}], ports: [{namedPort: http}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  egress:
  - {name: no-meta, action: Deny, to: [{networks: [169.254.169.254/32]}]}
"#;

    fn connections(direct: bool) -> BTreeSet<(String, String, String)> {
        let loaded = kubesecops_k8s::loader::load_text(Arc::from("mixed.yaml"), MIXED);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let read = read_resources(&loaded.objects);
        assert!(read.fatal.is_empty(), "{:?}", read.fatal);
        let reach = analyze_with(read.resources, direct).expect("valid");
        reach
            .connections()
            .map(|c| (reach.endpoint_name(c.src), reach.endpoint_name(c.dst), c.conns.to_string()))
            .collect()
    }

    #[test]
    fn profile_tables_agree_with_direct_evaluation() {
        let tables = connections(false);
        let direct = connections(true);
        assert_eq!(tables, direct);
        // Sanity: the named port resolves per destination, and the admin layer denies
        // front-to-back except the passed named port, which the NetworkPolicy allows.
        assert!(tables.contains(&(
            "b/db[StatefulSet]".into(),
            "a/web2[Deployment]".into(),
            "TCP 8081".into()
        )));
        assert!(tables.contains(&(
            "a/web[Deployment]".into(),
            "b/db[StatefulSet]".into(),
            "TCP 5432".into()
        )));
        assert!(tables.contains(&(
            "192.168.0.0-192.168.0.255[External]".into(),
            "a/web3[Deployment]".into(),
            "TCP 8080".into()
        )));
        assert!(!tables.iter().any(|(s, d, _)| s.starts_with("192.168.1.") && d.starts_with("a/")));
    }
}
