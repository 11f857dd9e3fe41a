use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_limit;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers and init containers without `resources.limits.cpu`.
    ///
    /// ## Why it matters
    /// Without a limit a container may use every idle core of its node. A runaway loop, a
    /// crypto miner started through a compromised dependency (MITRE ATT&CK T1496, resource
    /// hijacking) or a request flood then slows every other pod on the node. A limit bounds the
    /// damage to what the container was meant to use.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:1.0
    ///   resources:
    ///     requests:       # reported: no limits.cpu
    ///       cpu: 250m
    /// ```
    ///
    /// ## Fix
    /// Set `resources.limits.cpu`. Latency-sensitive services sometimes prefer no CPU limit
    /// (throttling hurts tail latency); silence the rule for them with the ignore annotation and
    /// keep a namespace ResourceQuota instead.
    ///
    /// ## References
    /// - Kubernetes documentation, "Resource Management for Pods and Containers"
    /// - NSA-CISA Kubernetes Hardening Guidance, resource policies
    pub static META = {
        id: "KSO-L002",
        title: "CPU limit missing",
        severity: Low,
        category: Resources,
        aliases: ["KSV-0011", "CKV_K8S_11", "C-0270", "cpuLimitsMissing"],
        frameworks: [NsaCisa("resource policies"), MitreAttack("T1496")],
    };
}

/// Reports containers without a CPU limit.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_limit(obj, out, "cpu", "CPU");
}
