use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `Secret` objects of type `kubernetes.io/service-account-token`: long-lived service
    /// account tokens that the token controller fills in and never expires.
    ///
    /// ## Why it matters
    /// Since Kubernetes 1.24 pods get short-lived, audience-bound tokens through the
    /// TokenRequest API, rotated by the kubelet. A token Secret instead holds a token that is
    /// valid until the Secret is deleted, readable by everyone who can `get` Secrets in the
    /// namespace, and often copied into CI systems and kubeconfigs where nobody rotates it
    /// (MITRE ATT&CK T1528, steal application access token). Automatic mounting of the
    /// pod's own token is covered by `KSO-C023` and `KSO-R015`.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: ci-deployer-token
    ///   annotations:
    ///     kubernetes.io/service-account.name: ci-deployer
    /// type: kubernetes.io/service-account-token   # reported
    /// ```
    ///
    /// ## Fix
    /// Delete the Secret. Pods get projected tokens automatically; clients outside the cluster
    /// should request a short-lived token (`kubectl create token ci-deployer --duration=1h`)
    /// or use workload identity federation.
    ///
    /// ## References
    /// - Kubernetes documentation, "Service account token Secrets" (legacy)
    /// - Kubernetes documentation, "Managing Service Accounts": TokenRequest API
    pub static META = {
        id: "KSO-S008",
        title: "Long-lived service account token Secret",
        severity: Medium,
        category: Secrets,
        aliases: [],
        frameworks: [NsaCisa("protecting pod service account tokens"), MitreAttack("T1528")],
    };
}

/// Reports legacy service account token Secrets.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "Secret" || !obj.group().is_empty() {
        return;
    }
    let Some(kind) = obj.root.get("type") else { return };
    if kind.as_str() != Some("kubernetes.io/service-account-token") {
        return;
    }
    let account = obj
        .metadata()
        .and_then(|m| m.path(&["annotations", "kubernetes.io/service-account.name"]))
        .and_then(Node::as_str)
        .unwrap_or("?");
    out.emit(
        kind.pos,
        "type",
        format!("Secret holds a long-lived token of service account {account:?} that never expires"),
    );
}
