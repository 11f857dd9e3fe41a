//! `capabilities_restricted`: drop ALL capabilities, add back at most NET_BIND_SERVICE.

use crate::declare_rule;
use crate::pss::checks::capabilities_baseline;
use crate::pss::pod::{pos_along, text, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `capabilities_restricted` (restricted level, from
    /// v1.22, in place of `capabilities_baseline`): every container must list `ALL` in
    /// `securityContext.capabilities.drop`, and `capabilities.add` may only hold
    /// `NET_BIND_SERVICE`. From v1.25 pods with `spec.os.name: windows` are exempt.
    ///
    /// ## Why it matters
    /// Even the runtime's default capabilities (`CHOWN`, `DAC_OVERRIDE`, `SETUID`,
    /// `NET_RAW`, ...) widen what an intruder can do inside the container and the kernel
    /// attack surface it can reach. Most applications need none of them.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: ["NET_RAW"]   # reported: ALL is not dropped
    /// ```
    ///
    /// ## Fix
    /// Set `capabilities.drop: ["ALL"]` and, only for a process binding a port below 1024,
    /// `capabilities.add: ["NET_BIND_SERVICE"]`.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted: "Capabilities"
    /// - kubernetes/pod-security-admission, check `capabilities_restricted`
    pub static META = {
        id: "KSO-PSS-capabilities_restricted",
        title: "Pod Security Standards: capabilities not dropped",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:capabilities_restricted")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "capabilities_restricted";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[
        Since { minor: 22, run: since_1_22, overrides: &[capabilities_baseline::ID] },
        Since { minor: 25, run: since_1_25, overrides: &[capabilities_baseline::ID] },
    ],
};

fn since_1_22(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for container in &pod.containers {
        let key = container.key_with(".securityContext.capabilities");
        let capabilities = container.security_context().and_then(|sc| sc.get("capabilities"));
        let dropped = capabilities.and_then(|c| c.get("drop")).map_or(&[][..], |n| n.items());
        if !dropped.iter().any(|item| text(item) == "ALL") {
            sink.report(
                pos_along(container.node, &["securityContext", "capabilities", "drop"]),
                format!("{key}.drop"),
                format!(
                    "container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                    container.name()
                ),
            );
        }
        let added = capabilities.and_then(|c| c.get("add")).map_or(&[][..], |n| n.items());
        for item in added {
            let capability = text(item);
            if capability != "NET_BIND_SERVICE" {
                sink.report(
                    item.pos,
                    format!("{key}.add[{capability}]"),
                    format!(
                        "container {:?} must not add capability {capability:?} (only NET_BIND_SERVICE may be added)",
                        container.name()
                    ),
                );
            }
        }
    }
}

fn since_1_25(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if !pod.is_windows() {
        since_1_22(pod, sink);
    }
}
