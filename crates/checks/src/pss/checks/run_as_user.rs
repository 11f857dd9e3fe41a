//! `runAsUser`: no explicit UID 0.

use kubesecops_k8s::Node;

use crate::declare_rule;
use crate::pss::pod::{Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `runAsUser` (restricted level, from v1.23):
    /// `securityContext.runAsUser` of the pod and of every container must not be `0`. From
    /// v1.35 a pod with `hostUsers: false` (its own user namespace) is exempt.
    ///
    /// ## Why it matters
    /// An explicit `runAsUser: 0` runs the process as root; root in a container is root for
    /// the node's kernel, so any escape or writable host mount becomes node compromise.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 0   # reported
    /// ```
    ///
    /// ## Fix
    /// Use a non-zero UID (such as 10001) that owns the files the application writes.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted: "Running as Non-root user"
    /// - kubernetes/pod-security-admission, check `runAsUser`
    pub static META = {
        id: "KSO-PSS-runAsUser",
        title: "Pod Security Standards: runs as UID 0",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:runAsUser")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "runAsUser";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[
        Since { minor: 23, run: since_1_23, overrides: &[] },
        Since { minor: 35, run: since_1_35, overrides: &[] },
    ],
};

fn since_1_23(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if let Some(sc) = pod.security_context() {
        check(sc, "securityContext", "pod", sink);
    }
    for container in &pod.containers {
        if let Some(sc) = container.security_context() {
            let key = container.key_with(".securityContext");
            check(sc, &key, &format!("container {:?}", container.name()), sink);
        }
    }
}

fn check(sc: &Node, key: &str, who: &str, sink: &mut Sink<'_>) {
    if sc.get("runAsUser").and_then(Node::as_i64) == Some(0) {
        sink.report(
            sc.key_pos("runAsUser"),
            format!("{key}.runAsUser"),
            format!("{who} must not set securityContext.runAsUser=0"),
        );
    }
}

fn since_1_35(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    if !pod.in_user_namespace() {
        since_1_23(pod, sink);
    }
}
