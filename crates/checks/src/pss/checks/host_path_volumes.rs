//! `hostPathVolumes`: no hostPath volumes.

use crate::declare_rule;
use crate::pss::pod::{item_name, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `hostPathVolumes` (baseline level, every version):
    /// no entry of `spec.volumes` may be a `hostPath` volume. At the restricted level the
    /// stricter `restrictedVolumes` check takes its place.
    ///
    /// ## Why it matters
    /// A hostPath volume mounts a directory of the node into the container. Mounting `/`,
    /// `/etc`, `/var/lib/kubelet` or the container runtime's socket gives node credentials
    /// or control of every container on the node.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: docker
    ///   hostPath:            # reported
    ///     path: /var/run/docker.sock
    /// ```
    ///
    /// ## Fix
    /// Use `emptyDir` for scratch space, a PersistentVolumeClaim for durable data and
    /// ConfigMaps, Secrets or projected volumes for configuration.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "HostPath Volumes"
    /// - kubernetes/pod-security-admission, check `hostPathVolumes`
    pub static META = {
        id: "KSO-PSS-hostPathVolumes",
        title: "Pod Security Standards: hostPath volume",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [Pss("baseline:hostPathVolumes")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "hostPathVolumes";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for volume in pod.volumes() {
        if volume.get("hostPath").is_some() {
            let name = item_name(volume);
            sink.report(
                volume.key_pos("hostPath"),
                format!("volumes[{name}].hostPath"),
                format!("volume {name:?} must not be a hostPath volume"),
            );
        }
    }
}
