use kubesecops_k8s::Object;

use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers without a `securityContext`, or with an empty one. Settings inherited from
    /// the pod do not count: several protections (`allowPrivilegeEscalation`,
    /// `readOnlyRootFilesystem`, `capabilities`) exist only per container.
    ///
    /// ## Why it matters
    /// A container without its own security context runs with the runtime defaults: setuid
    /// binaries can escalate, the default capabilities (`NET_RAW`, `DAC_OVERRIDE`, `SETUID`,
    /// ...) are kept and the root filesystem is writable. These defaults are what container
    /// break-outs and in-container privilege escalation rely on.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web                              # no securityContext: reported
    ///   image: registry.example.com/web:3.1
    /// ```
    ///
    /// ## Fix
    /// Give each container a `securityContext` with `allowPrivilegeEscalation: false`,
    /// `readOnlyRootFilesystem: true` and `capabilities: {drop: [ALL]}`.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.7.3
    /// - Kubernetes documentation, "Configure a Security Context for a Pod or Container"
    pub static META = {
        id: "KSO-C028",
        title: "Container without a security context",
        severity: Low,
        category: PodSecurity,
        aliases: ["CKV_K8S_30", "KSV-0118"],
        frameworks: [Cis("5.7.3")],
    };
}

/// Reports each container whose `securityContext` is missing or empty.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        let present = container.node.entry("securityContext").is_some();
        if container.security_context().is_some_and(|sc| !sc.entries().is_empty()) {
            return;
        }
        let what = if present { "an empty securityContext" } else { "no securityContext" };
        out.emit(
            container.node.key_pos("securityContext"),
            &container.key_with(".securityContext"),
            format!("container {:?} has {what}: it runs with the runtime's defaults", container.name()),
        );
    });
}
