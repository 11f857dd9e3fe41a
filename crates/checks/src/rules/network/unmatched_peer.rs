use kubesecops_core::Location;

use crate::index::{Index, PeerRecord, WorkloadRecord};
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// `from` and `to` peers of NetworkPolicy rules that select pods (with a `podSelector`, a
    /// `namespaceSelector` or both) but match none of the workloads in the scanned input. A
    /// peer with only a `podSelector` looks at the policy's own namespace and is judged only
    /// when the input holds workloads of that namespace; a peer with a `namespaceSelector`
    /// looks at every namespace (labels from the input's `Namespace` objects, plus the
    /// `kubernetes.io/metadata.name` label every namespace carries) and is judged whenever the
    /// input holds workloads at all. `ipBlock` peers are not judged.
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
    ///         matchLabels: {kubernetes.io/metadata.name: shopp}   # reported: no such namespace
    ///       podSelector:
    ///         matchLabels: {app: api}
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

/// Whether the peer, written in a policy of namespace `policy_ns`, matches a workload of the
/// input. `namespaces` holds every namespace with workloads and its labels.
fn matches_some(
    index: &Index,
    peer: &PeerRecord,
    policy_ns: &str,
    namespaces: &[(&str, Vec<(String, String)>)],
) -> bool {
    let pods_match = |w: &WorkloadRecord| peer.pod_selector.as_ref().is_none_or(|s| w.selected_by(s));
    match &peer.namespace_selector {
        None => index.pod_network_workloads(policy_ns).any(pods_match),
        Some(selector) => namespaces.iter().any(|(name, labels)| {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            selector.matches(&labels) && index.pod_network_workloads(name).any(pods_match)
        }),
    }
}

/// Reports selector peers that match no workload of the input.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    let namespaces: Vec<(&str, Vec<(String, String)>)> =
        index.pod_network_namespaces().map(|name| (name, index.namespace_labels(name))).collect();
    if namespaces.is_empty() {
        return;
    }
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
                    if matches_some(index, peer, &policy.namespace, &namespaces) {
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
