use crate::index::Index;
use crate::rules::network::namespace_sites;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Namespaces without a default-deny egress NetworkPolicy: a policy whose `podSelector` is
    /// empty (every pod), whose `policyTypes` include `Egress`, and that has no egress rule
    /// admitting every destination on every port. Narrow exceptions such as DNS are fine.
    ///
    /// The namespaces checked are the same as for `KSO-N007`: every `Namespace` object, and
    /// every namespace a workload names explicitly without a `Namespace` object (reported at
    /// the first such workload).
    ///
    /// ## Why it matters
    /// Without egress isolation a compromised pod can reach anything: download tools, open a
    /// reverse shell to its operator, send data out (MITRE ATT&CK T1041, exfiltration over C2
    /// channel), query the cloud metadata service for node credentials, and attack other
    /// services inside the cluster.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: default-deny-egress
    ///   namespace: payments
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Egress]
    ///   egress:
    ///   - ports:            # DNS stays allowed
    ///     - {protocol: UDP, port: 53}
    ///     - {protocol: TCP, port: 53}
    /// ```
    ///
    /// ## Fix
    /// Add a default-deny egress policy like the one above to every namespace, then allow each
    /// application's destinations with narrower policies.
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": default deny all egress traffic
    /// - NSA-CISA Kubernetes Hardening Guidance, network policies
    pub static META = {
        id: "KSO-N008",
        title: "Namespace without default-deny egress policy",
        severity: Medium,
        category: Network,
        aliases: [],
        frameworks: [Cis("5.3.2"), NsaCisa("network policies"), MitreAttack("T1041")],
    };
}

/// Reports namespaces where no policy denies egress from all pods by default.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    for site in namespace_sites(index) {
        let covered =
            index.network_policies.iter().any(|p| p.namespace == site.name && p.is_default_deny(true));
        if !covered {
            out.emit(
                site.location.clone(),
                site.object,
                &format!("namespace/{}", site.name),
                format!("namespace {:?} has no default-deny egress NetworkPolicy", site.name),
            );
        }
    }
}
