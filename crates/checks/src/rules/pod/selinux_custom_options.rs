use kubesecops_k8s::{Node, Object};

use crate::rules::util::{for_each_container, pod_sc_field};
use crate::{declare_rule, Config, Emitter};

/// SELinux types the Pod Security baseline level allows: the confined container types.
const ALLOWED_TYPES: &[&str] =
    &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

declare_rule! {
    /// ## What it checks
    /// `seLinuxOptions` in the pod's or a container's `securityContext` that set a `type`
    /// other than the confined container types (`container_t`, `container_init_t`,
    /// `container_kvm_t`, `container_engine_t`), or that set a `user` or `role` at all.
    /// `level` (the MCS categories) is allowed. Every place the options are written is
    /// checked, as the Pod Security admission does.
    ///
    /// ## Why it matters
    /// On SELinux nodes the container type is what keeps a process away from host files and
    /// other containers' files even when it runs as root. A custom type, user or role can
    /// move the container into a domain with far more rights; `spc_t` ("super privileged
    /// container") and `unconfined_t` switch the confinement off entirely.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seLinuxOptions:
    ///     type: spc_t     # reported
    ///     user: system_u  # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `type`, `user` and `role`; set only `level` if the workload needs specific MCS
    /// categories.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "SELinux"
    pub static META = {
        id: "KSO-C019",
        title: "Custom SELinux options",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0025"],
        frameworks: [MitreAttack("T1611"), Pss("baseline:seLinuxOptions")],
    };
}

/// Reports disallowed `type`, `user` and `role` values of every `seLinuxOptions`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(options) = pod_sc_field(&template, "seLinuxOptions") {
        check_options(options, "securityContext.seLinuxOptions", "pod", out);
    }
    for_each_container(obj, |_, container| {
        let Some(options) = container.security_context().and_then(|sc| sc.get("seLinuxOptions")) else {
            return;
        };
        let key = container.key_with(".securityContext.seLinuxOptions");
        check_options(options, &key, &format!("container {:?}", container.name()), out);
    });
}

fn check_options(options: &Node, key: &str, owner: &str, out: &mut Emitter<'_>) {
    if let Some(node) = options.get("type") {
        let value = node.as_str().unwrap_or("");
        if !ALLOWED_TYPES.contains(&value) {
            let why = match value {
                "spc_t" | "unconfined_t" => "which is not confined by SELinux",
                _ => "not one of the confined container types",
            };
            out.emit(node.pos, &format!("{key}.type"), format!("{owner} sets SELinux type {value:?}, {why}"));
        }
    }
    for field in ["user", "role"] {
        let Some(node) = options.get(field) else { continue };
        if node.as_str().is_some_and(|s| !s.is_empty()) {
            out.emit(
                node.pos,
                &format!("{key}.{field}"),
                format!("{owner} sets a custom SELinux {field} {:?}", node.as_str().unwrap_or_default()),
            );
        }
    }
}
