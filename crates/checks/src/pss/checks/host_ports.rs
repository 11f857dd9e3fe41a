//! `hostPorts`: no container port bound on the node.

use kubesecops_k8s::ContainerKind;

use crate::declare_rule;
use crate::pss::pod::{Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `hostPorts` (baseline level, every version): no
    /// entry of a container's `ports` may set a non-zero `hostPort`. In a Pod with
    /// `hostNetwork: true` the API server fills an unset `hostPort` with the `containerPort`
    /// before admission, so those ports count as host ports too.
    ///
    /// ## Why it matters
    /// A host port binds the container directly on the node's network interfaces, bypassing
    /// Services and most NetworkPolicy setups, and it lets a pod claim a port that node
    /// software or other tenants expect to own.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   ports:
    ///   - containerPort: 8080
    ///     hostPort: 80   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPort` and expose the port through a Service (ClusterIP, NodePort or
    /// LoadBalancer) or an Ingress.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Host Ports"
    /// - kubernetes/pod-security-admission, check `hostPorts`
    pub static META = {
        id: "KSO-PSS-hostPorts",
        title: "Pod Security Standards: host port",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [Pss("baseline:hostPorts")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "hostPorts";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    // In a Pod on the host network the API server defaults each unset hostPort of regular and
    // init containers to its containerPort, before admission sees the pod.
    let defaulted = pod.is_pod && pod.spec.get("hostNetwork").and_then(|n| n.as_bool()) == Some(true);
    for container in &pod.containers {
        let ports = container.node.get("ports").map_or(&[][..], |n| n.items());
        let defaults_here = defaulted && container.kind != ContainerKind::Ephemeral;
        for port in ports {
            let explicit = port.get("hostPort").and_then(|n| n.as_i64()).unwrap_or(0);
            let (host_port, field, how) = if explicit != 0 {
                (explicit, "hostPort", "")
            } else if defaults_here {
                let container_port = port.get("containerPort").and_then(|n| n.as_i64()).unwrap_or(0);
                (container_port, "containerPort", " (hostNetwork makes the container port a host port)")
            } else {
                (0, "", "")
            };
            if host_port == 0 {
                continue;
            }
            sink.report(
                port.key_pos(field),
                format!("{}.ports[hostPort={host_port}]", container.key()),
                format!("container {:?} must not use hostPort {host_port}{how}", container.name()),
            );
        }
    }
}
