use crate::index::Index;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods no egress NetworkPolicy of their namespace selects (a policy
    /// applies to egress when its `policyTypes` include `Egress`, or when it has no
    /// `policyTypes` and a non-empty `egress` list). Pods with `hostNetwork: true` are not
    /// reported, since NetworkPolicies do not apply to them.
    ///
    /// ## Why it matters
    /// A pod without egress isolation can open connections anywhere: the internet for command
    /// and control and data theft (MITRE ATT&CK T1041, exfiltration over C2 channel), the cloud
    /// metadata service, the API server and every other pod. Egress policies are what turn a
    /// compromised container from a foothold into a dead end.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: billing-egress
    ///   namespace: payments
    /// spec:
    ///   podSelector:
    ///     matchLabels: {app: billing}
    ///   policyTypes: [Egress]
    ///   egress:
    ///   - to:
    ///     - podSelector: {matchLabels: {app: postgres}}
    /// ```
    ///
    /// ## Fix
    /// Add an egress policy selecting the pods (or a namespace-wide default deny egress) that
    /// allows only the destinations the application needs, plus DNS.
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": egress
    /// - NSA-CISA Kubernetes Hardening Guidance, network policies
    pub static META = {
        id: "KSO-N010",
        title: "Pods not isolated for egress",
        severity: Low,
        category: Network,
        aliases: ["C-0030"],
        frameworks: [NsaCisa("network policies"), MitreAttack("T1041")],
    };
}

/// Reports workloads no egress policy selects.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    for workload in index.workloads.iter().filter(|w| !w.host_network) {
        if !index.policies_selecting(workload).any(|p| p.egress) {
            out.emit(
                workload.location.clone(),
                &workload.object,
                "networkpolicy.egress",
                format!(
                    "no NetworkPolicy in namespace {:?} selects these pods for egress",
                    workload.namespace
                ),
            );
        }
    }
}
