//! `runAsNonRoot`: containers must be required to run as a non-root user.

use crate::declare_rule;
use crate::pss::pod::{opt_bool, pos_along, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `runAsNonRoot` (restricted level, every version):
    /// `securityContext.runAsNonRoot` must be `true` for every container, either set on the
    /// container or inherited from the pod's `securityContext`; `false` is forbidden at
    /// either place. From v1.35 a pod with `hostUsers: false` (its own user namespace) is
    /// exempt, since root in it is not root on the node.
    ///
    /// ## Why it matters
    /// `runAsNonRoot: true` makes the kubelet refuse to start a container whose user would be
    /// UID 0. Root in a container shares the node kernel's notion of root: any escape, or any
    /// writable host mount, is then root on the node.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     runAsNonRoot: false   # reported
    /// ```
    ///
    /// ## Fix
    /// Set `securityContext.runAsNonRoot: true` at the pod level (and a `runAsUser` or an
    /// image `USER` that is not 0).
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted: "Running as Non-root"
    /// - kubernetes/pod-security-admission, check `runAsNonRoot`
    pub static META = {
        id: "KSO-PSS-runAsNonRoot",
        title: "Pod Security Standards: may run as root",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:runAsNonRoot")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "runAsNonRoot";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[
        Since { minor: 0, run: since_1_0, overrides: &[] },
        Since { minor: 35, run: since_1_35, overrides: &[] },
    ],
};

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    let pod_sc = pod.security_context();
    let pod_value = opt_bool(pod_sc, "runAsNonRoot");
    if let (Some(false), Some(sc)) = (pod_value, pod_sc) {
        sink.report(
            sc.key_pos("runAsNonRoot"),
            "securityContext.runAsNonRoot".to_string(),
            "pod must not set securityContext.runAsNonRoot=false".to_string(),
        );
    }
    for container in &pod.containers {
        let key = container.key_with(".securityContext.runAsNonRoot");
        let pos = pos_along(container.node, &["securityContext", "runAsNonRoot"]);
        match opt_bool(container.security_context(), "runAsNonRoot") {
            Some(true) => {}
            Some(false) => sink.report(
                pos,
                key,
                format!("container {:?} must not set securityContext.runAsNonRoot=false", container.name()),
            ),
            None if pod_value == Some(true) => {}
            None => sink.report(
                pos,
                key,
                format!(
                    "container {:?} must set securityContext.runAsNonRoot=true (or the pod must)",
                    container.name()
                ),
            ),
        }
    }
}

fn since_1_35(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if !pod.in_user_namespace() {
        since_1_0(pod, sink);
    }
}
