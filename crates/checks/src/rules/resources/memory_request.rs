use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_request;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers and init containers without `resources.requests.memory`. A memory limit
    /// without a request is accepted, because Kubernetes then uses the limit as the request.
    ///
    /// ## Why it matters
    /// Pods without memory requests are packed onto nodes as if they used no memory. When the
    /// node runs short, the kubelet evicts pods using more than they requested first, so these
    /// pods are the first to go, and an attacker inflating memory use elsewhere on the node can
    /// push them out (MITRE ATT&CK T1499, endpoint denial of service).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: cache
    ///   image: registry.example.com/cache:3.1
    ///   resources:
    ///     requests:
    ///       cpu: 100m   # reported: no memory request or limit
    /// ```
    ///
    /// ## Fix
    /// Set `resources.requests.memory` to the container's steady working set (for example
    /// `256Mi`).
    ///
    /// ## References
    /// - Kubernetes documentation, "Node-pressure Eviction"
    /// - NSA-CISA Kubernetes Hardening Guidance, resource policies
    pub static META = {
        id: "KSO-L003",
        title: "Memory request missing",
        severity: Low,
        category: Resources,
        aliases: ["KSV-0016", "CKV_K8S_12", "C-0269", "memoryRequestsMissing"],
        frameworks: [NsaCisa("resource policies"), MitreAttack("T1499")],
    };
}

/// Reports containers with neither a memory request nor a memory limit.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_request(obj, out, "memory", "memory");
}
