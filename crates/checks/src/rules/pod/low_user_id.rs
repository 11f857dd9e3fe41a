use kubesecops_k8s::Object;

use crate::rules::util::{effective_sc, for_each_container, is_windows_pod, sc_anchor, show_value, Level};
use crate::{declare_rule, Config, Emitter};

/// UIDs below this are reserved for host system users and the users images commonly ship.
const MIN_UID: i64 = 10000;

declare_rule! {
    /// ## What it checks
    /// Linux containers whose effective `runAsUser` (own or inherited from the pod) is not
    /// set, or is set below 10000. UID 0 is left to `KSO-C004`. Pods that declare
    /// `spec.os.name: windows` are skipped.
    ///
    /// ## Why it matters
    /// User namespaces are not used by default, so a UID in the container is the same UID on
    /// the node. Low UIDs belong to the node's own system users and to the users images ship
    /// with: a process that escapes, or that reaches host files through a volume, acts as
    /// that existing user and gets its files. A high, dedicated UID owns nothing on the node.
    /// When `runAsUser` is unset, the image decides, and it can change with every tag.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:5.2
    ///   securityContext:
    ///     runAsUser: 1000    # reported: below 10000
    /// ```
    ///
    /// ## Fix
    /// Set `runAsUser` to a UID of 10000 or more, in the pod's `securityContext` or per
    /// container.
    ///
    /// ## References
    /// - NSA-CISA Kubernetes Hardening Guide, "Non-root containers"
    /// - Kubernetes documentation, "User Namespaces"
    pub static META = {
        id: "KSO-C007",
        title: "Container runs with a low or unset UID",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0020", "CKV_K8S_40", "container-security-context-user-group-id"],
        frameworks: [NsaCisa("non-root containers")],
    };
}

/// Reports each Linux container whose effective `runAsUser` is unset or in `1..10000`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let key = container.key_with(".securityContext.runAsUser");
        let name = container.name();
        match effective_sc(template, &container, &["runAsUser"]) {
            None => out.emit(
                sc_anchor(&container),
                &key,
                format!("container {name:?} does not set runAsUser: the image decides the UID"),
            ),
            Some((node, level)) => {
                let from = if level == Level::Pod { " (inherited from the pod)" } else { "" };
                match node.as_i64() {
                    Some(0) => {}
                    Some(uid) if uid < MIN_UID => out.emit(
                        node.pos,
                        &key,
                        format!("container {name:?} runs as UID {uid}{from}, below {MIN_UID}"),
                    ),
                    Some(_) => {}
                    None => out.emit(
                        node.pos,
                        &key,
                        format!("container {name:?} sets runAsUser to {}{from}, not a UID", show_value(node)),
                    ),
                }
            }
        }
    });
}
