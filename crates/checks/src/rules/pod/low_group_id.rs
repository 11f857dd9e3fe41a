use kubesecops_k8s::Object;

use crate::rules::util::{effective_sc, for_each_container, is_windows_pod, sc_anchor, show_value, Level};
use crate::{declare_rule, Config, Emitter};

/// GIDs below this are reserved for host system groups and the groups images commonly ship.
const MIN_GID: i64 = 10000;

declare_rule! {
    /// ## What it checks
    /// Linux containers whose effective `runAsGroup` (own or inherited from the pod) is not
    /// set, or is set below 10000. GID 0 is left to `KSO-C005`. Pods that declare
    /// `spec.os.name: windows` are skipped.
    ///
    /// ## Why it matters
    /// The primary group decides which group-owned files the process can use. Low GIDs are
    /// the node's system groups (`disk`, `docker`, `adm`, `shadow`, ...): a process running
    /// with one of them reaches, through any mounted host path, exactly what that group is
    /// trusted with on the node. When `runAsGroup` is unset, the image's user entry decides,
    /// and it is often group 0.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:5.2
    ///   securityContext:
    ///     runAsUser: 12000
    ///     runAsGroup: 999     # reported: below 10000
    /// ```
    ///
    /// ## Fix
    /// Set `runAsGroup` to a GID of 10000 or more, in the pod's `securityContext` or per
    /// container.
    ///
    /// ## References
    /// - NSA-CISA Kubernetes Hardening Guide, "Non-root containers"
    /// - Kubernetes documentation, "Configure a Security Context for a Pod or Container"
    pub static META = {
        id: "KSO-C008",
        title: "Container runs with a low or unset GID",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0021"],
        frameworks: [NsaCisa("non-root containers")],
    };
}

/// Reports each Linux container whose effective `runAsGroup` is unset or in `1..10000`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let key = container.key_with(".securityContext.runAsGroup");
        let name = container.name();
        match effective_sc(template, &container, &["runAsGroup"]) {
            None => out.emit(
                sc_anchor(&container),
                &key,
                format!("container {name:?} does not set runAsGroup: the image decides the primary group"),
            ),
            Some((node, level)) => {
                let from = if level == Level::Pod { " (inherited from the pod)" } else { "" };
                match node.as_i64() {
                    Some(0) => {}
                    Some(gid) if gid < MIN_GID => out.emit(
                        node.pos,
                        &key,
                        format!("container {name:?} runs with GID {gid}{from}, below {MIN_GID}"),
                    ),
                    Some(_) => {}
                    None => out.emit(
                        node.pos,
                        &key,
                        format!(
                            "container {name:?} sets runAsGroup to {}{from}, not a GID",
                            show_value(node)
                        ),
                    ),
                }
            }
        }
    });
}
