use kubesecops_k8s::Object;

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pods with `spec.hostNetwork: true`.
    ///
    /// ## Why it matters
    /// The pod then uses the node's network namespace: it sees every interface of the node,
    /// can sniff traffic of other pods on it (MITRE ATT&CK T1040), reaches services bound to
    /// the node's loopback (the kubelet's and the runtime's local endpoints, metrics, local
    /// databases), and its ports are the node's ports. NetworkPolicies do not apply to it, and
    /// it reaches the cloud metadata endpoint with the node's identity.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostNetwork: true    # reported
    ///   containers:
    ///   - name: exporter
    ///     image: registry.example.com/exporter:1.2
    /// ```
    ///
    /// ## Fix
    /// Remove `hostNetwork`, expose the service through a Service (or a `hostPort` only if a
    /// node port is truly needed). Keep genuine node agents in reviewed namespaces and ignore
    /// the rule there with the reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Host Namespaces"
    /// - CIS Kubernetes Benchmark 5.2.5
    pub static META = {
        id: "KSO-H001",
        title: "Host network namespace shared",
        severity: High,
        category: HostAccess,
        aliases: ["KSV-0009", "CKV_K8S_19", "C-0041", "C-0196", "C-0216", "host-network", "hostNetworkSet"],
        frameworks: [Cis("5.2.5"), NsaCisa("pod security"), MitreAttack("T1040"), Pss("baseline:hostNamespaces")],
    };
}

/// Reports `hostNetwork: true`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(node) = template.get("hostNetwork").filter(|n| n.as_bool() == Some(true)) {
        out.emit(node.pos, "hostNetwork", "pod shares the node's network namespace (hostNetwork: true)");
    }
}
