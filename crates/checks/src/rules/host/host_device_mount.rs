use kubesecops_k8s::Object;

use crate::rules::host::host_paths::{report_class, HostPathClass};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes of the node's `/dev` or anything below it, and `hostPath` volumes of
    /// `type: CharDevice` or `type: BlockDevice` wherever they point. Paths are compared after
    /// removing repeated and trailing slashes and resolving `.` and `..`.
    ///
    /// ## Why it matters
    /// A device node is direct access to hardware or kernel interfaces. A block device such as
    /// `/dev/sda` or `/dev/nvme0n1` is the node's disk, readable and writable underneath every
    /// file permission (MITRE ATT&CK T1006, direct volume access); `/dev/mem`, `/dev/kmsg` and
    /// GPU or TPM devices expose kernel memory, logs and secrets. Whether the container can
    /// open them depends only on its device cgroup and user, which is a thin line.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: disk
    ///   hostPath:
    ///     path: /dev/nvme0n1   # reported
    ///     type: BlockDevice
    /// ```
    ///
    /// ## Fix
    /// Use a device plugin to hand a specific device to the pod, or a CSI driver for storage.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostPath Volumes"
    /// - Kubernetes documentation, "Device Plugins"
    pub static META = {
        id: "KSO-H012",
        title: "Host device mounted",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [MitreAttack("T1006"), MitreAttack("T1611"), Pss("baseline:hostPathVolumes")],
    };
}

/// Reports each `hostPath` volume of a device.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_class(obj, HostPathClass::Device, out, |volume| {
        format!("volume {:?} mounts host device path {}", volume.name, volume.display())
    });
}
