use kubesecops_k8s::Object;

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pods with `spec.shareProcessNamespace: true`.
    ///
    /// ## Why it matters
    /// All containers of the pod then share one process namespace. Each container sees the
    /// others' processes, can signal them, and (as the same user, or with `SYS_PTRACE`) read
    /// their environment, memory and whole filesystem through `/proc/<pid>/root`. A weakness
    /// in one sidecar, such as a log shipper or a debug shell, exposes the secrets of the
    /// main application (MITRE ATT&CK T1552, unsecured credentials).
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   shareProcessNamespace: true   # reported
    ///   containers:
    ///   - name: app
    ///     image: registry.example.com/app:1.0
    ///   - name: sidecar
    ///     image: registry.example.com/sidecar:1.0
    /// ```
    ///
    /// ## Fix
    /// Remove `shareProcessNamespace`. For debugging, attach an ephemeral container with
    /// `kubectl debug --target` instead of sharing the namespace permanently.
    ///
    /// ## References
    /// - Kubernetes documentation, "Share Process Namespace between Containers in a Pod"
    pub static META = {
        id: "KSO-C022",
        title: "Process namespace shared between containers",
        severity: Low,
        category: PodSecurity,
        aliases: [],
        frameworks: [MitreAttack("T1552")],
    };
}

/// Reports `shareProcessNamespace: true`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(node) = template.get("shareProcessNamespace").filter(|n| n.as_bool() == Some(true)) {
        out.emit(
            node.pos,
            "shareProcessNamespace",
            "pod shares one process namespace between its containers (shareProcessNamespace: true)",
        );
    }
}
