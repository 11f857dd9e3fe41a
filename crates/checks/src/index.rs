//! A compact index of what several rules need to know about all objects together.
//!
//! Objects are checked one file at a time and then dropped; only these small records are
//! kept, so memory stays bounded by the number of objects, not their size.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use kubesecops_core::{Location, ObjectRef};
use kubesecops_k8s::selector::LabelSelector;
use kubesecops_k8s::{Node, Object};

/// A namespace seen as a `Namespace` object.
#[derive(Debug, Clone)]
pub struct NamespaceRecord {
    /// Namespace name.
    pub name: String,
    /// Where the Namespace object is.
    pub location: Location,
    /// The Namespace object.
    pub object: Arc<ObjectRef>,
    /// `metadata.labels` of the Namespace object.
    pub labels: Vec<(String, String)>,
}

/// A workload: anything with a pod template.
#[derive(Debug, Clone)]
pub struct WorkloadRecord {
    /// Effective namespace (`default` when not set). Whether the object wrote it is
    /// `object.namespace` being non-empty.
    pub namespace: String,
    /// Pod labels (template labels for controllers).
    pub labels: Vec<(String, String)>,
    /// `hostNetwork: true`: the pod shares the node's network, where NetworkPolicies do not apply.
    pub host_network: bool,
    /// Where the pod template's spec is.
    pub location: Location,
    /// The workload object.
    pub object: Arc<ObjectRef>,
}

impl WorkloadRecord {
    /// Whether `selector` selects these pods.
    pub fn selected_by(&self, selector: &LabelSelector) -> bool {
        let labels: Vec<(&str, &str)> = self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        selector.matches(&labels)
    }
}

/// One ingress or egress peer of a NetworkPolicy rule.
#[derive(Debug, Clone, Default)]
pub struct PeerRecord {
    /// `ipBlock.cidr`, when the peer is an IP block.
    pub cidr: Option<String>,
    /// `ipBlock.except`.
    pub except: Vec<String>,
    /// True when the peer has a podSelector or namespaceSelector (in-cluster peers only).
    pub selects_pods: bool,
    /// `podSelector`, when written (an unreadable selector is left out).
    pub pod_selector: Option<LabelSelector>,
    /// `namespaceSelector`, when written.
    pub namespace_selector: Option<LabelSelector>,
    /// Where the peer is written.
    pub line: Option<u32>,
}

/// One entry of a NetworkPolicy rule's `ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRecord {
    /// `protocol` (`TCP` when not set).
    pub protocol: String,
    /// `port` as written: a number, a named port, or `None` for every port of the protocol.
    pub port: Option<String>,
    /// `endPort`, the inclusive end of a numeric port range.
    pub end_port: Option<i64>,
}

impl PortRecord {
    /// Whether this entry admits `protocol`/`number`. A named port never matches: names
    /// resolve against the destination pod's container ports, which a plain address has none of.
    pub fn admits(&self, protocol: &str, number: i64) -> bool {
        if !self.protocol.eq_ignore_ascii_case(protocol) {
            return false;
        }
        match self.port.as_deref() {
            None => true,
            Some(text) => match text.parse::<i64>() {
                Ok(start) => {
                    number == start || self.end_port.is_some_and(|end| (start..=end).contains(&number))
                }
                Err(_) => false,
            },
        }
    }
}

/// One ingress or egress rule of a NetworkPolicy.
#[derive(Debug, Clone, Default)]
pub struct PolicyRuleRecord {
    /// Peers (`from` / `to`); empty means every peer.
    pub peers: Vec<PeerRecord>,
    /// Ports; empty means every port.
    pub ports: Vec<PortRecord>,
    /// Where the rule is written.
    pub line: Option<u32>,
}

impl PolicyRuleRecord {
    /// Whether the rule admits any peer on any port: no peers and no ports, or an `ipBlock`
    /// of the whole address space without exceptions and no ports.
    pub fn allows_everything(&self) -> bool {
        let every_peer = self.peers.is_empty()
            || self
                .peers
                .iter()
                .any(|p| matches!(p.cidr.as_deref(), Some("0.0.0.0/0" | "::/0")) && p.except.is_empty());
        every_peer && self.ports.is_empty()
    }

