use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_probe;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Regular containers of long-running pods without a `livenessProbe`. Pods that run to
    /// completion (Jobs, CronJobs, pods with `restartPolicy` `Never` or `OnFailure`) and init
    /// containers are not checked.
    ///
    /// ## Why it matters
    /// Without a liveness probe Kubernetes only restarts a container whose process exits. A
    /// deadlocked or wedged process stays up and keeps its slot, so one bad request or resource
    /// exhaustion attack can leave a service dead until someone notices (MITRE ATT&CK T1499,
    /// endpoint denial of service).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api   # reported: no livenessProbe
    ///   image: registry.example.com/api:1.0
    /// ```
    ///
    /// ## Fix
    /// Add a cheap probe that fails only when a restart would help:
    /// `livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 10}`.
    ///
    /// ## References
    /// - Kubernetes documentation, "Configure Liveness, Readiness and Startup Probes"
    pub static META = {
        id: "KSO-L006",
        title: "Liveness probe missing",
        severity: Low,
        category: Reliability,
        aliases: ["CKV_K8S_8", "C-0056", "no-liveness-probe", "livenessProbeMissing"],
        frameworks: [MitreAttack("T1499")],
    };
}

/// Reports long-running containers without a liveness probe.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_probe(obj, out, "livenessProbe", "liveness");
}
