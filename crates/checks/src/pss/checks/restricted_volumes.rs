//! `restrictedVolumes`: only volume types that do not reach the node or outside storage.

use crate::declare_rule;
use crate::pss::checks::host_path_volumes;
use crate::pss::pod::{item_name, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `restrictedVolumes` (restricted level, every
    /// version, in place of `hostPathVolumes`): every entry of `spec.volumes` must be one of
    /// `configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `image`,
    /// `persistentVolumeClaim`, `projected` or `secret`. Any other source (`hostPath`,
    /// `nfs`, `gitRepo`, `iscsi`, `rbd`, cloud disks, ...) is rejected.
    ///
    /// ## Why it matters
    /// Inline volume sources other than these let a pod mount node directories or storage
    /// chosen by the pod author (an NFS export, a block device, a cloud disk) without going
    /// through a PersistentVolume an administrator controls; `gitRepo` even runs `git` on
    /// the node. A volume that names no source at all is allowed: the API server turns it
    /// into an `emptyDir` volume before admission.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: shared
    ///   nfs:                 # reported
    ///     server: nfs.example.com
    ///     path: /exports
    /// ```
    ///
    /// ## Fix
    /// Use a PersistentVolumeClaim bound to an administrator-made PersistentVolume (or a CSI
    /// driver) for external storage, and `emptyDir`, ConfigMaps, Secrets or projected
    /// volumes for the rest.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted: "Volume Types"
    /// - kubernetes/pod-security-admission, check `restrictedVolumes`
    pub static META = {
        id: "KSO-PSS-restrictedVolumes",
        title: "Pod Security Standards: restricted volume type",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:restrictedVolumes")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "restrictedVolumes";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[host_path_volumes::ID] }],
};

/// Volume sources the restricted level accepts.
const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Every other volume source of the core API; the restricted level rejects them.
const RESTRICTED: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for volume in pod.volumes() {
        if ALLOWED.iter().any(|source| volume.get(source).is_some()) {
            continue;
        }
        // A volume without any source the API knows is defaulted to emptyDir by the API
        // server before admission; unknown keys are dropped when decoding.
        let Some(source) = RESTRICTED.iter().find(|source| volume.get(source).is_some()) else { continue };
        let name = item_name(volume);
        sink.report(
            volume.key_pos(source),
            format!("volumes[{name}].{source}"),
            format!("volume {name:?} must not use the restricted volume type {source:?}"),
        );
    }
}
