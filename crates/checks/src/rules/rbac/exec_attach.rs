use kubesecops_k8s::Object;

use crate::rules::rbac::report_grants;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `create` or `get` on `pods/exec` or
    /// `pods/attach` (also through `*` verbs, `*/exec`, `*/attach` or `*` resources, unless
    /// verbs and resources are both `*`). `get` counts because older API servers accept exec
    /// and attach over WebSocket with a GET request.
    ///
    /// ## Why it matters
    /// Exec and attach run commands inside running containers: whoever holds them acts with
    /// the container's service-account token, mounted Secrets, network position and, for
    /// privileged pods, the node itself (MITRE ATT&CK T1609, container administration
    /// command). It turns "can talk to the API" into "runs code in production".
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: developer
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["pods/exec"]   # reported
    ///   verbs: ["create"]
    /// ```
    ///
    /// ## Fix
    /// Grant exec only to break-glass roles bound for a limited time, prefer `kubectl debug`
    /// with ephemeral containers under review, and keep production namespaces free of it.
    ///
    /// ## References
    /// - Kubernetes documentation, "RBAC Good Practices"
    /// - MITRE ATT&CK T1609
    pub static META = {
        id: "KSO-R007",
        title: "Role can exec or attach into pods",
        severity: High,
        category: Rbac,
        aliases: ["KSV-0053", "KSV-0054", "C-0002", "clusterrolePodExecAttach", "rolePodExecAttach"],
        frameworks: [NsaCisa("authentication and authorization"), MitreAttack("T1609")],
    };
}

/// Reports rules granting exec or attach.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_grants(
        obj,
        out,
        &["create", "get"],
        &[("", "pods/exec"), ("", "pods/attach")],
        false,
        |verb, resource| format!("grants {verb:?} on {resource:?}, running commands in containers"),
    );
}
