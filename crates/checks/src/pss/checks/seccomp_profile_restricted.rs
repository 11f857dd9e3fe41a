//! `seccompProfile_restricted`: a seccomp profile must be set for every container.

use crate::declare_rule;
use crate::pss::checks::seccomp_profile_baseline::{self, allowed_type, check_field};
use crate::pss::pod::{pos_along, string_field, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `seccompProfile_restricted` (restricted level, from
    /// v1.19, in place of `seccompProfile_baseline`): every container must run under a
    /// seccomp profile of type `RuntimeDefault` or `Localhost`, set on the container or
    /// inherited from the pod's `securityContext.seccompProfile`; any other type set at
    /// either place is forbidden. From v1.25 pods with `spec.os.name: windows` are exempt.
    ///
    /// ## Why it matters
    /// Without a profile a container may make any system call, including the rarely used
    /// ones behind many kernel privilege-escalation exploits. Kubernetes does not apply the
    /// runtime's default profile unless asked to.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///   - name: app   # reported: no seccomp profile for this container or the pod
    ///     image: registry.example.com/app:1.0
    /// ```
    ///
    /// ## Fix
    /// Add to the pod:
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: RuntimeDefault
    /// ```
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted: "Seccomp"
    /// - kubernetes/pod-security-admission, check `seccompProfile_restricted`
    pub static META = {
        id: "KSO-PSS-seccompProfile_restricted",
        title: "Pod Security Standards: seccomp profile not set",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:seccompProfile_restricted")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "seccompProfile_restricted";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[
        Since { minor: 19, run: since_1_19, overrides: &[seccomp_profile_baseline::ID] },
        Since { minor: 25, run: since_1_25, overrides: &[seccomp_profile_baseline::ID] },
    ],
};

fn since_1_19(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    let pod_sc = pod.security_context();
    if let Some(sc) = pod_sc {
        check_field(sc, "securityContext", "pod", sink);
    }
    // Only an allowed pod-level profile covers containers that set none.
    let pod_profile = pod_sc.and_then(|sc| sc.get("seccompProfile"));
    let covered_by_pod = pod_profile.is_some_and(|p| allowed_type(string_field(p, "type")));
    for container in &pod.containers {
        let key = container.key_with(".securityContext");
        match container.security_context().filter(|sc| sc.get("seccompProfile").is_some()) {
            Some(sc) => {
                check_field(sc, &key, &format!("container {:?}", container.name()), sink);
            }
            None if covered_by_pod => {}
            None => sink.report(
                pos_along(container.node, &["securityContext", "seccompProfile"]),
                format!("{key}.seccompProfile.type"),
                format!(
                    "container {:?} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \
                     \"Localhost\" (or the pod must)",
                    container.name()
                ),
            ),
        }
    }
}

fn since_1_25(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if !pod.is_windows() {
        since_1_19(pod, sink);
    }
}
