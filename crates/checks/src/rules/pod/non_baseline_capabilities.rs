use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::{listed, normalize, BASELINE};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose `securityContext.capabilities.add` lists a name outside the Pod
    /// Security Standards baseline set (`AUDIT_WRITE`, `CHOWN`, `DAC_OVERRIDE`, `FOWNER`,
    /// `FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`, `SETGID`, `SETPCAP`,
    /// `SETUID`, `SYS_CHROOT`). Names are compared exactly as the Pod Security admission does:
    /// `CAP_CHOWN` or `chown` is not in the set and is reported, with a hint.
    ///
    /// ## Why it matters
    /// The baseline set is what container runtimes grant by default anyway (minus `NET_RAW`);
    /// anything else widens what a compromised process can do to the kernel and the node,
    /// and a namespace enforcing the baseline level rejects the pod.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: tools
    ///   image: registry.example.com/tools:1.0
    ///   securityContext:
    ///     capabilities:
    ///       add: [CHOWN, NET_RAW]   # NET_RAW reported
    /// ```
    ///
    /// ## Fix
    /// Add only capabilities from the baseline set, spelled as Kubernetes documents them, or
    /// none at all.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Capabilities"
    pub static META = {
        id: "KSO-C012",
        title: "Capability outside the baseline set",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0022"],
        frameworks: [Cis("5.2.9"), Pss("baseline:capabilities_baseline")],
    };
}

/// Reports each added capability whose name is not in the baseline set.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (node, cap) in listed(&container, "add") {
            if BASELINE.contains(&cap) {
                continue;
            }
            let normal = normalize(cap);
            let hint = if BASELINE.contains(&normal.as_str()) {
                format!(" (write it {normal}: Pod Security compares names exactly)")
            } else {
                String::new()
            };
            out.emit(
                node.pos,
                &format!("{}.securityContext.capabilities.add[{cap}]", container.key()),
                format!(
                    "container {:?} adds {cap}, outside the baseline capability set{hint}",
                    container.name()
                ),
            );
        }
    });
}
