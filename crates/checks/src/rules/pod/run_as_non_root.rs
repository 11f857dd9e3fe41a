use kubesecops_k8s::Object;

use crate::rules::util::{effective_sc, for_each_container, sc_anchor, show_value, Level};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers that may start as root: `runAsNonRoot` is not `true` for the container,
    /// neither in its own `securityContext` nor inherited from the pod's, and no positive
    /// `runAsUser` pins a non-root UID either. An explicit `runAsNonRoot: false` in the
    /// container overrides a `true` at pod level and is reported.
    ///
    /// ## Why it matters
    /// Without `runAsNonRoot: true` the kubelet starts the container as whatever user the
    /// image names, and most images name none, i.e. root. Root in a container is the same
    /// UID 0 as on the node: any file the container can reach through a volume, and any
    /// kernel bug that lets it out of its namespaces, is reached with root's rights
    /// (MITRE ATT&CK T1611, escape to host). With `runAsNonRoot: true` the kubelet refuses to
    /// start an image that would run as UID 0.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     runAsNonRoot: true
    ///   containers:
    ///   - name: web                 # inherits runAsNonRoot: true: fine
    ///     image: registry.example.com/web:3.1
    ///   - name: debug
    ///     image: registry.example.com/tools:1.0
    ///     securityContext:
    ///       runAsNonRoot: false     # reported
    /// ```
    ///
    /// ## Fix
    /// Set `runAsNonRoot: true` in the pod's `securityContext` (every container inherits it)
    /// and give the image a numeric non-root `USER`, or set `runAsUser` to a UID above 10000.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, restricted level, "Running as Non-root"
    /// - CIS Kubernetes Benchmark 5.2.7
    /// - NSA-CISA Kubernetes Hardening Guide, "Non-root containers"
    pub static META = {
        id: "KSO-C003",
        title: "Container may run as root",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0012", "CKV_K8S_23", "C-0013", "C-0198", "C-0218", "run-as-non-root", "runAsRootAllowed"],
        frameworks: [Cis("5.2.7"), NsaCisa("non-root containers"), MitreAttack("T1611"), Pss("restricted:runAsNonRoot")],
    };
}

/// Reports each container for which neither `runAsNonRoot: true` nor a positive `runAsUser`
/// is in effect.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        let non_root = effective_sc(template, &container, &["runAsNonRoot"]);
        if non_root.is_some_and(|(node, _)| node.as_bool() == Some(true)) {
            return;
        }
        let uid = effective_sc(template, &container, &["runAsUser"]).and_then(|(node, _)| node.as_i64());
        if uid.is_some_and(|uid| uid > 0) {
            return;
        }
        let key = container.key_with(".securityContext.runAsNonRoot");
        let name = container.name();
        match non_root {
            Some((node, level)) => {
                let from = if level == Level::Pod { " (inherited from the pod)" } else { "" };
                out.emit(
                    node.pos,
                    &key,
                    format!("container {name:?} may run as root: runAsNonRoot is {}{from}", show_value(node)),
                );
            }
            None => out.emit(
                sc_anchor(&container),
                &key,
                format!(
                    "container {name:?} may run as root: runAsNonRoot is not true at container or pod level \
                     and no non-zero runAsUser is set"
                ),
            ),
        }
    });
}
