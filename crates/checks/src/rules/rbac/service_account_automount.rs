use kubesecops_k8s::Object;

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// `ServiceAccount` objects whose `automountServiceAccountToken` is not `false`: unset
    /// (Kubernetes then mounts the token) or `true`.
    ///
    /// ## Why it matters
    /// Unless the service account or the pod opts out, every pod using the account gets an API
    /// token mounted at `/var/run/secrets/kubernetes.io/serviceaccount`. Most applications
    /// never call the Kubernetes API, yet any file-read or code-execution bug in them hands the
    /// token, and every permission bound to the account, to the attacker (MITRE ATT&CK T1528,
    /// steal application access token).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata:
    ///   name: web   # reported: automountServiceAccountToken not set
    /// ```
    ///
    /// ## Fix
    /// Set `automountServiceAccountToken: false` on the ServiceAccount, and `true` only in the
    /// pod specs that really call the API (the pod setting wins).
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.6
    /// - Kubernetes documentation, "Configure Service Accounts for Pods": opt out of API
    ///   credential automounting
    pub static META = {
        id: "KSO-R015",
        title: "ServiceAccount automounts its API token",
        severity: Low,
        category: Rbac,
        aliases: ["CKV_K8S_41"],
        frameworks: [Cis("5.1.6"), NsaCisa("authentication and authorization"), MitreAttack("T1528")],
    };
}

/// Reports ServiceAccounts that do not opt out of token automounting.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "ServiceAccount" || !obj.group().is_empty() {
        return;
    }
    let key = "automountServiceAccountToken";
    match obj.root.get(key) {
        Some(node) if node.as_bool() == Some(false) => {}
        Some(node) => {
            let message = match node.as_bool() {
                Some(_) => "ServiceAccount sets automountServiceAccountToken: true, so pods get its token mounted".to_string(),
                None => format!(
                    "automountServiceAccountToken is {:?}, not the boolean false, so pods get the token mounted",
                    node.as_str().unwrap_or("")
                ),
            };
            out.emit(node.pos, key, message)
        }
        None => out.emit(
            obj.root.key_pos("kind"),
            key,
            "ServiceAccount does not set automountServiceAccountToken: false, so pods get its token mounted",
        ),
    }
}
