use kubesecops_k8s::Object;

use crate::rules::util::{for_each_container, sc_field, show_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose `securityContext.procMount` is anything but `Default`, in practice
    /// `Unmasked`.
    ///
    /// ## Why it matters
    /// The runtime normally masks parts of `/proc` (`/proc/kcore`, `/proc/sysrq-trigger`,
    /// `/proc/sys`, timer and key lists, ...) and makes others read-only. `Unmasked` hands the
    /// container the full `/proc`: kernel memory images, the sysrq trigger that can crash or
    /// reboot the node, and kernel tunables, each a known step to leaking host data or
    /// breaking out (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: nested-runtime
    ///   image: registry.example.com/buildkit:0.13
    ///   securityContext:
    ///     procMount: Unmasked   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `procMount` (or set `Default`). Nested container builds can use rootless
    /// builders that do not need an unmasked `/proc`.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "/proc Mount Type"
    pub static META = {
        id: "KSO-C021",
        title: "Unmasked /proc mount",
        severity: High,
        category: PodSecurity,
        aliases: ["KSV-0027", "unsafe-proc-mount", "procMount"],
        frameworks: [MitreAttack("T1611"), Pss("baseline:procMount")],
    };
}

/// Reports each container whose `procMount` is not `Default`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        let Some(node) = sc_field(&container, "procMount") else { return };
        if node.as_str() == Some("Default") {
            return;
        }
        let name = container.name();
        let message = if node.as_str() == Some("Unmasked") {
            format!("container {name:?} sets procMount Unmasked: the kernel's /proc masks are off")
        } else {
            format!(
                "container {name:?} sets procMount {}, which is neither Default nor Unmasked",
                show_value(node)
            )
        };
        out.emit(node.pos, &container.key_with(".securityContext.procMount"), message);
    });
}
