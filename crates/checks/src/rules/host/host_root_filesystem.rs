use kubesecops_k8s::Object;

use crate::rules::host::host_paths::{report_class, HostPathClass};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes of the node's root directory `/` (also when written `//`, `/.`,
    /// `/..` or the like).
    ///
    /// ## Why it matters
    /// The pod gets the node's entire filesystem: every credential, the kubelet's keys, every
    /// pod's secrets and filesystems, the runtime socket, and (when writable) the ability to
    /// rewrite anything the node runs. `chroot` into the mount is effectively a root shell on
    /// the node (MITRE ATT&CK T1611). Even read-only, nothing on the node stays secret.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: host
    ///   hostPath:
    ///     path: /     # reported
    /// ```
    ///
    /// ## Fix
    /// Mount only the narrow path the workload needs, read-only, or better no host path at
    /// all.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostPath Volumes"
    pub static META = {
        id: "KSO-H013",
        title: "Host root filesystem mounted",
        severity: Critical,
        category: HostAccess,
        aliases: [],
        frameworks: [MitreAttack("T1611"), Pss("baseline:hostPathVolumes")],
    };
}

/// Reports each `hostPath` volume of `/`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_class(obj, HostPathClass::Root, out, |volume| {
        format!(
            "volume {:?} mounts the node's root filesystem through host path {}",
            volume.name,
            volume.display()
        )
    });
}
