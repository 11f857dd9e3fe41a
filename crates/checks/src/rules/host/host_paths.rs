//! Reading `hostPath` volumes and sorting their paths into the categories the host-path
//! rules report (`KSO-H005` to `KSO-H009`, `KSO-H012`, `KSO-H013`).

use kubesecops_k8s::{Container, Node, PodTemplate};

/// One `hostPath` volume of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct HostPathVolume<'a> {
    /// The volume's `name`.
    pub name: &'a str,
    /// The volume entry (for the position of its `hostPath` key).
    pub volume: &'a Node,
    /// The `path` value node, when present.
    pub path_node: Option<&'a Node>,
    /// `path` as written.
    pub path: &'a str,
    /// `type` as written (empty when unset).
    pub kind: &'a str,
}

impl HostPathVolume<'_> {
    /// Where to report the volume: its `path` value, else its `hostPath` key.
    pub fn pos(&self) -> kubesecops_k8s::Pos {
        self.path_node.map_or_else(|| self.volume.key_pos("hostPath"), |node| node.pos)
    }

    /// The path in canonical form (see [`normalize`]).
    pub fn normalized(&self) -> String {
        normalize(self.path)
    }

    /// The path as written, quoted, followed by its canonical form when that differs.
    pub fn display(&self) -> String {
        let normalized = self.normalized();
        if normalized == self.path {
            format!("{:?}", self.path)
        } else {
            format!("{:?} (= {normalized})", self.path)
        }
    }

    /// The class of the path; a volume without a path (which the API server rejects) is
    /// [`HostPathClass::Other`].
    pub fn class(&self) -> HostPathClass {
        if self.path.trim().is_empty() {
            return HostPathClass::Other;
        }
        classify(&self.normalized(), self.kind)
    }
}

/// Every `hostPath` volume of the pod spec.
pub fn host_path_volumes<'a>(template: &PodTemplate<'a>) -> Vec<HostPathVolume<'a>> {
    template
        .get("volumes")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|volume| {
            let source = volume.get("hostPath")?;
            let path_node = source.get("path");
            Some(HostPathVolume {
                name: volume.get("name").and_then(Node::as_str).unwrap_or_default(),
                volume,
                path_node,
                path: path_node.and_then(Node::as_str).unwrap_or_default(),
                kind: source.get("type").and_then(Node::as_str).unwrap_or_default(),
            })
        })
        .collect()
}

/// Every mount of the volume `name` across the pod's containers, with its container.
pub fn mounts_of<'a>(template: &PodTemplate<'a>, name: &str) -> Vec<(Container<'a>, &'a Node)> {
    let mut found = Vec::new();
    for container in template.containers() {
        for mount in container.node.get("volumeMounts").map(Node::items).unwrap_or_default() {
            if mount.get("name").and_then(Node::as_str) == Some(name) {
                found.push((container, mount));
            }
        }
    }
    found
}

/// True when the mount is read-only (`readOnly: true`, the boolean).
pub fn is_read_only(mount: &Node) -> bool {
    mount.get("readOnly").and_then(Node::as_bool) == Some(true)
}

/// A host path in canonical form: no repeated or trailing `/`, `.` and `..` resolved
/// lexically (the kubelet does not follow symlinks for us, and neither can we).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// True when `path` is `dir` or inside it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// Which host-path rule a (normalised) path belongs to; each path belongs to at most one so
/// that one mount is not reported four times over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPathClass {
    /// `/` itself (`KSO-H013`).
    Root,
    /// A container runtime socket or its directory (`KSO-H006`).
    RuntimeSocket,
    /// `/proc` or below (`KSO-H009`).
    Proc,
    /// `/dev` or below, or a `CharDevice`/`BlockDevice` path (`KSO-H012`).
    Device,
    /// Another sensitive host location (`KSO-H007`).
    Sensitive(&'static str),
    /// Nothing known to be sensitive.
    Other,
}

