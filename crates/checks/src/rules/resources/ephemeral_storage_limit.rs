use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_limit;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers and init containers without `resources.limits.ephemeral-storage`. The limit
    /// also serves as the request when no request is written.
    ///
    /// ## Why it matters
    /// Container logs, the writable image layer and `emptyDir` volumes all live on the node's
    /// disk. A container writing without bound (verbose logs, a temp-file leak, an attacker
    /// filling `/tmp`) fills that disk; the node then reports disk pressure and evicts other
    /// pods, and image pulls fail (MITRE ATT&CK T1499, endpoint denial of service).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: worker
    ///   image: registry.example.com/worker:2.0
    ///   resources:
    ///     limits:
    ///       memory: 512Mi   # reported: no ephemeral-storage limit
    /// ```
    ///
    /// ## Fix
    /// Set `resources.limits.ephemeral-storage` (for example `1Gi`), and a `sizeLimit` on
    /// `emptyDir` volumes.
    ///
    /// ## References
    /// - Kubernetes documentation, "Local ephemeral storage"
    /// - NSA-CISA Kubernetes Hardening Guidance, resource policies
    pub static META = {
        id: "KSO-L005",
        title: "Ephemeral storage limit missing",
        severity: Low,
        category: Resources,
        aliases: ["container-ephemeral-storage-request-and-limit"],
        frameworks: [NsaCisa("resource policies"), MitreAttack("T1499")],
    };
}

/// Reports containers without an ephemeral-storage limit.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_limit(obj, out, "ephemeral-storage", "ephemeral-storage");
}
