use kubesecops_k8s::{Node, Object};

use crate::rules::host::host_paths::{host_path_volumes, is_read_only, mounts_of};
use crate::rules::util::show_value;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Container `volumeMounts` of a `hostPath` volume without `readOnly: true` (unset,
    /// `false`, or not the boolean `true`), in any container list.
    ///
    /// ## Why it matters
    /// A writable host path lets a compromised container change the node: plant a cron job,
    /// a systemd unit or an SSH key, replace a binary the node runs, or leave a symlink the
    /// kubelet or a node agent will follow later. It also lets the pod fill the node's disk.
    /// Each of these outlives the pod and turns a container compromise into a node
    /// compromise (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: agent
    ///   image: registry.example.com/agent:2.0
    ///   volumeMounts:
    ///   - name: host-logs
    ///     mountPath: /host/var/log     # no readOnly: true: reported
    /// volumes:
    /// - name: host-logs
    ///   hostPath:
    ///     path: /var/log
    /// ```
    ///
    /// ## Fix
    /// Add `readOnly: true` to the mount. If the container must write, give it its own
    /// subdirectory and review what else can be reached from there.
    ///
    /// ## References
    /// - Kubernetes documentation, "Volumes: hostPath"
    pub static META = {
        id: "KSO-H008",
        title: "hostPath mounted writable",
        severity: Medium,
        category: HostAccess,
        aliases: ["C-0045", "writable-host-mount"],
        frameworks: [MitreAttack("T1611")],
    };
}

/// Reports each mount of a `hostPath` volume that is not read-only.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    for volume in host_path_volumes(&template) {
        for (container, mount) in mounts_of(&template, volume.name) {
            if is_read_only(mount) {
                continue;
            }
            let at = mount.get("mountPath").and_then(Node::as_str).unwrap_or_default();
            let (pos, how) = match mount.get("readOnly") {
                Some(node) => (node.pos, format!("readOnly is {}", show_value(node))),
                None => (mount.pos, "readOnly is not set".to_string()),
            };
            out.emit(
                pos,
                &format!("{}.volumeMounts[{}]", container.key(), volume.name),
                format!(
                    "container {:?} mounts host path {:?} writable at {at:?}: {how}",
                    container.name(),
                    volume.path
                ),
            );
        }
    }
}
