use kubesecops_k8s::Object;

use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

/// Probe fields and lifecycle hooks whose handlers the kubelet runs.
const HANDLERS: &[(&str, &[&str])] = &[
    ("livenessProbe", &["livenessProbe"]),
    ("readinessProbe", &["readinessProbe"]),
    ("startupProbe", &["startupProbe"]),
    ("lifecycle.postStart", &["lifecycle", "postStart"]),
    ("lifecycle.preStop", &["lifecycle", "preStop"]),
];

declare_rule! {
    /// ## What it checks
    /// Probes (`livenessProbe`, `readinessProbe`, `startupProbe`) and lifecycle hooks
    /// (`postStart`, `preStop`) whose `httpGet.host` or `tcpSocket.host` is set to anything.
    /// Without `host`, the kubelet targets the pod's own IP, which is what probes are for.
    ///
    /// ## Why it matters
    /// The kubelet runs these checks itself, from the node's network namespace and with the
    /// node's network identity. A `host` field turns it into a request forger: the manifest
    /// can point it at the cloud metadata service (MITRE ATT&CK T1552.005), at services bound
    /// to the node's loopback (`localhost` here means the node, not the pod), or at internal
    /// addresses the pod itself may not reach, past every NetworkPolicy. Responses leak back
    /// through probe status and events.
    ///
    /// ## Example
    /// ```yaml
    /// livenessProbe:
    ///   httpGet:
    ///     host: 169.254.169.254     # reported
    ///     path: /latest/meta-data/
    ///     port: 80
    /// ```
    ///
    /// ## Fix
    /// Remove `host`. To send a specific `Host` header, use `httpGet.httpHeaders`; the
    /// connection then still goes to the pod.
    ///
    /// ## References
    /// - Kubernetes documentation, "Configure Liveness, Readiness and Startup Probes"
    /// - Kubernetes API reference, `HTTPGetAction.host`
    pub static META = {
        id: "KSO-H011",
        title: "Probe or lifecycle hook targets another host",
        severity: Medium,
        category: HostAccess,
        aliases: [],
        frameworks: [MitreAttack("T1552.005")],
    };
}

/// Reports each probe or hook handler with a `host`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (label, path) in HANDLERS {
            let Some(handler) = container.node.path(path) else { continue };
            for action in ["httpGet", "tcpSocket"] {
                let Some(node) = handler.get(action).and_then(|a| a.get("host")) else { continue };
                let host = node.as_str().unwrap_or_default();
                if host.is_empty() {
                    continue;
                }
                out.emit(
                    node.pos,
                    &format!("{}.{label}.{action}.host", container.key()),
                    format!(
                        "container {:?} {label} points the kubelet's {action} at host {host:?}; the request comes from the node",
                        container.name()
                    ),
                );
            }
        }
    });
}
