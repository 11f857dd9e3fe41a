use kubesecops_k8s::Object;

use crate::rules::rbac::report_grants;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `impersonate` on `users`, `groups`,
    /// `serviceaccounts` (core group) or `uids` (`authentication.k8s.io`), also through `*`
    /// unless verbs and resources are both `*`.
    ///
    /// ## Why it matters
    /// Impersonation lets the subject send requests as another user, group or service
    /// account (`kubectl --as`). Impersonating `system:masters` or any cluster administrator
    /// grants their full rights, bypassing every RBAC restriction placed on the subject
    /// itself, and audit logs record the impersonated identity's actions (MITRE ATT&CK T1078,
    /// valid accounts; T1098.006).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRole
    /// metadata:
    ///   name: support
    /// rules:
    /// - apiGroups: [""]
    ///   resources: ["users", "groups"]
    ///   verbs: ["impersonate"]   # reported
    /// ```
    ///
    /// ## Fix
    /// Remove impersonation, or restrict it with `resourceNames` to specific low-privilege
    /// identities and review who holds it.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.8
    /// - Kubernetes documentation, "User impersonation"
    pub static META = {
        id: "KSO-R006",
        title: "Role can impersonate users, groups or service accounts",
        severity: High,
        category: Rbac,
        aliases: ["KSV-0043", "C-0065"],
        frameworks: [Cis("5.1.8"), NsaCisa("authentication and authorization"), MitreAttack("T1078")],
    };
}

/// Reports rules granting impersonation.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let targets = [("", "users"), ("", "groups"), ("", "serviceaccounts"), ("authentication.k8s.io", "uids")];
    report_grants(obj, out, &["impersonate"], &targets, false, |verb, resource| {
        format!("grants {verb:?} on {resource:?}, acting as other identities")
    });
}
