//! `seLinuxOptions`: no custom SELinux user or role, and only container SELinux types.

use kubesecops_k8s::Node;

use crate::declare_rule;
use crate::pss::pod::{string_field, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `seLinuxOptions` (baseline level, every version), on
    /// `securityContext.seLinuxOptions` of the pod and of every container:
    /// - `type` must be unset, `container_t`, `container_init_t` or `container_kvm_t`, and
    ///   from v1.31 also `container_engine_t`;
    /// - `user` and `role` must be unset or empty.
    ///
    /// ## Why it matters
    /// SELinux confines a container's processes by their label. Choosing another type (such
    /// as `spc_t` or `unconfined_t`), user or role steps out of the confinement the node's
    /// policy applies to containers.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seLinuxOptions:
    ///     type: spc_t   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `seLinuxOptions` or keep only `level` (the MCS categories), which the policy
    /// allows.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "SELinux"
    /// - kubernetes/pod-security-admission, check `seLinuxOptions`
    pub static META = {
        id: "KSO-PSS-seLinuxOptions",
        title: "Pod Security Standards: custom SELinux options",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:seLinuxOptions")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "seLinuxOptions";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[
        Since { minor: 0, run: since_1_0, overrides: &[] },
        Since { minor: 31, run: since_1_31, overrides: &[] },
    ],
};

const TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_1_31: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, TYPES_1_0, sink);
}

fn since_1_31(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, TYPES_1_31, sink);
}

fn check(pod: &Pod<'_>, allowed_types: &[&str], sink: &mut Sink<'_>) {
    if let Some(sc) = pod.security_context() {
        check_options(sc, "securityContext", "pod", allowed_types, sink);
    }
    for container in &pod.containers {
        if let Some(sc) = container.security_context() {
            let key = container.key_with(".securityContext");
            check_options(sc, &key, &format!("container {:?}", container.name()), allowed_types, sink);
        }
    }
}

fn check_options(sc: &Node, key: &str, who: &str, allowed_types: &[&str], sink: &mut Sink<'_>) {
    let Some(options) = sc.get("seLinuxOptions") else { return };
    let kind = string_field(options, "type");
    if !allowed_types.contains(&kind) {
        sink.report(
            options.key_pos("type"),
            format!("{key}.seLinuxOptions.type"),
            format!("{who} must not set securityContext.seLinuxOptions.type to {kind:?}"),
        );
    }
    for field in ["user", "role"] {
        if !string_field(options, field).is_empty() {
            sink.report(
                options.key_pos(field),
                format!("{key}.seLinuxOptions.{field}"),
                format!("{who} must not set securityContext.seLinuxOptions.{field}"),
            );
        }
    }
}
