use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::{listed, normalize};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose `securityContext.capabilities.add` lists `SYS_ADMIN` (also written
    /// `CAP_SYS_ADMIN` or in lower case, which container runtimes accept alike).
    ///
    /// ## Why it matters
    /// `CAP_SYS_ADMIN` is the catch-all capability: mounting filesystems, creating namespaces,
    /// using `bpf`, `perf`, many `ioctl`s. With it a process can mount the cgroup filesystem
    /// and abuse the `release_agent` to run a command on the node (CVE-2022-0492), mount host
    /// devices, or reach kernel interfaces that are otherwise closed. It is privileged mode in
    /// all but name (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: fuse
    ///   image: registry.example.com/fuse:0.4
    ///   securityContext:
    ///     capabilities:
    ///       add: [SYS_ADMIN]   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `SYS_ADMIN`. For FUSE or mounts, use a CSI driver; for tracing, a reviewed
    /// node agent. If nothing else works, isolate the workload on dedicated nodes.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Capabilities"
    /// - Linux `capabilities(7)`, `CAP_SYS_ADMIN`
    /// - CVE-2022-0492 (cgroup v1 `release_agent` escape)
    pub static META = {
        id: "KSO-C010",
        title: "SYS_ADMIN capability added",
        severity: High,
        category: PodSecurity,
        aliases: ["KSV-0005", "CKV_K8S_39"],
        frameworks: [Cis("5.2.9"), MitreAttack("T1611"), Pss("baseline:capabilities_baseline")],
    };
}

/// Reports each container that adds `SYS_ADMIN`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (node, cap) in listed(&container, "add") {
            if normalize(cap) == "SYS_ADMIN" {
                out.emit(
                    node.pos,
                    &container.key_with(".securityContext.capabilities.add[SYS_ADMIN]"),
                    format!(
                        "container {:?} adds {cap}: near-root control of the node's kernel",
                        container.name()
                    ),
                );
            }
        }
    });
}
