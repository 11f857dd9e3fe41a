use kubesecops_k8s::Object;

use crate::rules::util::{effective_sc, for_each_container, Level};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose effective `runAsUser` is `0`: set in the container's
    /// `securityContext`, or set at pod level and not overridden by the container.
    ///
    /// ## Why it matters
    /// `runAsUser: 0` asks for root explicitly, overriding a non-root `USER` the image may
    /// have. Root in the container is root on the node as far as files and the kernel are
    /// concerned: a mounted volume, a writable host path or a kernel bug is met with full
    /// rights (MITRE ATT&CK T1611). It also defeats `runAsNonRoot: true`, which then stops
    /// the container from starting at all.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     runAsUser: 0          # reported for every container that does not override it
    ///   containers:
    ///   - name: web
    ///     image: registry.example.com/web:3.1
    /// ```
    ///
    /// ## Fix
    /// Remove `runAsUser: 0` and set a UID above 10000 instead; give the files the process
    /// writes that owner (or a shared group through `fsGroup`).
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, restricted level, "Running as Non-root user"
    /// - CIS Kubernetes Benchmark 5.2.7
    pub static META = {
        id: "KSO-C004",
        title: "Container runs as UID 0",
        severity: High,
        category: PodSecurity,
        aliases: ["KSV-0105"],
        frameworks: [Cis("5.2.7"), NsaCisa("non-root containers"), MitreAttack("T1611"), Pss("restricted:runAsUser")],
    };
}

/// Reports each container whose effective `runAsUser` is 0.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        let Some((node, level)) = effective_sc(template, &container, &["runAsUser"]) else { return };
        if node.as_i64() != Some(0) {
            return;
        }
        let from = if level == Level::Pod { " (inherited from the pod)" } else { "" };
        out.emit(
            node.pos,
            &container.key_with(".securityContext.runAsUser"),
            format!("container {:?} runs as root: runAsUser is 0{from}", container.name()),
        );
    });
}
