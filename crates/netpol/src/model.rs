//! The resources the reachability analysis reads, after validation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::ipv4::IpSet;
use crate::ports::Protocol;
use crate::selector::{Labels, Selector};

/// Where something is written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file (as given by the user).
    pub path: Arc<str>,
    /// 1-based line.
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}

/// A problem with the input, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path, line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    /// The file.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error at `origin`.
    pub fn at(origin: &Origin, message: impl Into<String>) -> InputError {
        InputError { path: origin.path.to_string(), line: Some(origin.line), message: message.into() }
    }

    /// As a report error.
    pub fn to_report(&self) -> kubesecops_core::ReportError {
        kubesecops_core::ReportError::at(self.path.clone(), self.line, self.message.clone())
    }
}

/// A namespace and its labels (`kubernetes.io/metadata.name` always set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// Where it is defined (`None` for namespaces only referenced by other objects).
    pub origin: Option<Origin>,
}

/// A container port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerPort {
    /// `name` (empty when unnamed).
    pub name: String,
    /// `containerPort`.
    pub port: i64,
    /// `protocol` (TCP by default); `None` for a protocol outside TCP/UDP/SCTP.
    pub protocol: Option<Protocol>,
}

/// A secondary network a pod attaches to (Multus annotation or VM multus network).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecondaryNetwork {
    /// The NetworkAttachmentDefinition name.
    pub name: String,
    /// Its namespace when written as `ns/name` (empty: the pod's namespace).
    pub namespace: String,
    /// Addresses (CIDRs) the pod has on it, when known (VM cloud-init network data).
    pub ips: Vec<String>,
}

/// A workload: a Pod, or the pod template of a Deployment, StatefulSet, ..., or a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Namespace.
    pub namespace: String,
    /// Name of the owner (or of the pod when it has none).
    pub name: String,
    /// `Deployment`, `Pod`, `ReplicaSet`, ...
    pub kind: String,
    /// Pod labels.
    pub labels: Labels,
    /// Ports of the regular containers.
    pub ports: Vec<ContainerPort>,
    /// Secondary networks by the key netpol-analyzer uses (the written network name).
    pub secondary: BTreeMap<String, SecondaryNetwork>,
    /// Where it is defined.
    pub origin: Origin,
}

impl Workload {
    /// `ns/name[Kind]`.
    pub fn display(&self) -> String {
        format!("{}/{}[{}]", self.namespace, self.name, self.kind)
    }

    /// `ns/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Resolves a named port against the container ports (first match wins).
    pub fn named_port(&self, name: &str) -> Option<(Option<Protocol>, i64)> {
        self.ports.iter().find(|p| p.name == name).map(|p| (p.protocol, p.port))
    }

    /// True for a KubeVirt VirtualMachine.
    pub fn is_virtual_machine(&self) -> bool {
        self.kind == "VirtualMachine"
    }
}

/// A port of a NetworkPolicy rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortSpec {
    /// No `port`: every port of the protocol.
    Any,
    /// `port` (and `endPort`): an inclusive range.
    Range(u32, u32),
    /// A named port, resolved against the destination's containers.
    Named(String),
}

/// One `ports` item of a NetworkPolicy rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RulePort {
    /// `protocol` (TCP by default).
    pub protocol: Protocol,
    /// `port` / `endPort`.
    pub port: PortSpec,
}

/// One `from`/`to` item of a NetworkPolicy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulePeer {
    /// `namespaceSelector` and/or `podSelector`.
    Selectors {
        /// `namespaceSelector`; `None` means the policy's own namespace.
        namespaces: Option<Selector>,
        /// `podSelector`; `None` means every pod.
        pods: Option<Selector>,
    },
    /// `ipBlock` (`cidr` minus `except`), IPv4.
    IpBlock(IpSet),
}

/// An ingress or egress rule of a NetworkPolicy (or MultiNetworkPolicy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Peers; empty means every peer.
    pub peers: Vec<RulePeer>,
    /// Ports; empty means every port.
    pub ports: Vec<RulePort>,
    /// Where the rule is written.
    pub origin: Origin,
}

/// A NetworkPolicy (also used for MultiNetworkPolicy, which has the same shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Namespace (default `default`).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `podSelector`.
    pub pod_selector: Selector,
    /// Whether the policy isolates ingress (from `policyTypes` or its defaults).
    pub affects_ingress: bool,
    /// Whether the policy isolates egress.
    pub affects_egress: bool,
    /// Ingress rules.
    pub ingress: Vec<Rule>,
    /// Egress rules.
    pub egress: Vec<Rule>,
    /// MultiNetworkPolicy only: the `k8s.v1.cni.cncf.io/policy-for` annotation.
    pub policy_for: Option<String>,
    /// Where it is defined.
    pub origin: Origin,
}

impl NetworkPolicy {
    /// `ns/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The action of an admin policy rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
    /// `Pass` (AdminNetworkPolicy only): delegate to NetworkPolicies, then the baseline.
    Pass,
}

