use kubesecops_k8s::Object;

use crate::rules::util::{pod_spec_anchor, show_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pod specs that do not set `automountServiceAccountToken: false`: the field is unset,
    /// `true`, or not the boolean `false`. Only the pod is read; a `false` on the
    /// ServiceAccount also stops the mount, but the pod's own setting is the one that cannot
    /// be changed behind its back.
    ///
    /// ## Why it matters
    /// By default every container gets a token for the pod's ServiceAccount at
    /// `/var/run/secrets/kubernetes.io/serviceaccount`. Anyone who gets code execution or a
    /// file-read in any container can take that token and call the API server with the
    /// account's rights: listing secrets, creating pods, and moving laterally through the
    /// cluster (MITRE ATT&CK T1528, steal application access token). Most applications
    /// never talk to the API server and need no token.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   serviceAccountName: web        # automountServiceAccountToken not set: reported
    ///   containers:
    ///   - name: web
    ///     image: registry.example.com/web:3.1
    /// ```
    ///
    /// ## Fix
    /// Set `automountServiceAccountToken: false` in the pod spec. Workloads that do call the
    /// API should mount a projected, short-lived, audience-bound token explicitly and get a
    /// dedicated ServiceAccount with minimal RBAC.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.6
    /// - NSA-CISA Kubernetes Hardening Guide, "Protecting Pod service account tokens"
    /// - Kubernetes documentation, "Configure Service Accounts for Pods"
    pub static META = {
        id: "KSO-C023",
        title: "Service account token mounted automatically",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0036", "CKV_K8S_38", "C-0034", "C-0190", "C-0261", "automountServiceAccountToken"],
        frameworks: [Cis("5.1.6"), NsaCisa("protecting pod service account tokens"), MitreAttack("T1528")],
    };
}

/// Reports pod specs without `automountServiceAccountToken: false`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    match template.get("automountServiceAccountToken") {
        Some(node) if node.as_bool() == Some(false) => {}
        Some(node) => out.emit(
            node.pos,
            "automountServiceAccountToken",
            format!(
                "pod sets automountServiceAccountToken to {}: every container gets the service account token",
                show_value(node)
            ),
        ),
        None => out.emit(
            pod_spec_anchor(obj, &template),
            "automountServiceAccountToken",
            "pod does not set automountServiceAccountToken: false: every container gets the service account token",
        ),
    }
}