    /// Whether the rule admits `protocol`/`number` on some port entry (or has no port list).
    pub fn admits_port(&self, protocol: &str, number: i64) -> bool {
        self.ports.is_empty() || self.ports.iter().any(|p| p.admits(protocol, number))
    }
}

/// A NetworkPolicy, reduced to what coverage rules need.
#[derive(Debug, Clone)]
pub struct NetworkPolicyRecord {
    /// Effective namespace.
    pub namespace: String,
    /// `spec.podSelector`.
    pub pod_selector: LabelSelector,
    /// Whether the policy applies to ingress (explicitly or by default).
    pub ingress: bool,
    /// Whether the policy applies to egress.
    pub egress: bool,
    /// Ingress rules.
    pub ingress_rules: Vec<PolicyRuleRecord>,
    /// Egress rules.
    pub egress_rules: Vec<PolicyRuleRecord>,
    /// Where the NetworkPolicy is.
    pub location: Location,
    /// The NetworkPolicy object.
    pub object: Arc<ObjectRef>,
}

impl NetworkPolicyRecord {
    /// Whether the policy isolates every pod of its namespace for ingress (`egress` false) or
    /// egress (`egress` true) without a rule that lets everything back in: the "default deny"
    /// shape, also when it allows a few narrow exceptions such as DNS.
    pub fn is_default_deny(&self, egress: bool) -> bool {
        let (applies, rules) =
            if egress { (self.egress, &self.egress_rules) } else { (self.ingress, &self.ingress_rules) };
        applies && self.pod_selector.is_empty() && !rules.iter().any(PolicyRuleRecord::allows_everything)
    }
}

/// Everything cross-object rules look at.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// `Namespace` objects.
    pub namespaces: Vec<NamespaceRecord>,
    /// Objects with a pod template.
    pub workloads: Vec<WorkloadRecord>,
    /// NetworkPolicies.
    pub network_policies: Vec<NetworkPolicyRecord>,
    /// Objects carrying the ignore annotation, with the ids it names.
    pub ignored: Vec<(Arc<ObjectRef>, Vec<String>)>,
    /// Roles, bindings and service accounts, for RBAC privilege paths.
    pub rbac: kubesecops_rbac::Model,
    /// Pod token mounts and ServiceAccounts, for the cluster rules.
    pub cluster: crate::rules::cluster::ClusterRecords,
    /// Positions in `network_policies` per namespace, built on the first query so that
    /// per-workload lookups do not scan every policy of every namespace. `add` and `merge`
    /// reset it; change the public vectors only before querying.
    policies_by_namespace: OnceLock<HashMap<String, Vec<usize>>>,
    /// Positions in `workloads` per namespace (host-network pods left out), built on first
    /// query like `policies_by_namespace`.
    workloads_by_namespace: OnceLock<HashMap<String, Vec<usize>>>,
}

/// The namespace an object lives in (`default` when it does not say).
pub fn effective_namespace(obj: &Object) -> String {
    if obj.namespace().is_empty() {
        "default".to_string()
    } else {
        obj.namespace().to_string()
    }
}

/// A selector field of a peer: `Some` when written (`podSelector: {}` and a null value are
/// the empty selector), `None` when absent or unreadable.
fn selector(peer: &Node, field: &str) -> Option<LabelSelector> {
    let entry = peer.entry(field)?;
    if entry.value.is_null() {
        return Some(LabelSelector::default());
    }
    LabelSelector::from_node(&entry.value).ok()
}

/// `metadata.labels` as owned pairs.
fn labels_of(metadata: Option<&Node>) -> Vec<(String, String)> {
    metadata
        .and_then(|m| m.get("labels"))
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.key.clone(), e.value.as_str()?.to_string())))
        .collect()
}

fn peers(rule: &Node, field: &str) -> Vec<PeerRecord> {
    rule.get(field)
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|peer| {
            let block = peer.get("ipBlock");
            PeerRecord {
                cidr: block.and_then(|b| b.get("cidr")).and_then(Node::as_str).map(str::to_string),
                except: block
                    .and_then(|b| b.get("except"))
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect(),
                selects_pods: peer.entry("podSelector").is_some()
                    || peer.entry("namespaceSelector").is_some(),
                pod_selector: selector(peer, "podSelector"),
                namespace_selector: selector(peer, "namespaceSelector"),
                line: Some(peer.pos.line),
            }
        })
        .collect()
}

