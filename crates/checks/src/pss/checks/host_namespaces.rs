//! `hostNamespaces`: no sharing of the node's network, PID or IPC namespace.

use crate::declare_rule;
use crate::pss::pod::{Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `hostNamespaces` (baseline level, every version):
    /// `spec.hostNetwork`, `spec.hostPID` and `spec.hostIPC` must be unset or `false`.
    ///
    /// ## Why it matters
    /// With the node's network namespace a pod can bind node ports, reach services that
    /// listen only on the node's loopback and sniff node traffic. With the node's PID
    /// namespace it sees, and may signal or inspect, every process of the node; with the IPC
    /// namespace it can read shared memory of other workloads.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostNetwork: true   # reported
    ///   hostPID: true       # reported
    /// ```
    ///
    /// ## Fix
    /// Remove the three fields. Expose network services through a Service, and give node
    /// agents that truly need host namespaces their own, separately governed namespace.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Host Namespaces"
    /// - kubernetes/pod-security-admission, check `hostNamespaces`
    pub static META = {
        id: "KSO-PSS-hostNamespaces",
        title: "Pod Security Standards: host namespaces shared",
        severity: High,
        category: HostAccess,
        aliases: [],
        frameworks: [Pss("baseline:hostNamespaces")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "hostNamespaces";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[Since { minor: 0, run: since_1_0, overrides: &[] }],
};

const FIELDS: [(&str, &str); 3] =
    [("hostNetwork", "network"), ("hostPID", "process (PID)"), ("hostIPC", "IPC")];

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    for (field, what) in FIELDS {
        if pod.spec.get(field).and_then(|n| n.as_bool()) == Some(true) {
            sink.report(
                pod.spec.key_pos(field),
                field.to_string(),
                format!("pod must not share the node's {what} namespace ({field}=true)"),
            );
        }
    }
}
