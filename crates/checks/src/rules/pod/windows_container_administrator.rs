use kubesecops_k8s::Object;

use crate::rules::util::{effective_sc, for_each_container, Level};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose effective `securityContext.windowsOptions.runAsUserName` (own or
    /// inherited from the pod) is `ContainerAdministrator`, compared without regard to case
    /// as Windows compares account names.
    ///
    /// ## Why it matters
    /// `ContainerAdministrator` is the administrator account inside a Windows container, the
    /// counterpart of root. It can change anything in the container, install services and
    /// drivers' user-mode parts, and reach every file a mounted volume exposes with full
    /// rights; escapes from Windows process isolation start from it.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   os:
    ///     name: windows
    ///   securityContext:
    ///     windowsOptions:
    ///       runAsUserName: ContainerAdministrator   # reported
    /// ```
    ///
    /// ## Fix
    /// Run as `ContainerUser` (or a dedicated account) and grant that account access to what
    /// the application writes.
    ///
    /// ## References
    /// - Kubernetes documentation, "Configure RunAsUserName for Windows pods and containers"
    /// - NSA-CISA Kubernetes Hardening Guide, "Non-root containers"
    pub static META = {
        id: "KSO-C025",
        title: "Windows container runs as ContainerAdministrator",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [NsaCisa("non-root containers")],
    };
}

/// Reports each container whose effective Windows user is `ContainerAdministrator`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        let Some((node, level)) = effective_sc(template, &container, &["windowsOptions", "runAsUserName"])
        else {
            return;
        };
        if !node.as_str().is_some_and(|user| user.eq_ignore_ascii_case("ContainerAdministrator")) {
            return;
        }
        let from = if level == Level::Pod { " (inherited from the pod)" } else { "" };
        out.emit(
            node.pos,
            &container.key_with(".securityContext.windowsOptions.runAsUserName"),
            format!("container {:?} runs as ContainerAdministrator{from}", container.name()),
        );
    });
}
