//! A compact index of what several rules need to know about all objects together.
//!
//! Objects are checked one file at a time and then dropped; only these small records are
//! kept, so memory stays bounded by the number of objects, not their size.

use std::sync::Arc;

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
}

/// A workload: anything with a pod template.
#[derive(Debug, Clone)]
pub struct WorkloadRecord {
    /// Effective namespace (`default` when not set).
    pub namespace: String,
    /// Pod labels (template labels for controllers).
    pub labels: Vec<(String, String)>,
    /// Where the pod template's spec is.
    pub location: Location,
    /// The workload object.
    pub object: Arc<ObjectRef>,
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
}

/// One ingress or egress rule of a NetworkPolicy.
#[derive(Debug, Clone, Default)]
pub struct PolicyRuleRecord {
    /// Peers (`from` / `to`); empty means every peer.
    pub peers: Vec<PeerRecord>,
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
}

/// The namespace an object lives in (`default` when it does not say).
pub fn effective_namespace(obj: &Object) -> String {
    if obj.namespace().is_empty() {
        "default".to_string()
    } else {
        obj.namespace().to_string()
    }
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
                selects_pods: peer.entry("podSelector").is_some() || peer.entry("namespaceSelector").is_some(),
            }
        })
        .collect()
}

impl Index {
    /// Records what cross-object rules need from `obj`.
    pub fn add(&mut self, obj: &Object) {
        let ignored = crate::engine::ignored_rules(obj);
        if !ignored.is_empty() {
            self.ignored.push((Arc::clone(&obj.meta), ignored));
        }
        if obj.kind() == "Namespace" && obj.group().is_empty() {
            self.namespaces.push(NamespaceRecord {
                name: obj.meta.name.clone(),
                location: obj.location(obj.root.pos),
                object: Arc::clone(&obj.meta),
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
            let has_egress_rules = spec.and_then(|s| s.get("egress")).is_some();
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
                    .map(|r| PolicyRuleRecord { peers: peers(r, peer_field) })
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
                location: obj.location(template.spec.pos),
                object: Arc::clone(&obj.meta),
            });
        }
    }

    /// Adds another index's records (for parallel loading).
    pub fn merge(&mut self, other: Index) {
        self.namespaces.extend(other.namespaces);
        self.workloads.extend(other.workloads);
        self.network_policies.extend(other.network_policies);
        self.ignored.extend(other.ignored);
    }

    /// The NetworkPolicies of `namespace` that select a workload.
    pub fn policies_selecting<'a>(
        &'a self,
        workload: &'a WorkloadRecord,
    ) -> impl Iterator<Item = &'a NetworkPolicyRecord> + 'a {
        let labels: Vec<(&str, &str)> = workload.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.network_policies
            .iter()
            .filter(move |p| p.namespace == workload.namespace && p.pod_selector.matches(&labels))
    }
}
