use kubesecops_k8s::Object;

use crate::rules::network::{service_spec, service_type};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Services of `type: NodePort`.
    ///
    /// ## Why it matters
    /// A NodePort Service opens its port on every node of the cluster, on every node address,
    /// and kube-proxy forwards it past most firewalls people think of (security groups often
    /// allow the whole node port range between nodes and from load balancers). The backing
    /// pods become reachable from anything that can reach any node, often the internet, and
    /// the exposure is easy to miss because no load balancer shows up in the cloud console
    /// (MITRE ATT&CK T1133, external remote services).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: admin
    /// spec:
    ///   type: NodePort   # reported
    ///   ports:
    ///   - port: 8080
    /// ```
    ///
    /// ## Fix
    /// Use `ClusterIP` and publish HTTP through an Ingress or Gateway, or a `LoadBalancer` with
    /// `loadBalancerSourceRanges` when something outside the cluster must connect directly.
    ///
    /// ## References
    /// - Kubernetes documentation, "Service": type NodePort
    /// - NSA-CISA Kubernetes Hardening Guidance, network separation
    pub static META = {
        id: "KSO-N001",
        title: "Service of type NodePort",
        severity: Medium,
        category: Network,
        aliases: ["service-type"],
        frameworks: [NsaCisa("network separation"), MitreAttack("T1133")],
    };
}

/// Reports Services of type NodePort.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(spec) = service_spec(obj) else { return };
    if let ("NodePort", Some(node)) = service_type(spec) {
        out.emit(node.pos, "spec.type", "Service of type NodePort opens its ports on every node");
    }
}
