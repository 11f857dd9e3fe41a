use kubesecops_k8s::{Node, Object};

use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `securityContext.windowsOptions.hostProcess: true` in the pod's security context or in
    /// any container's.
    ///
    /// ## Why it matters
    /// A Windows HostProcess container is not isolated at all: it runs as a process on the
    /// node, in the host's network namespace, usually as `NT AUTHORITY\SYSTEM`, with the
    /// node's whole filesystem in reach. It is the Windows counterpart of a privileged
    /// container, and a compromise of it is a compromise of the node (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     windowsOptions:
    ///       hostProcess: true     # reported
    ///       runAsUserName: "NT AUTHORITY\\SYSTEM"
    ///   hostNetwork: true
    /// ```
    ///
    /// ## Fix
    /// Remove `hostProcess`. Keep genuine node agents (CNI, CSI, monitoring) in reviewed
    /// namespaces and ignore the rule there with the reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostProcess"
    /// - CIS Kubernetes Benchmark 5.2.11
    /// - Kubernetes documentation, "Create a Windows HostProcess Pod"
    pub static META = {
        id: "KSO-C024",
        title: "Windows HostProcess container",
        severity: Critical,
        category: PodSecurity,
        aliases: ["KSV-0103", "C-0202", "hostProcess"],
        frameworks: [Cis("5.2.11"), MitreAttack("T1611"), Pss("baseline:hostProcess")],
    };
}

fn host_process(security_context: Option<&Node>) -> Option<&Node> {
    security_context?.path(&["windowsOptions", "hostProcess"]).filter(|n| n.as_bool() == Some(true))
}

/// Reports each `hostProcess: true`, at pod and container level.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(node) = host_process(template.get("securityContext")) {
        out.emit(
            node.pos,
            "securityContext.windowsOptions.hostProcess",
            "pod runs its containers as Windows HostProcess containers on the node",
        );
    }
    for_each_container(obj, |_, container| {
        if let Some(node) = host_process(container.security_context()) {
            out.emit(
                node.pos,
                &container.key_with(".securityContext.windowsOptions.hostProcess"),
                format!(
                    "container {:?} runs as a Windows HostProcess container on the node",
                    container.name()
                ),
            );
        }
    });
}
