use kubesecops_k8s::Object;

use crate::rules::host::host_paths::{
    benign_when_read_only, host_path_volumes, is_read_only, mounts_of, HostPathClass,
};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes of sensitive node locations: `/etc`, `/root`, `/home`, `/boot`,
    /// `/sys`, `/lib`, `/lib64`, `/usr`, `/bin`, `/sbin`, `/var/lib/kubelet`,
    /// `/var/lib/docker`, `/var/lib/containerd`, `/var/lib/etcd`, `/var/lib/cni`, `/opt/cni`
    /// and `/var/log`, anything below them, and the directories above them (`/var`,
    /// `/var/lib`, `/opt`). Paths are compared after removing repeated and trailing slashes
    /// and resolving `.` and `..`. Time zone data and public CA certificates
    /// (`/etc/localtime`, `/usr/share/zoneinfo`, `/etc/ssl/certs`, ...) are not reported when
    /// every mount of them is read-only. `/`, `/proc`, `/dev` and runtime sockets have their
    /// own rules.
    ///
    /// ## Why it matters
    /// These locations hold what the node's security rests on: password hashes and SSH keys,
    /// the kubelet's client certificate and every pod's Secrets, the runtime's copy of every
    /// container's filesystem, the etcd database, binaries and libraries the node executes,
    /// and CNI plugins the kubelet runs as root. Reading them leaks credentials (MITRE ATT&CK
    /// T1552.001); writing them is code execution on the node (T1611). `/var/log` is
    /// included because the kubelet follows symlinks planted in pod log directories.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: kubelet
    ///   hostPath:
    ///     path: /var/lib/kubelet   # reported
    /// ```
    ///
    /// ## Fix
    /// Do not mount these paths. If an agent truly needs one, mount the narrowest
    /// subdirectory read-only, run the agent in a reviewed namespace and ignore the rule there
    /// with the reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostPath Volumes"
    /// - Kubernetes documentation, "Volumes: hostPath"
    pub static META = {
        id: "KSO-H007",
        title: "Sensitive host path mounted",
        severity: High,
        category: HostAccess,
        aliases: ["KSV-0121", "sensitive-host-mounts"],
        frameworks: [MitreAttack("T1552.001"), MitreAttack("T1611"), Pss("baseline:hostPathVolumes")],
    };
}

/// Reports each `hostPath` volume of a sensitive location.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    for volume in host_path_volumes(&template) {
        let HostPathClass::Sensitive(what) = volume.class() else { continue };
        let mounts = mounts_of(&template, volume.name);
        let read_only = mounts.iter().all(|(_, mount)| is_read_only(mount));
        if read_only && benign_when_read_only(&volume.normalized()) {
            continue;
        }
        let mode = if mounts.is_empty() {
            ""
        } else if read_only {
            " read-only"
        } else {
            " writable"
        };
        out.emit(
            volume.pos(),
            &format!("volumes[{}].hostPath.path", volume.name),
            format!("volume {:?} mounts sensitive host path {}{mode}: {what}", volume.name, volume.display()),
        );
    }
}
