//! `privileged`: no container may run privileged.

use crate::declare_rule;
use crate::pss::pod::{container_field, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `privileged` (baseline level, every version): no
    /// init, regular or ephemeral container may set `securityContext.privileged: true`.
    ///
    /// ## Why it matters
    /// A privileged container gets every Linux capability and direct access to the node's
    /// devices. Whoever controls its process can mount the node's disks or load kernel
    /// modules, which hands over the node and every workload on it.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: agent
    ///   image: registry.example.com/agent:2.0
    ///   securityContext:
    ///     privileged: true   # reported
    /// ```
    ///
    /// ## Fix
    /// Delete `privileged: true` (or set it to `false`). If the process needs one specific
    /// kernel permission, grant just that capability instead.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Privileged Containers"
    /// - kubernetes/pod-security-admission, check `privileged`
    pub static META = {
        id: "KSO-PSS-privileged",
        title: "Pod Security Standards: privileged container",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:privileged")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "privileged";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for container in &pod.containers {
        let Some(sc) = container.security_context() else { continue };
        if container_field(container, "privileged").and_then(|n| n.as_bool()) == Some(true) {
            sink.report(
                sc.key_pos("privileged"),
                container.key_with(".securityContext.privileged"),
                format!("container {:?} must not set securityContext.privileged=true", container.name()),
            );
        }
    }
}
