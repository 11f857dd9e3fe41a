use kubesecops_k8s::Object;

use crate::rules::workload::namespace_node;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Workloads (Pods and every object with a pod template) whose `metadata.namespace` is
    /// `default`, or that set no namespace at all. A workload without a namespace lands in
    /// whatever namespace the applying tool's context names, which is `default` unless someone
    /// remembered `-n`.
    ///
    /// ## Why it matters
    /// Namespaces are the unit of RBAC, NetworkPolicy, ResourceQuota and Pod Security
    /// admission. The `default` namespace usually has none of them tuned, is shared by
    /// everything nobody placed deliberately, and its `default` service account tends to
    /// collect permissions over time. An attacker in one application there reaches all the
    /// others (MITRE ATT&CK T1613, container and resource discovery, and lateral movement).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata:
    ///   name: shop
    ///   namespace: default   # reported
    /// ```
    ///
    /// ## Fix
    /// Create a namespace per application or team and set `metadata.namespace` (or let
    /// kustomize's `namespace:` or Helm's `--namespace` set it, and scan the rendered output).
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.7.1 and 5.7.4
    /// - NSA-CISA Kubernetes Hardening Guidance, namespaces
    pub static META = {
        id: "KSO-W001",
        title: "Workload in the default namespace",
        severity: Low,
        category: Workload,
        aliases: ["KSV-0110", "CKV_K8S_21", "C-0061", "C-0212", "use-namespace"],
        frameworks: [Cis("5.7.4"), NsaCisa("namespaces"), MitreAttack("T1613")],
    };
}

/// Reports workloads placed in `default`, explicitly or by omission.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.pod_template().is_none() {
        return;
    }
    match namespace_node(obj) {
        Some(node) if node.as_str() == Some("default") => {
            out.emit(node.pos, "metadata.namespace", "workload runs in the `default` namespace")
        }
        Some(_) => {}
        None => out.emit(
            obj.root.key_pos("metadata"),
            "metadata.namespace",
            "workload sets no namespace, so it runs in the applying context's namespace (`default` unless set)",
        ),
    }
}
