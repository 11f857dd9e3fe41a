use kubesecops_k8s::Object;

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Secrets of type `kubernetes.io/service-account-token`: long-lived service-account
    /// tokens stored in the cluster. Kubernetes created one for every ServiceAccount up to
    /// v1.23; since v1.24 they exist only when someone creates them.
    ///
    /// ## Why it matters
    /// These tokens never expire and are not bound to a pod: whoever can read the Secret
    /// (a `get secrets` permission, a backup, an etcd snapshot) holds the account's
    /// permissions until the Secret is deleted, from anywhere the API server is reachable
    /// (MITRE ATT&CK T1528, steal application access token). Tokens mounted into pods today
    /// are projected, short-lived and audience-bound instead.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// type: kubernetes.io/service-account-token   # reported
    /// metadata:
    ///   name: ci-token
    ///   annotations:
    ///     kubernetes.io/service-account.name: ci
    /// ```
    ///
    /// ## Fix
    /// Delete the Secret; give clients short-lived tokens (`kubectl create token`, the
    /// TokenRequest API) or projected volumes. On clusters older than v1.24, set
    /// `automountServiceAccountToken: false` where tokens are not needed and restrict who can
    /// read Secrets.
    ///
    /// ## References
    /// - Kubernetes documentation, "Service account tokens": legacy token Secrets
    /// - KEP-2799, reduction of secret-based service account tokens
    pub static META = {
        id: "KSO-K001",
        title: "Legacy service-account token Secret",
        severity: Medium,
        category: Secrets,
        aliases: [],
        frameworks: [NsaCisa("authentication and authorization"), MitreAttack("T1528")],
    };
}

/// Reports Secrets holding a long-lived service-account token.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "Secret" || !obj.group().is_empty() {
        return;
    }
    let Some(kind) =
        obj.root.get("type").filter(|t| t.as_str() == Some("kubernetes.io/service-account-token"))
    else {
        return;
    };
    let account = obj.annotation("kubernetes.io/service-account.name").unwrap_or("?");
    out.emit(
        kind.pos,
        "type",
        format!("Secret holds a long-lived token of service account {account:?}; it never expires"),
    );
}
