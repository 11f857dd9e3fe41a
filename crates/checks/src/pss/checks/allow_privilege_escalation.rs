//! `allowPrivilegeEscalation`: every container must forbid privilege escalation.

use crate::declare_rule;
use crate::pss::pod::{container_field, pos_along, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `allowPrivilegeEscalation` (restricted level, from
    /// v1.8): every container must set `securityContext.allowPrivilegeEscalation: false`;
    /// unset counts as allowed escalation. From v1.25 pods with `spec.os.name: windows` are
    /// exempt (the field does not exist on Windows).
    ///
    /// ## Why it matters
    /// Unless `no_new_privs` is set, which is what `allowPrivilegeEscalation: false` does, a
    /// process can gain privileges through set-user-ID binaries or file capabilities, turning
    /// a foothold as an unprivileged user into root inside the container.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   image: registry.example.com/app:1.0
    ///   # reported: allowPrivilegeEscalation is not set to false
    /// ```
    ///
    /// ## Fix
    /// Add `securityContext.allowPrivilegeEscalation: false` to every container, init and
    /// ephemeral containers included.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted: "Privilege Escalation"
    /// - kubernetes/pod-security-admission, check `allowPrivilegeEscalation`
    pub static META = {
        id: "KSO-PSS-allowPrivilegeEscalation",
        title: "Pod Security Standards: privilege escalation not disabled",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:allowPrivilegeEscalation")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "allowPrivilegeEscalation";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[
        Since { minor: 8, run: since_1_8, overrides: &[] },
        Since { minor: 25, run: since_1_25, overrides: &[] },
    ],
};

fn since_1_8(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for container in &pod.containers {
        let value = container_field(container, "allowPrivilegeEscalation").and_then(|n| n.as_bool());
        if value != Some(false) {
            let detail = if value == Some(true) { "must not set" } else { "must set" };
            let wanted = if value == Some(true) { "true" } else { "false" };
            sink.report(
                pos_along(container.node, &["securityContext", "allowPrivilegeEscalation"]),
                container.key_with(".securityContext.allowPrivilegeEscalation"),
                format!(
                    "container {:?} {detail} securityContext.allowPrivilegeEscalation={wanted}",
                    container.name()
                ),
            );
        }
    }
}

fn since_1_25(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if !pod.is_windows() {
        since_1_8(pod, sink);
    }
}
