use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_request;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers and init containers without `resources.requests.cpu`. A CPU limit without a
    /// request is accepted, because Kubernetes then uses the limit as the request. Defaults a
    /// LimitRange might inject at admission are not visible in manifests and are not considered.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their requests. A container without a CPU request is
    /// scheduled as if it needed nothing, lands on already busy nodes and gets the smallest CPU
    /// share under contention; a busy or compromised neighbour can starve it (MITRE ATT&CK
    /// T1499, endpoint denial of service).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:1.0
    ///   resources:
    ///     limits:
    ///       memory: 256Mi   # reported: no CPU request or limit
    /// ```
    ///
    /// ## Fix
    /// Set `resources.requests.cpu` to what the container uses under normal load, measured
    /// from metrics (`250m` is a quarter of a core).
    ///
    /// ## References
    /// - Kubernetes documentation, "Resource Management for Pods and Containers"
    /// - NSA-CISA Kubernetes Hardening Guidance, resource policies
    pub static META = {
        id: "KSO-L001",
        title: "CPU request missing",
        severity: Low,
        category: Resources,
        aliases: ["KSV-0015", "CKV_K8S_10", "C-0268", "cpuRequestsMissing"],
        frameworks: [NsaCisa("resource policies"), MitreAttack("T1499")],
    };
}

/// Reports containers with neither a CPU request nor a CPU limit.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_request(obj, out, "cpu", "CPU");
}
