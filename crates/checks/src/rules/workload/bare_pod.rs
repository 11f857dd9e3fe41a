use kubesecops_k8s::Object;

use crate::rules::workload::object_pos;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `Pod` objects that no controller owns (no `metadata.ownerReferences`): pods written
    /// directly instead of through a Deployment, StatefulSet, DaemonSet or Job.
    ///
    /// ## Why it matters
    /// A bare pod is not recreated when its node fails or it is evicted, is not rolled when its
    /// image needs a security fix, and escapes the review and policy that usually apply to
    /// controllers. Attackers with `create pods` use exactly such one-off pods to run tools in
    /// the cluster (MITRE ATT&CK T1610, deploy container), so a manifest that legitimately
    /// creates them is worth a second look.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod   # reported
    /// metadata:
    ///   name: debug
    /// spec:
    ///   containers:
    ///   - name: shell
    ///     image: registry.example.com/toolbox:1.0
    /// ```
    ///
    /// ## Fix
    /// Run the pod through a Deployment (long-running), a Job (run to completion) or a
    /// DaemonSet (one per node).
    ///
    /// ## References
    /// - Kubernetes documentation, "Configuration Best Practices": naked pods
    pub static META = {
        id: "KSO-W005",
        title: "Pod not managed by a controller",
        severity: Low,
        category: Workload,
        aliases: ["C-0073"],
        frameworks: [MitreAttack("T1610")],
    };
}

/// Reports Pods without owner references.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "Pod" || !obj.group().is_empty() {
        return;
    }
    let owned = obj.metadata().and_then(|m| m.get("ownerReferences")).is_some_and(|o| !o.items().is_empty());
    if !owned {
        out.emit(object_pos(obj), "metadata.ownerReferences", "pod is not managed by any controller");
    }
}
