use kubesecops_k8s::Object;

use crate::rules::host::host_paths::{report_class, HostPathClass};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `hostPath` volumes that expose a container runtime's API socket: any path whose file
    /// name is `docker.sock`, `containerd.sock`, `crio.sock`, `cri-dockerd.sock`,
    /// `dockershim.sock` or `podman.sock`, and the directories that hold them (`/run`,
    /// `/var/run`, `/run/containerd`, `/run/crio`, `/run/docker`, `/run/podman`, the k3s and
    /// MicroK8s runtime directories). Paths are compared after removing repeated and trailing
    /// slashes and resolving `.` and `..`. A read-only mount does not help: connecting to a
    /// socket is allowed on a read-only mount.
    ///
    /// ## Why it matters
    /// Whoever can talk to the runtime socket can ask the runtime to start a new privileged
    /// container with the node's root filesystem mounted, or to exec into any container on
    /// the node. One compromised pod with this mount owns the node and every workload on it,
    /// and often the cluster through the credentials found there (MITRE ATT&CK T1610, deploy
    /// container; T1611, escape to host).
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: docker
    ///   hostPath:
    ///     path: /var/run/docker.sock   # reported
    ///     type: Socket
    /// ```
    ///
    /// ## Fix
    /// Do not mount the runtime socket. Build images with a rootless builder (BuildKit
    /// rootless, Kaniko, Buildah); read container metadata through the Kubernetes API or a
    /// reviewed node agent.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "HostPath Volumes"
    /// - Docker documentation, "Protect the Docker daemon socket"
    pub static META = {
        id: "KSO-H006",
        title: "Container runtime socket mounted",
        severity: Critical,
        category: HostAccess,
        aliases: ["KSV-0006", "CKV_K8S_27", "C-0074", "docker-sock"],
        frameworks: [MitreAttack("T1610"), MitreAttack("T1611"), Pss("baseline:hostPathVolumes")],
    };
}

/// Reports each `hostPath` volume exposing a container runtime socket.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_class(obj, HostPathClass::RuntimeSocket, out, |volume| {
        format!(
            "volume {:?} exposes the container runtime socket through host path {}: full control of the node",
            volume.name,
            volume.display()
        )
    });
}
