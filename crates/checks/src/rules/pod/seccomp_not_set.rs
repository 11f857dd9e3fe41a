use kubesecops_k8s::Object;

use crate::rules::pod::profile_settings::{seccomp, Profile};
use crate::rules::util::{for_each_container, is_windows_pod, sc_anchor, show_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Linux containers that get no seccomp profile: neither their own
    /// `securityContext.seccompProfile` nor the pod's sets `RuntimeDefault` or `Localhost`.
    /// The legacy annotations (`seccomp.security.alpha.kubernetes.io/pod`,
    /// `container.seccomp.security.alpha.kubernetes.io/<name>`) with `runtime/default`,
    /// `docker/default` or `localhost/...` still count, as the API server still copies them
    /// into the fields of new pods. An explicit `Unconfined` is left to `KSO-C017`; a type
    /// Kubernetes does not define is reported here. Pods that declare
    /// `spec.os.name: windows` are skipped.
    ///
    /// ## Why it matters
    /// Kubernetes runs containers without any seccomp filter unless told otherwise (or unless
    /// every kubelet was started with `seccompDefault`). Every one of the kernel's ~400 system
    /// calls is then open to the process, including the rarely used ones where most
    /// container-escape kernel bugs live (`unshare`, `keyctl`, `io_uring`, `bpf`, ...). The
    /// runtime's default profile blocks those at no cost to ordinary applications.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///   - name: web                          # no seccompProfile anywhere: reported
    ///     image: registry.example.com/web:3.1
    /// ```
    ///
    /// ## Fix
    /// Set `seccompProfile: {type: RuntimeDefault}` in the pod's `securityContext` (every
    /// container inherits it), or a `Localhost` profile tailored to the application.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, restricted level, "Seccomp"
    /// - CIS Kubernetes Benchmark 5.7.2
    /// - Kubernetes documentation, "Restrict a Container's Syscalls with seccomp"
    pub static META = {
        id: "KSO-C016",
        title: "Seccomp profile not set",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0030", "CKV_K8S_31", "C-0210", "container-seccomp-profile"],
        frameworks: [Cis("5.7.2"), NsaCisa("hardening container environments"), Pss("restricted:seccompProfile_restricted")],
    };
}

/// Reports each Linux container that gets neither `RuntimeDefault` nor `Localhost`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let key = container.key_with(".securityContext.seccompProfile");
        let name = container.name();
        match seccomp(template, &container) {
            Some(setting) => {
                if setting.profile == Profile::Unknown {
                    out.emit(
                        setting.node.pos,
                        &key,
                        format!(
                            "container {name:?} gets seccomp profile {} from {}, which Kubernetes does not define",
                            show_value(setting.node),
                            setting.origin()
                        ),
                    );
                }
            }
            None => out.emit(
                sc_anchor(&container),
                &key,
                format!("container {name:?} sets no seccomp profile at container or pod level"),
            ),
        }
    });
}
