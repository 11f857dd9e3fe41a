use kubesecops_k8s::Object;

use crate::rules::workload::namespace_node;
use crate::{declare_rule, Config, Emitter};

/// Namespaces Kubernetes itself creates and runs control-plane parts in.
const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

declare_rule! {
    /// ## What it checks
    /// Workloads (Pods and every object with a pod template) whose `metadata.namespace` is
    /// one of the namespaces Kubernetes reserves for itself: `kube-system`, `kube-public` or
    /// `kube-node-lease`.
    ///
    /// ## Why it matters
    /// `kube-system` holds the cluster's most privileged service accounts and secrets
    /// (controllers, CNI, DNS, cloud integrations) and is usually exempt from Pod Security
    /// admission and network policies so those components can work. An application placed
    /// there shares that exemption and sits next to those credentials: one compromise inside
    /// it is one step from cluster takeover (MITRE ATT&CK T1078, valid accounts).
    /// `kube-public` is readable by everyone, and `kube-node-lease` is for node heartbeats only.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: log-shipper
    ///   namespace: kube-system   # reported
    /// ```
    ///
    /// ## Fix
    /// Deploy applications and add-ons into their own namespace. Components that really belong
    /// to the control plane can keep the placement with the ignore annotation and a reason.
    ///
    /// ## References
    /// - Kubernetes documentation, "Namespaces": initial namespaces
    /// - CIS Kubernetes Benchmark 5.7.1
    pub static META = {
        id: "KSO-W002",
        title: "Workload in a system namespace",
        severity: Medium,
        category: Workload,
        aliases: ["KSV-0037"],
        frameworks: [Cis("5.7.1"), NsaCisa("namespaces"), MitreAttack("T1078")],
    };
}

/// Reports workloads placed in a system namespace.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.pod_template().is_none() {
        return;
    }
    let Some(node) = namespace_node(obj) else { return };
    if let Some(ns) = node.as_str().filter(|ns| SYSTEM_NAMESPACES.contains(ns)) {
        out.emit(node.pos, "metadata.namespace", format!("workload runs in the system namespace {ns:?}"));
    }
}
