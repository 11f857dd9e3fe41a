use kubesecops_k8s::Object;

use crate::rules::util::{effective_sc, for_each_container, Level};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose effective `runAsGroup` is `0`: set in the container's
    /// `securityContext`, or set at pod level and not overridden by the container.
    ///
    /// ## Why it matters
    /// GID 0 is the root group. Even a non-root user with primary group 0 can read and write
    /// every file that is group-owned by root with group permissions: on mounted host paths
    /// and volumes that is often configuration, keys and sockets meant for root alone.
    /// Several container escapes and local privilege escalations only need that access.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: worker
    ///   image: registry.example.com/worker:2.0
    ///   securityContext:
    ///     runAsUser: 12000
    ///     runAsGroup: 0       # reported
    /// ```
    ///
    /// ## Fix
    /// Set `runAsGroup` to a dedicated group above 10000 and grant it access to what the
    /// process needs (through `fsGroup` for volumes).
    ///
    /// ## References
    /// - NSA-CISA Kubernetes Hardening Guide, "Non-root containers"
    /// - Kubernetes documentation, "Configure a Security Context for a Pod or Container"
    pub static META = {
        id: "KSO-C005",
        title: "Container runs with root group",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0116"],
        frameworks: [NsaCisa("non-root containers")],
    };
}

/// Reports each container whose effective `runAsGroup` is 0.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        let Some((node, level)) = effective_sc(template, &container, &["runAsGroup"]) else { return };
        if node.as_i64() != Some(0) {
            return;
        }
        let from = if level == Level::Pod { " (inherited from the pod)" } else { "" };
        out.emit(
            node.pos,
            &container.key_with(".securityContext.runAsGroup"),
            format!("container {:?} runs with the root group: runAsGroup is 0{from}", container.name()),
        );
    });
}
