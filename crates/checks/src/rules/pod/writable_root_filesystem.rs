use kubesecops_k8s::Object;

use crate::rules::util::{for_each_container, is_windows_pod, sc_anchor, sc_field, show_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Linux containers whose `securityContext.readOnlyRootFilesystem` is not `true`: unset,
    /// `false`, or not the boolean `true` (a quoted `"true"` is a string). Pods that declare
    /// `spec.os.name: windows` are skipped; Windows does not support the field.
    ///
    /// ## Why it matters
    /// A writable root filesystem lets an intruder download and run tools, replace the
    /// application's own binaries or scripts, and leave persistence that survives until the
    /// container is replaced. With a read-only root, everything the process may write is a
    /// volume you declared (`emptyDir`, a mounted path), which is easy to audit.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: registry.example.com/web:3.1
    ///   securityContext:
    ///     readOnlyRootFilesystem: false   # reported
    /// ```
    ///
    /// ## Fix
    /// Set `readOnlyRootFilesystem: true` and mount an `emptyDir` at each path the process
    /// must write (`/tmp`, caches, sockets).
    ///
    /// ## References
    /// - NSA-CISA Kubernetes Hardening Guide, "Immutable container file systems"
    /// - Kubernetes documentation, "Configure a Security Context for a Pod or Container"
    pub static META = {
        id: "KSO-C015",
        title: "Root filesystem is writable",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0014", "CKV_K8S_22", "C-0017", "no-read-only-root-fs", "notReadOnlyRootFilesystem", "container-security-context-readonlyrootfilesystem"],
        frameworks: [NsaCisa("immutable container file systems"), MitreAttack("T1105")],
    };
}

/// Reports each Linux container without `readOnlyRootFilesystem: true`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let key = container.key_with(".securityContext.readOnlyRootFilesystem");
        let name = container.name();
        match sc_field(&container, "readOnlyRootFilesystem") {
            Some(node) if node.as_bool() == Some(true) => {}
            Some(node) => out.emit(
                node.pos,
                &key,
                format!(
                    "container {name:?} sets readOnlyRootFilesystem to {}: its root filesystem is writable",
                    show_value(node)
                ),
            ),
            None => out.emit(
                sc_anchor(&container),
                &key,
                format!("container {name:?} does not set readOnlyRootFilesystem: true"),
            ),
        }
    });
}
