use kubesecops_k8s::Object;

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pods with `spec.hostPID: true`.
    ///
    /// ## Why it matters
    /// The pod then shares the node's process namespace. It lists every process on the node,
    /// with command lines that often carry credentials; as root it can read the environment
    /// of host processes, signal or kill them, and through `/proc/<pid>/root` walk into their
    /// filesystems. Combined with `SYS_PTRACE` or privileged mode, `nsenter -t 1` is a shell
    /// on the node (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostPID: true    # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPID`. Process monitoring belongs in a reviewed node agent; ignore the rule
    /// there with the reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Host Namespaces"
    /// - CIS Kubernetes Benchmark 5.2.3
    pub static META = {
        id: "KSO-H002",
        title: "Host PID namespace shared",
        severity: High,
        category: HostAccess,
        aliases: ["KSV-0010", "CKV_K8S_17", "C-0038", "C-0194", "C-0214", "C-0275", "host-pid", "hostPIDSet"],
        frameworks: [Cis("5.2.3"), NsaCisa("pod security"), MitreAttack("T1611"), Pss("baseline:hostNamespaces")],
    };
}

/// Reports `hostPID: true`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(node) = template.get("hostPID").filter(|n| n.as_bool() == Some(true)) {
        out.emit(node.pos, "hostPID", "pod shares the node's process namespace (hostPID: true)");
    }
}
