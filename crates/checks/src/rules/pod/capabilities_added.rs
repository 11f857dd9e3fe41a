use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::listed;
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Every capability listed in a container's `securityContext.capabilities.add`, whatever
    /// it is. Dangerous ones also trigger `KSO-C010` and `KSO-C011`; this rule is the
    /// inventory of every capability granted beyond the runtime's default.
    ///
    /// ## Why it matters
    /// Capabilities split root's power into pieces; each one added hands a piece of it to the
    /// process, and to whoever takes the process over. Most services need none: binding
    /// ports below 1024 (`NET_BIND_SERVICE`) is the common, harmless exception, and even that
    /// can be avoided by listening on a high port. Each added capability should be a
    /// conscious, reviewed decision.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: proxy
    ///   image: registry.example.com/proxy:1.9
    ///   securityContext:
    ///     capabilities:
    ///       drop: [ALL]
    ///       add: [NET_BIND_SERVICE]   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `capabilities.add`, or keep only the capabilities the process demonstrably
    /// needs and ignore this rule for that workload with a reason.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.2.9
    /// - Linux `capabilities(7)`
    pub static META = {
        id: "KSO-C009",
        title: "Capabilities added",
        severity: Low,
        category: PodSecurity,
        aliases: ["CKV_K8S_25", "C-0200", "C-0219"],
        frameworks: [Cis("5.2.9"), NsaCisa("pod security")],
    };
}

/// Reports each item of each container's `capabilities.add`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (node, cap) in listed(&container, "add") {
            out.emit(
                node.pos,
                &format!("{}.securityContext.capabilities.add[{cap}]", container.key()),
                format!("container {:?} adds capability {cap}", container.name()),
            );
        }
    });
}
