use kubesecops_k8s::{Node, Object};

use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Container `volumeMounts` with `mountPropagation: Bidirectional`, in any container list.
    ///
    /// ## Why it matters
    /// With bidirectional propagation, mounts the container makes below the mount point
    /// appear on the node and in every other pod that mounts the same host path. A
    /// compromised container can then mount filesystems over paths the node or other pods
    /// use, and the mounts outlive the container. Kubernetes only allows it for privileged
    /// containers, which is itself a sign of node-level power (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// volumeMounts:
    /// - name: kubelet-pods
    ///   mountPath: /var/lib/kubelet/pods
    ///   mountPropagation: Bidirectional   # reported
    /// ```
    ///
    /// ## Fix
    /// Use `HostToContainer` when the container only needs to see mounts made on the node, or
    /// no propagation (`None`). Storage drivers that must publish mounts belong in reviewed
    /// CSI node plugins.
    ///
    /// ## References
    /// - Kubernetes documentation, "Volumes: mount propagation"
    pub static META = {
        id: "KSO-H010",
        title: "Bidirectional mount propagation",
        severity: Medium,
        category: HostAccess,
        aliases: [],
        frameworks: [MitreAttack("T1611")],
    };
}

/// Reports each `mountPropagation: Bidirectional`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for mount in container.node.get("volumeMounts").map(Node::items).unwrap_or_default() {
            let Some(node) = mount.get("mountPropagation") else { continue };
            if node.as_str() != Some("Bidirectional") {
                continue;
            }
            let volume = mount.get("name").and_then(Node::as_str).unwrap_or_default();
            out.emit(
                node.pos,
                &format!("{}.volumeMounts[{volume}].mountPropagation", container.key()),
                format!(
                    "container {:?} propagates its mounts under volume {volume:?} back to the node (Bidirectional)",
                    container.name()
                ),
            );
        }
    });
}
