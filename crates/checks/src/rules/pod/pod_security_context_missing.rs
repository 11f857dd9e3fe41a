use kubesecops_k8s::Object;

use crate::rules::util::pod_spec_anchor;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pod specs without a `securityContext`, or with an empty one.
    ///
    /// ## Why it matters
    /// The pod-level security context is where the settings every container should share
    /// are written once: `runAsNonRoot`, `runAsUser`, `runAsGroup`, `fsGroup` and
    /// `seccompProfile`. A pod without one leaves each of them to every container author and
    /// to the image's defaults, which for most images means root without a seccomp filter.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:             # no securityContext in the pod spec: reported
    ///   - name: web
    ///     image: registry.example.com/web:3.1
    /// ```
    ///
    /// ## Fix
    /// Add a pod `securityContext` with at least `runAsNonRoot: true`, a `runAsUser` above
    /// 10000 and `seccompProfile: {type: RuntimeDefault}`.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.7.3
    /// - Kubernetes documentation, "Configure a Security Context for a Pod or Container"
    pub static META = {
        id: "KSO-C027",
        title: "Pod without a security context",
        severity: Low,
        category: PodSecurity,
        aliases: ["CKV_K8S_29", "C-0211"],
        frameworks: [Cis("5.7.3")],
    };
}

/// Reports pod specs whose `securityContext` is missing or empty.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if template.get("securityContext").is_some_and(|sc| !sc.entries().is_empty()) {
        return;
    }
    if template.spec.entry("securityContext").is_some() {
        out.emit(
            template.spec.key_pos("securityContext"),
            "securityContext",
            "pod securityContext is empty: no pod-wide user, group or seccomp settings",
        );
    } else {
        out.emit(
            pod_spec_anchor(obj, &template),
            "securityContext",
            "pod has no securityContext: no pod-wide user, group or seccomp settings",
        );
    }
}
