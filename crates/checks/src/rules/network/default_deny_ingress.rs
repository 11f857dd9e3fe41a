use crate::index::Index;
use crate::rules::network::namespace_sites;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Namespaces without a default-deny ingress NetworkPolicy: a policy whose `podSelector`
    /// is empty (every pod), that applies to ingress, and that has no ingress rule admitting
    /// every source on every port. Such a policy may still allow narrow exceptions.
    ///
    /// The namespaces checked are every `Namespace` object in the input, and every namespace
    /// a workload names in `metadata.namespace` without a `Namespace` object (reported at the
    /// first such workload by file and line). Workloads that set no namespace are not tied to
    /// a namespace here, because the namespace is chosen when they are applied; `KSO-N009`
    /// still reports them when no policy selects them.
    ///
    /// ## Why it matters
    /// Kubernetes allows all pod-to-pod traffic until a policy selects a pod. Without a
    /// default deny, every new workload in the namespace starts reachable from every pod of the
    /// cluster, so one compromised pod can probe and attack databases, admin endpoints and
    /// internal APIs everywhere (MITRE ATT&CK T1046, network service discovery; lateral
    /// movement).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: payments   # reported unless a default-deny policy exists in it
    /// ---
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: default-deny-ingress
    ///   namespace: payments
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress]
    /// ```
    ///
    /// ## Fix
    /// Add the `default-deny-ingress` policy above to every namespace, then allow the flows
    /// each application needs with narrower policies.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.3.2
    /// - Kubernetes documentation, "Network Policies": default policies
    /// - NSA-CISA Kubernetes Hardening Guidance, network policies
    pub static META = {
        id: "KSO-N007",
        title: "Namespace without default-deny ingress policy",
        severity: Medium,
        category: Network,
        aliases: ["C-0206"],
        frameworks: [Cis("5.3.2"), NsaCisa("network policies"), MitreAttack("T1046")],
    };
}

/// Reports namespaces where no policy denies ingress to all pods by default.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    for site in namespace_sites(index) {
        let covered =
            index.network_policies.iter().any(|p| p.namespace == site.name && p.is_default_deny(false));
        if !covered {
            out.emit(
                site.location.clone(),
                site.object,
                &format!("namespace/{}", site.name),
                format!("namespace {:?} has no default-deny ingress NetworkPolicy", site.name),
            );
        }
    }
}