/// File names of container runtime API sockets, wherever they live.
const SOCKET_NAMES: &[&str] =
    &["docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "dockershim.sock", "podman.sock"];

/// Directories whose main content is a runtime socket (mounting the directory exposes it).
const SOCKET_DIRS: &[&str] = &[
    "/run",
    "/var/run",
    "/run/containerd",
    "/var/run/containerd",
    "/run/crio",
    "/var/run/crio",
    "/run/docker",
    "/var/run/docker",
    "/run/podman",
    "/var/run/podman",
    "/run/k3s/containerd",
    "/var/snap/microk8s/common/run",
];

/// Sensitive host locations (the location and everything below it), with what is there;
/// the first match wins, so more specific locations come first.
const SENSITIVE: &[(&str, &str)] = &[
    ("/etc/kubernetes", "the node's kubeconfigs and cluster certificates"),
    ("/etc", "host configuration, password hashes, cron and systemd units"),
    ("/root", "root's home: SSH keys and credentials"),
    ("/home", "users' homes: SSH keys and credentials"),
    ("/boot", "the kernel and boot loader"),
    ("/sys", "kernel and device control files"),
    ("/lib", "host libraries and kernel modules"),
    ("/lib64", "host libraries"),
    ("/usr", "host binaries and libraries"),
    ("/bin", "host binaries"),
    ("/sbin", "host system binaries"),
    ("/var/lib/kubelet", "the kubelet's credentials and every pod's secrets and volumes"),
    ("/var/lib/docker", "the container runtime's state: every container's filesystem"),
    ("/var/lib/containerd", "the container runtime's state: every container's filesystem"),
    ("/var/lib/etcd", "the cluster database, including every Secret"),
    ("/var/lib/cni", "the pod network's state"),
    ("/opt/cni", "CNI plugin binaries the kubelet runs as root"),
    ("/var/log", "node and pod logs; the kubelet follows symlinks placed here"),
];

/// Sensitive files that are commonly mounted read-only and expose nothing secret that way
/// (time zone data, public CA certificates).
const BENIGN_WHEN_READ_ONLY: &[&str] = &[
    "/etc/localtime",
    "/etc/timezone",
    "/usr/share/zoneinfo",
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/pki/ca-trust/extracted",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/etc/machine-id",
];

/// Sorts a normalised host path, with the volume's `type`, into a class.
pub fn classify(path: &str, kind: &str) -> HostPathClass {
    let file_name = path.rsplit('/').next().unwrap_or_default();
    if path == "/" {
        HostPathClass::Root
    } else if SOCKET_NAMES.contains(&file_name) || SOCKET_DIRS.contains(&path) {
        HostPathClass::RuntimeSocket
    } else if is_within(path, "/proc") {
        HostPathClass::Proc
    } else if is_within(path, "/dev") || matches!(kind, "CharDevice" | "BlockDevice") {
        HostPathClass::Device
    } else if let Some((_, what)) = SENSITIVE.iter().find(|(dir, _)| is_within(path, dir)) {
        HostPathClass::Sensitive(what)
    } else if SENSITIVE.iter().any(|(dir, _)| is_within(dir, path)) {
        // A parent of a sensitive location (`/var`, `/var/lib`, `/opt`) contains it.
        HostPathClass::Sensitive("directories that contain sensitive host locations")
    } else {
        HostPathClass::Other
    }
}

/// True for sensitive paths that expose nothing secret when every mount is read-only.
pub fn benign_when_read_only(path: &str) -> bool {
    BENIGN_WHEN_READ_ONLY.iter().any(|benign| is_within(path, benign))
}

/// Reports every `hostPath` volume of the object whose path is of `class`, at the path's
/// position, with the message `describe` gives for the volume. The shared body of the rules
/// that each flag one class of host path.
pub fn report_class(
    obj: &kubesecops_k8s::Object,
    class: HostPathClass,
    out: &mut crate::Emitter<'_>,
    describe: impl Fn(&HostPathVolume<'_>) -> String,
) {
    let Some(template) = obj.pod_template() else { return };
    for volume in host_path_volumes(&template).iter().filter(|v| v.class() == class) {
        out.emit(volume.pos(), &format!("volumes[{}].hostPath.path", volume.name), describe(volume));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_lexically() {
        assert_eq!(normalize("/var//run/./docker.sock/"), "/var/run/docker.sock");
        assert_eq!(normalize("/var/lib/../../etc"), "/etc");
        assert_eq!(normalize("///"), "/");
        assert_eq!(normalize("/../.."), "/");
    }

    #[test]
    fn each_path_gets_one_class() {
        assert_eq!(classify("/", ""), HostPathClass::Root);
        assert_eq!(classify("/var/run/docker.sock", "Socket"), HostPathClass::RuntimeSocket);
        assert_eq!(classify("/custom/place/containerd.sock", ""), HostPathClass::RuntimeSocket);
        assert_eq!(classify("/run/containerd", ""), HostPathClass::RuntimeSocket);
        assert_eq!(classify("/proc/sys", ""), HostPathClass::Proc);
        assert_eq!(classify("/dev/sda", ""), HostPathClass::Device);
        assert_eq!(classify("/srv/disk", "BlockDevice"), HostPathClass::Device);
        assert!(matches!(classify("/etc/kubernetes", ""), HostPathClass::Sensitive(_)));
        assert!(matches!(classify("/var", ""), HostPathClass::Sensitive(_)));
        assert!(matches!(classify("/var/lib", ""), HostPathClass::Sensitive(_)));
        assert_eq!(classify("/var/lib/app-data", ""), HostPathClass::Other);
        assert_eq!(classify("/etcetera", ""), HostPathClass::Other);
        assert_eq!(classify("/processes", ""), HostPathClass::Other);
        assert!(benign_when_read_only("/etc/ssl/certs"));
        assert!(!benign_when_read_only("/etc/ssl"));
    }
}
