use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_limit;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers and init containers without `resources.limits.memory`.
    ///
    /// ## Why it matters
    /// Memory cannot be throttled like CPU. A container without a limit that leaks, or is
    /// made to allocate by a crafted request, grows until the node itself runs out of memory;
    /// the kernel's OOM killer and kubelet evictions then take down unrelated pods, system
    /// daemons included (MITRE ATT&CK T1499, endpoint denial of service). A limit confines the
    /// failure to the container that caused it.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:1.0
    ///   resources:
    ///     limits:
    ///       cpu: "1"   # reported: no limits.memory
    /// ```
    ///
    /// ## Fix
    /// Set `resources.limits.memory` a little above the container's peak working set, and
    /// equal to the request for predictable behaviour under pressure.
    ///
    /// ## References
    /// - Kubernetes documentation, "Resource Management for Pods and Containers"
    /// - NSA-CISA Kubernetes Hardening Guidance, resource policies
    pub static META = {
        id: "KSO-L004",
        title: "Memory limit missing",
        severity: Medium,
        category: Resources,
        aliases: ["KSV-0018", "CKV_K8S_13", "C-0271", "memoryLimitsMissing"],
        frameworks: [NsaCisa("resource policies"), MitreAttack("T1499")],
    };
}

/// Reports containers without a memory limit.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_limit(obj, out, "memory", "memory");
}