fn ports(rule: &Node) -> Vec<PortRecord> {
    rule.get("ports")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|entry| PortRecord {
            protocol: entry.get("protocol").and_then(Node::as_str).unwrap_or("TCP").to_string(),
            port: entry.get("port").and_then(Node::as_str).map(str::to_string),
            end_port: entry.get("endPort").and_then(Node::as_i64),
        })
        .collect()
}

impl Index {
    /// Records what cross-object rules need from `obj`.
    pub fn add(&mut self, obj: &Object) {
        self.policies_by_namespace = OnceLock::new();
        self.workloads_by_namespace = OnceLock::new();
        let ignored = crate::engine::ignored_rules(obj);
        if !ignored.is_empty() {
            self.ignored.push((Arc::clone(&obj.meta), ignored));
        }
        self.rbac.add(obj);
        self.cluster.add(obj);
        if obj.kind() == "Namespace" && obj.group().is_empty() {
            self.namespaces.push(NamespaceRecord {
                name: obj.meta.name.clone(),
                location: obj.location(obj.root.pos),
                object: Arc::clone(&obj.meta),
                labels: labels_of(obj.metadata()),
            });
        }
        if obj.kind() == "NetworkPolicy" && obj.group() == "networking.k8s.io" {
            let spec = obj.root.get("spec");
            let selector = spec
                .and_then(|s| s.get("podSelector"))
                .and_then(|s| LabelSelector::from_node(s).ok())
                .unwrap_or_default();
            let types: Vec<&str> = spec
                .and_then(|s| s.get("policyTypes"))
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .collect();
            // Without policyTypes, Egress applies only when the egress list has rules.
            let has_egress_rules = spec.and_then(|s| s.get("egress")).is_some_and(|e| !e.items().is_empty());
            let (ingress, egress) = if types.is_empty() {
                (true, has_egress_rules)
            } else {
                (types.contains(&"Ingress"), types.contains(&"Egress"))
            };
            let rules = |field: &str, peer_field: &str| -> Vec<PolicyRuleRecord> {
                spec.and_then(|s| s.get(field))
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .map(|r| PolicyRuleRecord {
                        peers: peers(r, peer_field),
                        ports: ports(r),
                        line: Some(r.pos.line),
                    })
                    .collect()
            };
            self.network_policies.push(NetworkPolicyRecord {
                namespace: effective_namespace(obj),
                pod_selector: selector,
                ingress,
                egress,
                ingress_rules: rules("ingress", "from"),
                egress_rules: rules("egress", "to"),
                location: obj.location(obj.root.pos),
                object: Arc::clone(&obj.meta),
            });
        }
        if let Some(template) = obj.pod_template() {
            self.workloads.push(WorkloadRecord {
                namespace: effective_namespace(obj),
                labels: template.labels().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                host_network: template.get("hostNetwork").and_then(Node::as_bool) == Some(true),
                location: obj.location(template.spec.pos),
                object: Arc::clone(&obj.meta),
            });
        }
    }

    /// Adds another index's records (for parallel loading).
    pub fn merge(&mut self, other: Index) {
        self.policies_by_namespace = OnceLock::new();
        self.workloads_by_namespace = OnceLock::new();
        self.namespaces.extend(other.namespaces);
        self.workloads.extend(other.workloads);
        self.network_policies.extend(other.network_policies);
        self.ignored.extend(other.ignored);
        self.rbac.merge(other.rbac);
        self.cluster.merge(other.cluster);
    }

    /// The labels of namespace `name` as a namespace selector sees them: those of its
    /// `Namespace` object when the input has one, plus `kubernetes.io/metadata.name`, which the
    /// API server sets on every namespace.
    pub fn namespace_labels(&self, name: &str) -> Vec<(String, String)> {
        let mut labels: Vec<(String, String)> =
            self.namespaces.iter().find(|n| n.name == name).map(|n| n.labels.clone()).unwrap_or_default();
        labels.retain(|(k, _)| k != "kubernetes.io/metadata.name");
        labels.push(("kubernetes.io/metadata.name".to_string(), name.to_string()));
        labels
    }

