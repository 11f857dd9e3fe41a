//! `capabilities_baseline`: only the container runtime's default capabilities may be added.

use crate::declare_rule;
use crate::pss::pod::{text, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `capabilities_baseline` (baseline level, every
    /// version): `securityContext.capabilities.add` of every container may only name
    /// capabilities that container runtimes grant by default anyway: `AUDIT_WRITE`, `CHOWN`,
    /// `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`,
    /// `SETGID`, `SETPCAP`, `SETUID` and `SYS_CHROOT` (exact, upper-case names). From v1.22
    /// the restricted level replaces it with `capabilities_restricted`.
    ///
    /// ## Why it matters
    /// Capabilities such as `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE` or `SYS_MODULE` are
    /// pieces of root's power over the kernel; most container escapes need one of them.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["NET_ADMIN"]   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove the extra capability. Move the privileged operation (network setup, tracing)
    /// to node-level tooling or to a narrowly scoped, separately reviewed workload.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Capabilities"
    /// - kubernetes/pod-security-admission, check `capabilities_baseline`
    pub static META = {
        id: "KSO-PSS-capabilities_baseline",
        title: "Pod Security Standards: non-default capability added",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:capabilities_baseline")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "capabilities_baseline";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

// Capabilities the common container runtimes grant without being asked: the baseline
// level's allowed set, one list shared with the manifest rules.
use crate::rules::pod::capability_sets::BASELINE as RUNTIME_DEFAULT;

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for container in &pod.containers {
        let added = container.security_context().and_then(|sc| sc.path(&["capabilities", "add"]));
        for item in added.map_or(&[][..], |n| n.items()) {
            let capability = text(item);
            if !RUNTIME_DEFAULT.contains(&capability) {
                sink.report(
                    item.pos,
                    format!("{}.securityContext.capabilities.add[{capability}]", container.key()),
                    format!(
                        "container {:?} must not add capability {capability:?}, which is not in the default set",
                        container.name()
                    ),
                );
            }
        }
    }
}
