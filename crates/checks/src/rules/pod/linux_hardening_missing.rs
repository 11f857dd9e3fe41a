use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::listed;
use crate::rules::pod::profile_settings::{apparmor, seccomp, Profile};
use crate::rules::util::{effective_sc, for_each_container, is_windows_pod, sc_anchor};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Linux containers that use none of the kernel's confinement mechanisms: no seccomp
    /// profile (`RuntimeDefault` or `Localhost`, field or legacy annotation), no AppArmor
    /// profile, no SELinux options, and no capability dropped. Pod-level settings the
    /// container inherits count. Pods that declare `spec.os.name: windows` are skipped.
    ///
    /// ## Why it matters
    /// Namespaces and cgroups alone are a thin boundary: a container process talks to the
    /// same kernel as the node. Seccomp, AppArmor, SELinux and dropped capabilities each cut
    /// down what a compromised process can ask of that kernel. A container with none of them
    /// relies on the kernel having no exploitable bug reachable from inside, and on the
    /// application never being compromised.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web                 # no seccomp, AppArmor, SELinux or dropped capability: reported
    ///   image: registry.example.com/web:3.1
    ///   securityContext:
    ///     runAsNonRoot: true
    /// ```
    ///
    /// ## Fix
    /// At least set `seccompProfile: {type: RuntimeDefault}` in the pod's `securityContext`
    /// and `capabilities: {drop: [ALL]}` per container.
    ///
    /// ## References
    /// - NSA-CISA Kubernetes Hardening Guide, "Hardening container environments"
    /// - Kubernetes documentation, "Linux kernel security constraints for Pods and containers"
    pub static META = {
        id: "KSO-C029",
        title: "No Linux kernel hardening",
        severity: Low,
        category: PodSecurity,
        aliases: ["C-0055", "linuxHardening"],
        frameworks: [NsaCisa("hardening container environments")],
    };
}

/// Reports each Linux container with no seccomp, AppArmor, SELinux or capability drop.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let confined = |setting: Option<crate::rules::pod::profile_settings::Setting<'_>>| {
            setting.is_some_and(|s| s.profile == Profile::Confined)
        };
        let hardened = confined(seccomp(template, &container))
            || confined(apparmor(template, &container))
            || effective_sc(template, &container, &["seLinuxOptions"])
                .is_some_and(|(n, _)| !n.entries().is_empty())
            || !listed(&container, "drop").is_empty();
        if hardened {
            return;
        }
        out.emit(
            sc_anchor(&container),
            &container.key_with(".securityContext"),
            format!(
                "container {:?} uses no seccomp or AppArmor profile, no SELinux options and drops no capability",
                container.name()
            ),
        );
    });
}
