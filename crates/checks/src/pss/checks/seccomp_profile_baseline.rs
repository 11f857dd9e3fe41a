//! `seccompProfile_baseline`: seccomp may not be switched off.

use kubesecops_k8s::Node;

use crate::declare_rule;
use crate::pss::pod::{string_field, text, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `seccompProfile_baseline` (baseline level):
    /// - from v1.19, `securityContext.seccompProfile.type` of the pod and of every
    ///   container, when the profile is set, must be `RuntimeDefault` or `Localhost`;
    /// - before v1.19, the alpha annotations `seccomp.security.alpha.kubernetes.io/pod` and
    ///   `container.seccomp.security.alpha.kubernetes.io/<container>`, when present, must be
    ///   `runtime/default`, `docker/default` or `localhost/<profile>`.
    ///
    /// From v1.19 the restricted level replaces it with `seccompProfile_restricted`.
    ///
    /// ## Why it matters
    /// Seccomp filters the system calls a container may make. `Unconfined` re-opens the
    /// whole kernel interface, including the rarely used calls behind many kernel exploits.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: Unconfined   # reported
    /// ```
    ///
    /// ## Fix
    /// Use `type: RuntimeDefault`, or a `Localhost` profile that allows what the
    /// application needs.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Seccomp"
    /// - kubernetes/pod-security-admission, check `seccompProfile_baseline`
    pub static META = {
        id: "KSO-PSS-seccompProfile_baseline",
        title: "Pod Security Standards: seccomp disabled",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:seccompProfile_baseline")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "seccompProfile_baseline";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[
        Since { minor: 0, run: annotations_1_0, overrides: &[] },
        Since { minor: 19, run: fields_1_19, overrides: &[] },
    ],
};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// True for the profile types the policy accepts.
pub(crate) fn allowed_type(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}

fn annotations_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    let mut checked = Vec::new();
    let wanted = std::iter::once(POD_ANNOTATION.to_string())
        .chain(pod.containers.iter().map(|c| format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name())));
    for name in wanted {
        // A container annotation names a container; two containers of one name share it.
        if checked.contains(&name) {
            continue;
        }
        let Some(entry) = pod.annotations().iter().find(|e| e.key == name) else { continue };
        let value = text(&entry.value);
        let allowed =
            matches!(value, "runtime/default" | "docker/default") || value.starts_with("localhost/");
        if !allowed {
            sink.report(
                entry.key_pos,
                format!("metadata.annotations[{name}]"),
                format!("annotation {name}={value:?} selects a forbidden seccomp profile"),
            );
        }
        checked.push(name);
    }
}

fn fields_1_19(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if let Some(sc) = pod.security_context() {
        check_field(sc, "securityContext", "pod", sink);
    }
    for container in &pod.containers {
        if let Some(sc) = container.security_context() {
            let key = container.key_with(".securityContext");
            check_field(sc, &key, &format!("container {:?}", container.name()), sink);
        }
    }
}

/// Reports a set `seccompProfile` whose type is not allowed.
pub(crate) fn check_field(sc: &Node, key: &str, who: &str, sink: &mut Sink<'_>) {
    let Some(profile) = sc.get("seccompProfile") else { return };
    let kind = string_field(profile, "type");
    if allowed_type(kind) {
        return;
    }
    let pos =
        if profile.entry("type").is_some() { profile.key_pos("type") } else { sc.key_pos("seccompProfile") };
    sink.report(
        pos,
        format!("{key}.seccompProfile.type"),
        format!("{who} must not set securityContext.seccompProfile.type to {kind:?}"),
    );
}
