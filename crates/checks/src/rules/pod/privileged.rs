use kubesecops_k8s::Object;

use crate::rules::util::{for_each_container, sc_field};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose `securityContext.privileged` is `true`.
    ///
    /// ## Why it matters
    /// A privileged container runs with every capability and sees every host device. Escaping
    /// to the node is a matter of mounting the host disk or loading a kernel module, so one
    /// compromised process owns the node and every pod on it (MITRE ATT&CK T1611, escape to host).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   image: registry.example.com/app:1.4.2
    ///   securityContext:
    ///     privileged: true   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `privileged: true`. Grant the one capability the process really needs with
    /// `capabilities.add`, or move node-level work to a dedicated, reviewed DaemonSet.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Privileged Containers"
    /// - CIS Kubernetes Benchmark 5.2.2
    pub static META = {
        id: "KSO-C001",
        title: "Privileged container",
        severity: Critical,
        category: PodSecurity,
        aliases: ["KSV-0017", "CKV_K8S_16", "C-0057", "C-0193", "C-0213", "privileged-container", "runAsPrivileged", "container-security-context-privileged"],
        frameworks: [Cis("5.2.2"), NsaCisa("non-root containers"), MitreAttack("T1611"), Pss("baseline:privileged")],
    };
}

/// Reports each container with `privileged: true`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        if let Some(node) = sc_field(&container, "privileged").filter(|n| n.as_bool() == Some(true)) {
            out.emit(
                node.pos,
                &container.key_with(".securityContext.privileged"),
                format!("container {:?} runs privileged", container.name()),
            );
        }
    });
}