    /// The workloads of `namespace` that NetworkPolicies apply to (host-network pods left out).
    pub fn pod_network_workloads(&self, namespace: &str) -> impl Iterator<Item = &WorkloadRecord> + '_ {
        let by_namespace = self.workloads_by_namespace.get_or_init(|| {
            let mut map: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, w) in self.workloads.iter().enumerate().filter(|(_, w)| !w.host_network) {
                map.entry(w.namespace.clone()).or_default().push(i);
            }
            map
        });
        by_namespace.get(namespace).map(Vec::as_slice).unwrap_or_default().iter().map(|&i| &self.workloads[i])
    }

    /// Every namespace that holds a workload NetworkPolicies apply to.
    pub fn pod_network_namespaces(&self) -> impl Iterator<Item = &str> + '_ {
        let _ = self.pod_network_workloads("");
        self.workloads_by_namespace.get().into_iter().flat_map(|m| m.keys().map(String::as_str))
    }

    /// The NetworkPolicies of `namespace` that select a workload.
    pub fn policies_selecting<'a>(
        &'a self,
        workload: &'a WorkloadRecord,
    ) -> impl Iterator<Item = &'a NetworkPolicyRecord> + 'a {
        self.policy_indices_selecting(workload).map(|i| &self.network_policies[i])
    }

    /// Like [`Index::policies_selecting`], as indices into [`Index::network_policies`], so that
    /// a rule can keep what it worked out about each policy in a table.
    pub fn policy_indices_selecting<'a>(
        &'a self,
        workload: &'a WorkloadRecord,
    ) -> impl Iterator<Item = usize> + 'a {
        let labels: Vec<(&str, &str)> =
            workload.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let by_namespace = self.policies_by_namespace.get_or_init(|| {
            let mut map: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, p) in self.network_policies.iter().enumerate() {
                map.entry(p.namespace.clone()).or_default().push(i);
            }
            map
        });
        by_namespace
            .get(&workload.namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(move |&i| self.network_policies[i].pod_selector.matches(&labels))
    }
}

#[cfg(test)]
mod tests {
    use kubesecops_k8s::loader::load_text;

    use super::*;

    fn index(text: &str) -> Index {
        let loaded = load_text(Arc::from("t.yaml"), text);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let mut index = Index::default();
        loaded.objects.iter().for_each(|o| index.add(o));
        index
    }

    #[test]
    fn policy_types_default_like_the_api_server() {
        let idx = index(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: n}\n\
             spec: {podSelector: {}, egress: []}\n---\n\
             apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b, namespace: n}\n\
             spec:\n  podSelector: {}\n  egress:\n  - ports: [{protocol: UDP, port: 53}, {port: 8000, endPort: 8100}]\n",
        );
        let [a, b] = &idx.network_policies[..] else { panic!("two policies") };
        assert!(a.ingress && !a.egress, "an empty egress list does not make an egress policy");
        assert!(a.is_default_deny(false) && !a.is_default_deny(true));
        assert!(b.ingress && b.egress);
        assert!(b.is_default_deny(true), "a DNS exception keeps the default deny");
        let rule = &b.egress_rules[0];
        assert!(rule.peers.is_empty() && !rule.allows_everything());
        assert!(rule.admits_port("UDP", 53) && !rule.admits_port("TCP", 53));
        assert!(rule.admits_port("TCP", 8050) && !rule.admits_port("TCP", 8101));
    }

    #[test]
    fn allow_all_rules_and_named_ports() {
        let everyone = PolicyRuleRecord::default();
        assert!(everyone.allows_everything());
        let open_block = PolicyRuleRecord {
            peers: vec![PeerRecord { cidr: Some("0.0.0.0/0".into()), ..PeerRecord::default() }],
            ..PolicyRuleRecord::default()
        };
        assert!(open_block.allows_everything());
        let named = PortRecord { protocol: "TCP".into(), port: Some("http".into()), end_port: None };
        assert!(!named.admits("TCP", 80));
    }

    #[test]
    fn workloads_record_host_network() {
        let idx = index(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: a}]\n",
        );
        assert!(idx.workloads[0].host_network);
        assert_eq!(idx.workloads[0].namespace, "default");
        assert!(idx.workloads[0].object.namespace.is_empty());
    }
}
