//! `windowsHostProcess`: no Windows HostProcess containers.

use kubesecops_k8s::Node;

use crate::declare_rule;
use crate::pss::pod::{Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `windowsHostProcess` (baseline level, every
    /// version): `securityContext.windowsOptions.hostProcess` of the pod and of every
    /// container must be unset or `false`.
    ///
    /// ## Why it matters
    /// A Windows HostProcess container runs directly on the Windows node, with the node's
    /// network and file system and the privileges of a node account: it is the Windows
    /// counterpart of a privileged Linux container.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   windowsOptions:
    ///     hostProcess: true   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove `hostProcess: true`; run node management outside of workload namespaces.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "HostProcess"
    /// - kubernetes/pod-security-admission, check `windowsHostProcess`
    pub static META = {
        id: "KSO-PSS-windowsHostProcess",
        title: "Pod Security Standards: Windows HostProcess container",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [Pss("baseline:windowsHostProcess")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "windowsHostProcess";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
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
    let Some(options) = sc.get("windowsOptions") else { return };
    if options.get("hostProcess").and_then(Node::as_bool) == Some(true) {
        sink.report(
            options.key_pos("hostProcess"),
            format!("{key}.windowsOptions.hostProcess"),
            format!("{who} must not set securityContext.windowsOptions.hostProcess=true"),
        );
    }
}
