use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Nodes whose `status.nodeInfo.kubeletVersion` or `kubeProxyVersion` is affected by a
    /// vulnerability of our own table (below), compared by minor release: a version is
    /// affected when its minor release has a fixed patch and it is older, or when its minor
    /// release is older than every fixed one (those releases got no fix). Windows-only
    /// vulnerabilities are reported for Windows nodes only.
    ///
    /// | CVE | component | fixed in | what |
    /// |---|---|---|---|
    /// | CVE-2020-8557 | kubelet | 1.16.13, 1.17.9, 1.18.6 | `/etc/hosts` writes escape ephemeral-storage eviction (node DoS) |
    /// | CVE-2020-8558 | kube-proxy | 1.16.11, 1.17.7, 1.18.4 | `route_localnet`: services bound to localhost reachable from neighbours |
    /// | CVE-2021-25741 | kubelet | 1.19.15, 1.20.11, 1.21.5, 1.22.2 | subPath symlink exchange: host filesystem access |
    /// | CVE-2023-2431 | kubelet | 1.24.14, 1.25.10, 1.26.5, 1.27.2 | an empty localhost seccomp profile runs unconfined |
    /// | CVE-2023-3676 | kubelet (Windows) | 1.24.17, 1.25.13, 1.26.8, 1.27.5, 1.28.1 | command injection through pod fields: admin on the node |
    /// | CVE-2024-10220 | kubelet | 1.28.12, 1.29.7, 1.30.3, 1.31.0 | gitRepo volumes run code from the repository's hooks on the node |
    ///
    /// ## Why it matters
    /// The kubelet runs as root on every node and kube-proxy programs its network; a known
    /// flaw in them turns a pod into node access or exposes node-local services (MITRE
    /// ATT&CK T1068, exploitation for privilege escalation). Published exploits exist for
    /// several of these.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Node
    /// metadata: {name: worker-1}
    /// status:
    ///   nodeInfo:
    ///     kubeletVersion: v1.20.2     # reported: CVE-2021-25741, ...
    ///     kubeProxyVersion: v1.20.2
    ///     operatingSystem: linux
    /// ```
    ///
    /// ## Fix
    /// Upgrade the node to a supported release at its newest patch.
    ///
    /// ## References
    /// - Kubernetes security announcements (kubernetes/kubernetes issues labelled
    ///   `area/security`, the `kubernetes-security-announce` list)
    /// - Kubernetes documentation, "Version Skew Policy"
    pub static META = {
        id: "KSO-K003",
        title: "Node runs a kubelet or kube-proxy with known vulnerabilities",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [MitreAttack("T1068")],
    };
}

/// Which node component an advisory is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Kubelet,
    KubeProxy,
}

/// One vulnerability: fixed patch per minor release (1.x.y as (x, y)).
struct Advisory {
    id: &'static str,
    component: Component,
    windows_only: bool,
    fixed: &'static [(u32, u32)],
}

const ADVISORIES: &[Advisory] = &[
    Advisory {
        id: "CVE-2020-8557",
        component: Component::Kubelet,
        windows_only: false,
        fixed: &[(16, 13), (17, 9), (18, 6)],
    },
    Advisory {
        id: "CVE-2020-8558",
        component: Component::KubeProxy,
        windows_only: false,
        fixed: &[(16, 11), (17, 7), (18, 4)],
    },
    Advisory {
        id: "CVE-2021-25741",
        component: Component::Kubelet,
        windows_only: false,
        fixed: &[(19, 15), (20, 11), (21, 5), (22, 2)],
    },
    Advisory {
        id: "CVE-2023-2431",
        component: Component::Kubelet,
        windows_only: false,
        fixed: &[(24, 14), (25, 10), (26, 5), (27, 2)],
    },
    Advisory {
        id: "CVE-2023-3676",
        component: Component::Kubelet,
        windows_only: true,
        fixed: &[(24, 17), (25, 13), (26, 8), (27, 5), (28, 1)],
    },
    Advisory {
        id: "CVE-2024-10220",
        component: Component::Kubelet,
        windows_only: false,
        fixed: &[(28, 12), (29, 7), (30, 3), (31, 0)],
    },
];

/// `v1.20.2`, `1.27.3+k3s1`, `v1.24.14-eks-abc` → (minor, patch) of Kubernetes 1.x.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let text = text.trim().trim_start_matches('v');
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().unwrap_or("0").parse().ok()?;
    Some((minor, patch))
}

fn affected(advisory: &Advisory, (minor, patch): (u32, u32)) -> bool {
    let oldest = advisory.fixed.iter().map(|(m, _)| *m).min().unwrap_or(0);
    match advisory.fixed.iter().find(|(m, _)| *m == minor) {
        Some((_, fixed_patch)) => patch < *fixed_patch,
        None => minor < oldest,
    }
}

/// Reports nodes whose kubelet or kube-proxy version is in the table.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "Node" || !obj.group().is_empty() {
        return;
    }
    let Some(info) = obj.root.path(&["status", "nodeInfo"]) else { return };
    let windows = info.get("operatingSystem").and_then(Node::as_str) == Some("windows");
    for (field, component, name) in [
        ("kubeletVersion", Component::Kubelet, "kubelet"),
        ("kubeProxyVersion", Component::KubeProxy, "kube-proxy"),
    ] {
        let Some(node) = info.get(field) else { continue };
        let Some(text) = node.as_str() else { continue };
        let Some(version) = parse_version(text) else { continue };
        let ids: Vec<&str> = ADVISORIES
            .iter()
            .filter(|a| a.component == component && (!a.windows_only || windows) && affected(a, version))
            .map(|a| a.id)
            .collect();
        if !ids.is_empty() {
            out.emit(
                node.pos,
                &format!("status.nodeInfo.{field}"),
                format!("{name} {text} is affected by {}", ids.join(", ")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_minor_release() {
        assert_eq!(parse_version("v1.20.2"), Some((20, 2)));
        assert_eq!(parse_version("v1.27.3+k3s1"), Some((27, 3)));
        assert_eq!(parse_version("v1.24.14-eks-abc"), Some((24, 14)));
        assert_eq!(parse_version("v2.0.0"), None);
        let subpath = &ADVISORIES[2];
        assert!(affected(subpath, (20, 2)));
        assert!(!affected(subpath, (20, 11)));
        assert!(affected(subpath, (18, 20)), "older minor releases got no fix");
        assert!(!affected(subpath, (23, 0)), "newer minor releases were never affected");
    }
}
