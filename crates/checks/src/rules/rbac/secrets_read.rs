use kubesecops_k8s::Object;

use crate::rules::rbac::report_grants;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `get`, `list` or `watch` on `secrets` in the core
    /// API group, including through `*` verbs or `*` resources (but not both at once, which
    /// `KSO-R001` and `KSO-R002` report). Rules limited to named Secrets with
    /// `resourceNames` are not reported.
    ///
    /// ## Why it matters
    /// Secrets hold database passwords, API keys, TLS keys and service-account tokens. `list`
    /// and `watch` return every Secret's content, not just names, so read access to Secrets in
    /// a namespace usually means access to everything those credentials unlock, and in
    /// `kube-system` often to the whole cluster (MITRE ATT&CK T1552.007, unsecured credentials:
    /// container API).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: debug
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["secrets"]   # reported
    ///   verbs: ["list"]
    /// ```
    ///
    /// ## Fix
    /// Remove Secret access, or limit it to the Secrets the subject needs with `resourceNames`
    /// and the `get` verb. Mount Secrets into pods instead of reading them through the API.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.2
    /// - Kubernetes documentation, "RBAC Good Practices": listing Secrets
    pub static META = {
        id: "KSO-R004",
        title: "Role can read Secrets",
        severity: High,
        category: Rbac,
        aliases: ["KSV-0041", "KSV-0113", "C-0015", "C-0186", "access-to-secrets"],
        frameworks: [Cis("5.1.2"), NsaCisa("authentication and authorization"), MitreAttack("T1552.007")],
    };
}

/// Reports rules granting read access to Secrets.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_grants(obj, out, &["get", "list", "watch"], &[("", "secrets")], true, |verb, resource| {
        format!("grants {verb:?} on {resource:?}, which reads Secret values")
    });
}
