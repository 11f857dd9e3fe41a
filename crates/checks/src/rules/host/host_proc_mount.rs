use kubesecops_k8s::Object;

use crate::rules::host::host_paths::{report_class, HostPathClass};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes of the node's `/proc` or anything below it (`/proc/sys`,
    /// `/proc/1/root`, `/proc/sysrq-trigger`, ...), after removing repeated and trailing
    /// slashes and resolving `.` and `..`. This is the host's `/proc` mounted as a volume, not
    /// the container's own `/proc` (see `KSO-C021` for `procMount`).
    ///
    /// ## Why it matters
    /// The host's `/proc` is a window onto every process of the node: `/proc/<pid>/environ`
    /// and `cmdline` leak credentials, `/proc/1/root` is the node's root filesystem, and
    /// writable kernel tunables such as `/proc/sys/kernel/core_pattern` make the kernel run a
    /// program of the attacker's choice as root on the node (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: proc
    ///   hostPath:
    ///     path: /proc    # reported
    /// ```
    ///
    /// ## Fix
    /// Do not mount the host's `/proc`. Monitoring agents that need it belong in a reviewed
    /// namespace, with the mount read-only and the rule ignored there with the reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostPath Volumes"
    /// - Linux `proc(5)`
    pub static META = {
        id: "KSO-H009",
        title: "Host /proc mounted",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [MitreAttack("T1611"), Pss("baseline:hostPathVolumes")],
    };
}

/// Reports each `hostPath` volume of `/proc` or below.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_class(obj, HostPathClass::Proc, out, |volume| {
        format!("volume {:?} mounts the node's /proc through host path {}", volume.name, volume.display())
    });
}
