use kubesecops_k8s::Object;

use crate::rules::host::host_paths::host_path_volumes;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Every `hostPath` volume of a pod spec, whatever its path and whether or not a
    /// container mounts it. The rules that follow (`KSO-H006`, `KSO-H007`, `KSO-H009`,
    /// `KSO-H012`, `KSO-H013`) say which paths are worst; `KSO-H008` reports writable mounts.
    ///
    /// ## Why it matters
    /// A `hostPath` volume puts part of the node's filesystem into the pod. The pod then
    /// depends on what happens to be on that node, and whatever the path exposes (logs,
    /// credentials, sockets, binaries the node runs) becomes reachable from a compromised
    /// container. Symlink tricks and kubelet bugs have turned even harmless-looking host
    /// paths into full node access (CVE-2017-1002101, CVE-2021-25741; MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: data
    ///   hostPath:
    ///     path: /srv/data     # reported
    /// ```
    ///
    /// ## Fix
    /// Use a PersistentVolumeClaim, an `emptyDir`, a ConfigMap or a CSI volume. Node agents
    /// that truly need a host path should be reviewed and the rule ignored for them with the
    /// reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostPath Volumes"
    /// - CIS Kubernetes Benchmark 5.2.12
    pub static META = {
        id: "KSO-H005",
        title: "hostPath volume",
        severity: Medium,
        category: HostAccess,
        aliases: ["KSV-0023", "C-0048", "C-0203", "hostPathSet"],
        frameworks: [Cis("5.2.12"), NsaCisa("pod security"), MitreAttack("T1611"), Pss("baseline:hostPathVolumes")],
    };
}

/// Reports each `hostPath` volume.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    for volume in host_path_volumes(&template) {
        out.emit(
            volume.volume.key_pos("hostPath"),
            &format!("volumes[{}].hostPath", volume.name),
            format!("volume {:?} mounts host path {:?} from the node", volume.name, volume.path),
        );
    }
}
