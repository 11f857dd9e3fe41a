use kubesecops_k8s::Object;

use crate::rules::pod::profile_settings::{apparmor, Profile};
use crate::rules::util::{for_each_container, show_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose AppArmor profile is disabled or invalid: `appArmorProfile.type:
    /// Unconfined` (own or inherited from the pod), or the legacy annotation
    /// `container.apparmor.security.beta.kubernetes.io/<name>` set to `unconfined` or to
    /// anything but `runtime/default` or `localhost/<profile>`. The container's own field wins
    /// over its annotation, which wins over the pod field.
    ///
    /// ## Why it matters
    /// On nodes with AppArmor, the runtime's default profile denies writes to `/proc` and
    /// `/sys` files, mounting, and other operations used to break out of a container.
    /// `Unconfined` switches all of that off (MITRE ATT&CK T1611); the Pod Security baseline
    /// level forbids it. An unknown value is worse than useless: depending on the version the
    /// pod is rejected or the container does not start.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     container.apparmor.security.beta.kubernetes.io/web: unconfined   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove the setting (the runtime default applies) or use `RuntimeDefault` / a
    /// `Localhost` profile. Prefer the `appArmorProfile` field to the deprecated annotation.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "AppArmor"
    /// - Kubernetes documentation, "Restrict a Container's Access to Resources with AppArmor"
    pub static META = {
        id: "KSO-C018",
        title: "AppArmor disabled (unconfined)",
        severity: High,
        category: PodSecurity,
        aliases: ["KSV-0002"],
        frameworks: [MitreAttack("T1611"), Pss("baseline:appArmorProfile")],
    };
}

/// Reports each container whose effective AppArmor profile is unconfined or unknown.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        let Some(setting) = apparmor(template, &container) else { return };
        let name = container.name();
        let message = match setting.profile {
            Profile::Confined => return,
            Profile::Unconfined => {
                format!("container {name:?} runs without AppArmor: unconfined set in {}", setting.origin())
            }
            Profile::Unknown => format!(
                "container {name:?} gets AppArmor profile {} from {}, which Kubernetes does not define",
                show_value(setting.node),
                setting.origin()
            ),
        };
        out.emit(setting.node.pos, &container.key_with(".securityContext.appArmorProfile"), message);
    });
}
