use kubesecops_k8s::Object;

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pods with `spec.hostIPC: true`.
    ///
    /// ## Why it matters
    /// The pod then shares the node's IPC namespace: System V shared memory segments,
    /// semaphores and POSIX message queues of every host process. Data other programs keep
    /// in shared memory (database buffers, session data, keys) can be read or corrupted, and
    /// host processes that trust their IPC peers can be driven from the pod.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostIPC: true    # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `hostIPC`; containers of one pod already share an IPC namespace with each
    /// other.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Host Namespaces"
    /// - CIS Kubernetes Benchmark 5.2.4
    pub static META = {
        id: "KSO-H003",
        title: "Host IPC namespace shared",
        severity: High,
        category: HostAccess,
        aliases: ["KSV-0008", "CKV_K8S_18", "C-0195", "C-0215", "C-0276", "host-ipc", "hostIPCSet"],
        frameworks: [Cis("5.2.4"), NsaCisa("pod security"), MitreAttack("T1611"), Pss("baseline:hostNamespaces")],
    };
}

/// Reports `hostIPC: true`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(node) = template.get("hostIPC").filter(|n| n.as_bool() == Some(true)) {
        out.emit(node.pos, "hostIPC", "pod shares the node's IPC namespace (hostIPC: true)");
    }
}
