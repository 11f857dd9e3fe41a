//! `procMount`: the default masking of /proc may not be switched off.

use crate::declare_rule;
use crate::pss::pod::{Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `procMount` (baseline level):
    /// `securityContext.procMount` of every container must be unset or `Default`. From
    /// v1.35 a pod with `hostUsers: false` (its own user namespace) may use any value. From
    /// v1.35 the restricted level replaces it with `procMount_restricted`, which keeps the
    /// rule for user-namespaced pods too.
    ///
    /// ## Why it matters
    /// Container runtimes mask and make read-only parts of `/proc` (such as
    /// `/proc/sys`, `/proc/kcore`, `/proc/sysrq-trigger`) that expose or control the node's
    /// kernel. `Unmasked` removes that protection.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   procMount: Unmasked   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `procMount`, or run the pod with `hostUsers: false` when an unmasked `/proc`
    /// is truly needed (nested containers).
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "/proc Mount Type"
    /// - kubernetes/pod-security-admission, check `procMount`
    pub static META = {
        id: "KSO-PSS-procMount",
        title: "Pod Security Standards: unmasked /proc",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:procMount")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "procMount";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[
        Since { minor: 0, run: default_only, overrides: &[] },
        Since { minor: 35, run: since_1_35, overrides: &[] },
    ],
};

/// Every container keeps the default `/proc` masking (shared with `procMount_restricted`).
pub(crate) fn default_only(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for container in &pod.containers {
        let Some(sc) = container.security_context() else { continue };
        let Some(value) = sc.get("procMount") else { continue };
        let value = value.as_str().unwrap_or("");
        if value != "Default" {
            sink.report(
                sc.key_pos("procMount"),
                container.key_with(".securityContext.procMount"),
                format!(
                    "container {:?} must not set securityContext.procMount to {value:?}",
                    container.name()
                ),
            );
        }
    }
}

fn since_1_35(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if !pod.in_user_namespace() {
        default_only(pod, sink);
    }
}
