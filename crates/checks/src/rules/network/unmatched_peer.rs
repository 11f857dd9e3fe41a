use kubesecops_core::Location;

use crate::index::{Index, PeerRecord, WorkloadRecord};
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// `from` and `to` peers of NetworkPolicy rules that select pods (with a `podSelector`, a
    /// `namespaceSelector` or both) but match none of the workloads in the scanned input. A
    /// peer with only a `podSelector` looks at the policy's own namespace and is judged only
    /// when the input holds workloads of that namespace. A peer with a `namespaceSelector` is
    /// judged only when it selects at least one namespace whose `Namespace` object is in the
    /// input (its labels, plus the `kubernetes.io/metadata.name` label every namespace
    /// carries): an input that declares a namespace is taken to hold its workloads, while a
    /// selector for a namespace the input does not declare, such as an ingress controller's
    /// or `kube-system`, may well match in the cluster, so it is not reported. `ipBlock` peers
    /// are not judged.
    ///
    /// ## Why it matters
    /// A peer that matches nothing allows nothing: the connection its author meant to open
    /// stays closed (an outage waiting for the next deploy), or, worse, it starts matching
    /// whatever later appears with those labels in a namespace nobody reviewed. It is most
    /// often a typo in a label or a namespace name.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   podSelector: {matchLabels: {app: db}}
    ///   ingress:
    ///   - from:
    ///     - namespaceSelector:
    ///         matchLabels: {kubernetes.io/metadata.name: shop}
    ///       podSelector:
    ///         matchLabels: {app: apii}   # reported: no pod of shop has this label
    /// ```
    ///
    /// ## Fix
    /// Correct the labels (or the namespace name) so the peer matches the pods it is meant
    /// for, or remove the peer.
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": behavior of to and from selectors
    pub static META = {
        id: "KSO-N013",
        title: "NetworkPolicy peer matches no workload",
        severity: Low,
        category: Network,
        aliases: [],
        frameworks: [NsaCisa("network policies")],
    };
}

/// What a peer matches among the input's namespaces and workloads.
enum PeerMatch {
    /// It matches a workload of the input.
    Workload,
    /// It selects a namespace of the input but none of the workloads there.
    NoWorkload,
    /// It selects no namespace the input declares: nothing can be said.
    UnknownNamespace,
}

/// What the peer, written in a policy of namespace `policy_ns`, matches. `namespaces` holds
/// every namespace the input declares, with its labels.
fn peer_match(
    index: &Index,
    peer: &PeerRecord,
    policy_ns: &str,
    namespaces: &[(&str, Vec<(String, String)>)],
) -> PeerMatch {
    let pods_match = |w: &WorkloadRecord| peer.pod_selector.as_ref().is_none_or(|s| w.selected_by(s));
    match &peer.namespace_selector {
        None if index.pod_network_workloads(policy_ns).any(pods_match) => PeerMatch::Workload,
        None => PeerMatch::NoWorkload,
        Some(selector) => {
            let mut selects_known = false;
            for (name, labels) in namespaces {
                let labels: Vec<(&str, &str)> =
                    labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                if selector.matches(&labels) {
                    selects_known = true;
                    if index.pod_network_workloads(name).any(pods_match) {
                        return PeerMatch::Workload;
                    }
                }
            }
            if selects_known {
                PeerMatch::NoWorkload
            } else {
                PeerMatch::UnknownNamespace
            }
        }
    }
}

/// Reports selector peers that match no workload of the input.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    if index.pod_network_namespaces().next().is_none() {
        return;
    }
    let mut names: Vec<&str> = index.namespaces.iter().map(|n| n.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let namespaces: Vec<(&str, Vec<(String, String)>)> =
        names.into_iter().map(|name| (name, index.namespace_labels(name))).collect();
    for policy in &index.network_policies {
        let has_local_workloads = index.pod_network_workloads(&policy.namespace).next().is_some();
        let directions = [("ingress", "from", &policy.ingress_rules), ("egress", "to", &policy.egress_rules)];
        for (direction, field, rules) in directions {
            for (r, rule) in rules.iter().enumerate() {
                for (p, peer) in rule.peers.iter().enumerate() {
                    if peer.pod_selector.is_none() && peer.namespace_selector.is_none() {
                        continue;
                    }
                    if peer.namespace_selector.is_none() && !has_local_workloads {
                        continue;
                    }
                    if !matches!(
                        peer_match(index, peer, &policy.namespace, &namespaces),
                        PeerMatch::NoWorkload
                    ) {
                        continue;
                    }
                    let location = Location { line: peer.line, column: None, ..policy.location.clone() };
                    out.emit(
                        location,
                        &policy.object,
                        &format!("{direction}[{r}].{field}[{p}]"),
                        format!("{direction} rule {r}, peer {p} matches none of the workloads in the input"),
                    );
                }
            }
        }
    }
}
