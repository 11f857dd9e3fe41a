use kubesecops_k8s::{Node, Object};

use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Container ports with a `hostPort` other than `0`, in any container list.
    ///
    /// ## Why it matters
    /// A host port binds the port on the node's own addresses and forwards it to the pod. The
    /// service is then reachable by anything that can reach the node, past Services and often
    /// past NetworkPolicies, and it limits the pod to one replica per node. A host port can
    /// also shadow a port a node service expects, or be used to intercept traffic meant for
    /// the node.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: registry.example.com/web:3.1
    ///   ports:
    ///   - containerPort: 8080
    ///     hostPort: 80        # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPort` and expose the pod through a Service (`ClusterIP`, or `NodePort` /
    /// `LoadBalancer` when it must be reached from outside).
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Host Ports"
    /// - CIS Kubernetes Benchmark 5.2.13
    pub static META = {
        id: "KSO-H004",
        title: "Host port exposed",
        severity: Medium,
        category: HostAccess,
        aliases: ["KSV-0024", "CKV_K8S_26", "C-0044", "C-0204", "hostPortSet"],
        frameworks: [Cis("5.2.13"), Pss("baseline:hostPorts")],
    };
}

/// Reports each non-zero `hostPort`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for port in container.node.get("ports").map(Node::items).unwrap_or_default() {
            let Some(node) = port.get("hostPort") else { continue };
            let Some(host_port) = node.as_i64().filter(|p| *p != 0) else { continue };
            let ip = port
                .get("hostIP")
                .and_then(Node::as_str)
                .map(|ip| format!(" (host IP {ip})"))
                .unwrap_or_default();
            out.emit(
                node.pos,
                &format!("{}.ports[hostPort={host_port}]", container.key()),
                format!("container {:?} binds port {host_port} of the node{ip}", container.name()),
            );
        }
    });
}
