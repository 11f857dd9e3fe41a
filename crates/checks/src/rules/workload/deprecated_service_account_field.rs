use kubesecops_k8s::{Node, Object};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pod specs that set the deprecated `serviceAccount` field.
    ///
    /// ## Why it matters
    /// `serviceAccount` is an alias kept for old clients; `serviceAccountName` wins when both
    /// are set. A manifest setting only the old field, or both with different values, makes the
    /// identity a pod runs under easy to misread in review: the account someone audits is not
    /// necessarily the one whose token the pod carries.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   serviceAccount: builder   # reported
    ///   containers:
    ///   - name: build
    ///     image: registry.example.com/build:3.2
    /// ```
    ///
    /// ## Fix
    /// Replace `serviceAccount` with `serviceAccountName`.
    ///
    /// ## References
    /// - Kubernetes API reference, PodSpec: `serviceAccount` is a deprecated alias for
    ///   `serviceAccountName`
    pub static META = {
        id: "KSO-W004",
        title: "Deprecated serviceAccount field",
        severity: Low,
        category: Workload,
        aliases: ["C-0294", "deprecated-service-account-field"],
        frameworks: [],
    };
}

/// Reports pod specs that set `serviceAccount`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    let Some(old) = template.get("serviceAccount").and_then(Node::as_str) else { return };
    let pos = template.spec.key_pos("serviceAccount");
    let key = format!("{}.serviceAccount", template.spec_path);
    match template.get("serviceAccountName").and_then(Node::as_str) {
        Some(name) if name != old => out.emit(
            pos,
            &key,
            format!(
                "deprecated `serviceAccount: {old}` disagrees with `serviceAccountName: {name}`, which wins"
            ),
        ),
        Some(_) => out.emit(pos, &key, "deprecated `serviceAccount` repeats `serviceAccountName`; remove it"),
        None => out.emit(pos, &key, format!("deprecated `serviceAccount: {old}`; use `serviceAccountName`")),
    }
}