/// Which pods an admin policy applies to, or which pods a rule peer selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPods {
    /// `namespaces`: every pod of the selected namespaces.
    Namespaces(Selector),
    /// `pods`: `namespaceSelector` and `podSelector`.
    Pods {
        /// Namespaces.
        namespaces: Selector,
        /// Pods in them.
        pods: Selector,
    },
}

/// A peer of an admin policy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPeer {
    /// `namespaces` or `pods`.
    Pods(AdminPods),
    /// `networks` (egress only): IPv4 CIDRs (IPv6 ones are dropped with a warning).
    Networks(Vec<IpSet>),
    /// `nodes` (egress only): not analysed.
    Nodes,
}

/// A port of an admin policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AdminPort {
    /// `portNumber`.
    Number(Protocol, u32),
    /// `namedPort`.
    Named(String),
    /// `portRange`.
    Range(Protocol, u32, u32),
}

/// A rule of an AdminNetworkPolicy or BaselineAdminNetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRule {
    /// `name`.
    pub name: String,
    /// `action`.
    pub action: Action,
    /// `from` / `to` (never empty).
    pub peers: Vec<AdminPeer>,
    /// `ports`; `None` means every port.
    pub ports: Option<Vec<AdminPort>>,
    /// Where the rule is written.
    pub origin: Origin,
}

/// An AdminNetworkPolicy or the BaselineAdminNetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPolicy {
    /// Name.
    pub name: String,
    /// `priority` (0 for the baseline).
    pub priority: i64,
    /// `subject`.
    pub subject: AdminPods,
    /// Ingress rules, in order (the first match decides).
    pub ingress: Vec<AdminRule>,
    /// Egress rules, in order.
    pub egress: Vec<AdminRule>,
    /// Where it is defined.
    pub origin: Origin,
}

/// A port of a Service, or a port a Route/Ingress targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A name.
    String(String),
}

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// `name`.
    pub name: String,
    /// `port`.
    pub port: i64,
    /// `targetPort`, when set.
    pub target_port: Option<IntOrString>,
}

/// A Service with a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `selector`; `None` when the Service has none (not analysed).
    pub selector: Option<Labels>,
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// Where it is defined.
    pub origin: Origin,
}

/// An OpenShift Route or a Kubernetes Ingress: which services it exposes on which port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressResource {
    /// `Route` or `Ingress`.
    pub kind: &'static str,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// (service name, port; `None` = every port of the service).
    pub backends: Vec<(String, Option<IntOrString>)>,
    /// Where it is defined.
    pub origin: Origin,
}

/// A primary (Cluster)UserDefinedNetwork and where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserNetwork {
    /// A namespaced UserDefinedNetwork.
    Udn {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Role is `Primary`.
        primary: bool,
        /// Where it is defined.
        origin: Origin,
    },
    /// A ClusterUserDefinedNetwork.
    Cudn {
        /// Name.
        name: String,
        /// Role is `Primary`.
        primary: bool,
        /// `namespaceSelector`.
        namespaces: Selector,
        /// Where it is defined.
        origin: Origin,
    },
}

/// A NetworkAttachmentDefinition (a secondary network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentDefinition {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The primary network of a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrimaryNetwork {
    /// The cluster's default pod network.
    PodNetwork,
    /// A namespaced UserDefinedNetwork (named after its namespace).
    Udn(String),
    /// A ClusterUserDefinedNetwork (by name).
    Cudn(String),
}

/// Everything the analysis reads, in input order.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// Namespaces defined in the input.
    pub namespaces: Vec<Namespace>,
    /// Workloads (one per `ns/name[Kind]`).
    pub workloads: Vec<Workload>,
    /// NetworkPolicies.
    pub network_policies: Vec<NetworkPolicy>,
    /// AdminNetworkPolicies, sorted by priority (lowest number first).
    pub admin_policies: Vec<AdminPolicy>,
    /// The BaselineAdminNetworkPolicy.
    pub baseline: Option<AdminPolicy>,
    /// Services.
    pub services: Vec<Service>,
    /// Routes and Ingresses.
    pub ingress_resources: Vec<IngressResource>,
    /// Primary (C)UDNs, in input order.
    pub user_networks: Vec<UserNetwork>,
    /// NetworkAttachmentDefinitions.
    pub attachment_definitions: Vec<AttachmentDefinition>,
    /// MultiNetworkPolicies.
    pub multi_network_policies: Vec<NetworkPolicy>,
    /// Namespaces whose primary network is a (C)UDN.
    pub primary_networks: BTreeMap<String, PrimaryNetwork>,
    /// Whether multi-network resources (UDN, CUDN, NAD, MultiNetworkPolicy, VirtualMachine)
    /// are present: then connectivity is reported per network.
    pub multi_network: bool,
    /// Non-fatal remarks (ignored objects, unsupported fields).
    pub warnings: Vec<InputError>,
}
