use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

/// Volume types the Pod Security restricted level allows.
const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

declare_rule! {
    /// ## What it checks
    /// Pod volumes whose type is outside the set the Pod Security restricted level allows
    /// (`configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `persistentVolumeClaim`,
    /// `projected`, `secret`): for example `nfs`, `iscsi`, `rbd`, `cephfs`, `gitRepo` or
    /// `flexVolume`. `hostPath` volumes are left to the host-access rules (`KSO-H005` and
    /// following) so that they are not reported twice.
    ///
    /// ## Why it matters
    /// Volume types other than these make the kubelet mount storage on the node directly on
    /// the pod author's say: the node connects to whatever server the manifest names, with
    /// whatever options, using the node's own network identity and credentials. `gitRepo`
    /// has had command-execution bugs on the node (CVE-2018-11235, CVE-2024-10220), and
    /// `flexVolume` runs a driver binary as root. Storage that should be shared belongs
    /// behind a PersistentVolume an administrator created.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: shared
    ///   nfs:                    # reported
    ///     server: 10.0.0.5
    ///     path: /exports/shared
    /// ```
    ///
    /// ## Fix
    /// Use a PersistentVolumeClaim bound to an administrator-defined PersistentVolume (or a
    /// CSI driver) instead of an inline volume source.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, restricted level, "Volume Types"
    pub static META = {
        id: "KSO-C026",
        title: "Volume type outside the restricted set",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0028"],
        frameworks: [Pss("restricted:restrictedVolumes")],
    };
}

/// Reports each inline volume source outside the restricted set (other than `hostPath`).
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    for volume in template.get("volumes").map(Node::items).unwrap_or_default() {
        let name = volume.get("name").and_then(Node::as_str).unwrap_or_default();
        for entry in volume.entries() {
            let kind = entry.key.as_str();
            if kind == "name" || kind == "hostPath" || entry.value.is_null() || ALLOWED.contains(&kind) {
                continue;
            }
            out.emit(
                entry.key_pos,
                &format!("volumes[{name}].{kind}"),
                format!("volume {name:?} uses {kind}, a volume type outside the restricted set"),
            );
        }
    }
}
