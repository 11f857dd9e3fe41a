//! `appArmorProfile`: AppArmor may not be disabled or replaced by an unknown profile.

use kubesecops_k8s::Node;

use crate::declare_rule;
use crate::pss::pod::{string_field, text, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `appArmorProfile` (baseline level, every version):
    /// - `securityContext.appArmorProfile.type` of the pod and of every container, when
    ///   the profile is set, must be `RuntimeDefault` or `Localhost`;
    /// - the older per-container annotations
    ///   `container.apparmor.security.beta.kubernetes.io/<container>` must be empty,
    ///   `runtime/default` or `localhost/<profile>`.
    ///
    /// ## Why it matters
    /// The runtime's default AppArmor profile blocks writes to sensitive `/proc` and `/sys`
    /// files and mounting filesystems. `Unconfined` switches that protection off.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   appArmorProfile:
    ///     type: Unconfined   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove the override, or use `RuntimeDefault`, or a `Localhost` profile written for
    /// the application.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "AppArmor"
    /// - kubernetes/pod-security-admission, check `appArmorProfile`
    pub static META = {
        id: "KSO-PSS-appArmorProfile",
        title: "Pod Security Standards: AppArmor disabled or overridden",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:appArmorProfile")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "appArmorProfile";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if let Some(sc) = pod.security_context() {
        check_field(sc, "securityContext", "pod", sink);
    }
    for container in &pod.containers {
        if let Some(sc) = container.security_context() {
            let key = container.key_with(".securityContext");
            check_field(sc, &key, &format!("container {:?}", container.name()), sink);
        }
    }
    for entry in pod.annotations() {
        if !entry.key.starts_with(ANNOTATION_PREFIX) {
            continue;
        }
        let value = text(&entry.value);
        let allowed = value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
        if !allowed {
            sink.report(
                entry.key_pos,
                format!("metadata.annotations[{}]", entry.key),
                format!("annotation {}={value:?} selects a forbidden AppArmor profile", entry.key),
            );
        }
    }
}

/// `appArmorProfile` of one security context, when it is set.
fn check_field(sc: &Node, key: &str, who: &str, sink: &mut Sink<'_>) {
    let Some(profile) = sc.get("appArmorProfile") else { return };
    let kind = string_field(profile, "type");
    if !matches!(kind, "RuntimeDefault" | "Localhost") {
        let pos = if profile.entry("type").is_some() {
            profile.key_pos("type")
        } else {
            sc.key_pos("appArmorProfile")
        };
        sink.report(
            pos,
            format!("{key}.appArmorProfile.type"),
            format!("{who} must not set securityContext.appArmorProfile.type to {kind:?}"),
        );
    }
}
