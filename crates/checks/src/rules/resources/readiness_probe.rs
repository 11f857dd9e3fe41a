use kubesecops_k8s::Object;

use crate::rules::resources::report_missing_probe;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Regular containers of long-running pods without a `readinessProbe`. Pods that run to
    /// completion (Jobs, CronJobs, pods with `restartPolicy` `Never` or `OnFailure`) and init
    /// containers are not checked.
    ///
    /// ## Why it matters
    /// Without a readiness probe a pod receives Service traffic as soon as its process starts,
    /// and keeps receiving it while overloaded or cut off from its dependencies. Rollouts then
    /// send users to pods that cannot answer, and a single struggling replica keeps failing
    /// requests instead of being taken out of rotation.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web   # reported: no readinessProbe
    ///   image: registry.example.com/web:1.0
    ///   ports:
    ///   - containerPort: 8080
    /// ```
    ///
    /// ## Fix
    /// Add a probe that succeeds only when the container can serve:
    /// `readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 5}`.
    ///
    /// ## References
    /// - Kubernetes documentation, "Configure Liveness, Readiness and Startup Probes"
    pub static META = {
        id: "KSO-L007",
        title: "Readiness probe missing",
        severity: Low,
        category: Reliability,
        aliases: ["CKV_K8S_9", "C-0018", "no-readiness-probe", "readinessProbeMissing"],
        frameworks: [],
    };
}

/// Reports long-running containers without a readiness probe.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_missing_probe(obj, out, "readinessProbe", "readiness");
}
