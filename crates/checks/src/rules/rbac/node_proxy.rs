use kubesecops_k8s::Object;

use crate::rules::rbac::report_grants;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant any verb on `nodes/proxy` (also through `*`
    /// verbs, `*/proxy` or `*` resources, unless verbs and resources are both `*`).
    ///
    /// ## Why it matters
    /// `nodes/proxy` forwards requests to the kubelet API of any node. The kubelet API runs
    /// commands in every container on the node (`/exec`, `/run`), and requests through the
    /// proxy bypass admission control and are not recorded as pod exec in audit logs. Even
    /// `get` is enough, since exec works over a WebSocket GET (MITRE ATT&CK T1609, container
    /// administration command; T1611, escape to host).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: metrics-reader
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["nodes/proxy"]   # reported
    ///   verbs: ["get"]
    /// ```
    ///
    /// ## Fix
    /// Use `nodes/metrics` or `nodes/stats` for monitoring; remove `nodes/proxy` everywhere
    /// else.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.10
    /// - Kubernetes documentation, "Kubelet authentication/authorization"
    pub static META = {
        id: "KSO-R008",
        title: "Role can proxy to kubelets",
        severity: High,
        category: Rbac,
        aliases: ["KSV-0047", "C-0279"],
        frameworks: [Cis("5.1.10"), MitreAttack("T1609"), MitreAttack("T1611")],
    };
}

/// Reports rules granting access to `nodes/proxy`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let verbs = ["get", "list", "watch", "create", "update", "patch", "delete"];
    report_grants(obj, out, &verbs, &[("", "nodes/proxy")], false, |verb, resource| {
        format!("grants {verb:?} on {resource:?}, reaching every kubelet's API")
    });
}
