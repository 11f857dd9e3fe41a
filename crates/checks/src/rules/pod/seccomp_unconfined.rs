use kubesecops_k8s::Object;

use crate::rules::pod::profile_settings::{seccomp, Profile};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose seccomp profile is explicitly disabled: `seccompProfile.type:
    /// Unconfined` in their own `securityContext` or inherited from the pod's, or `unconfined`
    /// in the legacy annotations `container.seccomp.security.alpha.kubernetes.io/<name>` and
    /// `seccomp.security.alpha.kubernetes.io/pod`. The setting that wins is the one the
    /// kubelet applies: container field, container annotation, pod field, pod annotation.
    ///
    /// ## Why it matters
    /// `Unconfined` removes the system-call filter even on clusters whose kubelets default to
    /// `RuntimeDefault`. The process can then call `unshare`, `keyctl`, `bpf`, `ptrace` and
    /// the other rarely needed system calls behind most kernel-based container escapes
    /// (MITRE ATT&CK T1611). The Pod Security baseline level forbids it.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     seccompProfile:
    ///       type: Unconfined     # reported for each container that does not override it
    /// ```
    ///
    /// ## Fix
    /// Use `RuntimeDefault`, or a `Localhost` profile that allows the extra system calls the
    /// application really makes.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Seccomp"
    /// - Kubernetes documentation, "Restrict a Container's Syscalls with seccomp"
    pub static META = {
        id: "KSO-C017",
        title: "Seccomp disabled (Unconfined)",
        severity: High,
        category: PodSecurity,
        aliases: ["KSV-0104"],
        frameworks: [MitreAttack("T1611"), Pss("baseline:seccompProfile_baseline")],
    };
}

/// Reports each container whose effective seccomp profile is unconfined.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        let Some(setting) = seccomp(template, &container) else { return };
        if setting.profile != Profile::Unconfined {
            return;
        }
        out.emit(
            setting.node.pos,
            &container.key_with(".securityContext.seccompProfile"),
            format!(
                "container {:?} runs without seccomp: Unconfined set in {}",
                container.name(),
                setting.origin()
            ),
        );
    });
}
