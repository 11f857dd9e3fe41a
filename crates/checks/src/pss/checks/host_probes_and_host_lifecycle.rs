//! `hostProbesAndHostLifecycle`: probes and lifecycle hooks may not target another host.

use crate::declare_rule;
use crate::pss::pod::{string_field, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `hostProbesAndHostLifecycle` (baseline level, from
    /// v1.34): in every container, the `host` of `httpGet` and `tcpSocket` handlers of
    /// `livenessProbe`, `readinessProbe`, `startupProbe` and of the `postStart` and
    /// `preStop` lifecycle hooks must be unset or empty.
    ///
    /// ## Why it matters
    /// Probes and hooks are run by the kubelet from the node. Pointing their `host` at
    /// another address makes the kubelet send requests on the pod's behalf, from the node's
    /// network position: a server-side request forgery path to node-local services, cloud
    /// metadata endpoints or other internal addresses.
    ///
    /// ## Example
    /// ```yaml
    /// livenessProbe:
    ///   httpGet:
    ///     host: 169.254.169.254   # reported
    ///     path: /latest/meta-data/
    ///     port: 80
    /// ```
    ///
    /// ## Fix
    /// Remove `host`: the probe then targets the pod's own IP address, which is what a
    /// health check needs.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Probes / Lifecycle Handlers"
    /// - kubernetes/pod-security-admission, check `hostProbesAndHostLifecycle`
    pub static META = {
        id: "KSO-PSS-hostProbesAndHostLifecycle",
        title: "Pod Security Standards: probe or lifecycle hook targets a host",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [Pss("baseline:hostProbesAndHostLifecycle")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "hostProbesAndHostLifecycle";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 34, run: since_1_34, overrides: &[] }],
};

const HANDLERS: [&[&str]; 5] = [
    &["livenessProbe"],
    &["readinessProbe"],
    &["startupProbe"],
    &["lifecycle", "postStart"],
    &["lifecycle", "preStop"],
];

fn since_1_34(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for container in &pod.containers {
        for path in HANDLERS {
            let Some(handler) = container.node.path(path) else { continue };
            for action in ["httpGet", "tcpSocket"] {
                let Some(target) = handler.get(action) else { continue };
                let host = string_field(target, "host");
                if host.is_empty() {
                    continue;
                }
                let field = format!("{}.{action}.host", path.join("."));
                sink.report(
                    target.key_pos("host"),
                    format!("{}.{field}", container.key()),
                    format!("container {:?} must not set {field} (it is {host:?})", container.name()),
                );
            }
        }
    }
}
