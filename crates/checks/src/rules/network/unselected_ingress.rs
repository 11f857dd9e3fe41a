use crate::index::Index;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods no ingress NetworkPolicy of their namespace selects (by
    /// `podSelector` against the pod template's labels). Pods with `hostNetwork: true` are not
    /// reported: NetworkPolicies do not apply to them at all (`KSO-H` rules report host
    /// networking itself). Workloads without a namespace are matched against policies without
    /// one, both ending up in the namespace they are applied to.
    ///
    /// ## Why it matters
    /// A pod no policy selects accepts connections from every pod in the cluster and, through
    /// Services, NodePorts and load balancers, from outside. When one pod anywhere is
    /// compromised, the attacker can reach this one directly (MITRE ATT&CK T1046, network
    /// service discovery; lateral movement).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: billing
    ///   namespace: payments
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: billing}
    ///     spec:   # reported when no policy in payments selects app=billing for ingress
    ///       containers:
    ///       - name: billing
    ///         image: registry.example.com/billing:4.1
    /// ```
    ///
    /// ## Fix
    /// Add a policy selecting the pods (or a namespace-wide default deny) and allow only the
    /// clients that need them.
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": isolated and non-isolated pods
    /// - NSA-CISA Kubernetes Hardening Guidance, network policies
    pub static META = {
        id: "KSO-N009",
        title: "Pods not isolated for ingress",
        severity: Low,
        category: Network,
        aliases: ["C-0260", "non-isolated-pod", "pod-networkpolicy"],
        frameworks: [Cis("5.3.2"), NsaCisa("network policies"), MitreAttack("T1046")],
    };
}

/// Reports workloads no ingress policy selects.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    for workload in index.workloads.iter().filter(|w| !w.host_network) {
        if !index.policies_selecting(workload).any(|p| p.ingress) {
            out.emit(
                workload.location.clone(),
                &workload.object,
                "networkpolicy.ingress",
                format!(
                    "no NetworkPolicy in namespace {:?} selects these pods for ingress",
                    workload.namespace
                ),
            );
        }
    }
}
