use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::{drop_anchor, listed};
use crate::rules::util::{for_each_container, is_windows_pod};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Linux containers whose `securityContext.capabilities.drop` does not contain `ALL`.
    /// The Pod Security admission accepts only that exact spelling; a lower-case `all` is
    /// reported with a hint. Pods that declare `spec.os.name: windows` are skipped.
    ///
    /// ## Why it matters
    /// Without `drop: [ALL]` the container keeps the runtime's default capabilities:
    /// `CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `SETUID`, `SETGID`, `KILL`, `MKNOD`, `NET_RAW` and
    /// more. They let root in the container ignore file permissions, change identities,
    /// forge network packets and create device nodes: the raw material of most escalation
    /// and escape chains. Dropping all and adding back the one capability really needed
    /// leaves an attacker with almost nothing.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: registry.example.com/web:3.1
    ///   securityContext:
    ///     capabilities:
    ///       drop: [NET_RAW]   # reported: ALL is not dropped
    /// ```
    ///
    /// ## Fix
    /// Set `capabilities.drop: [ALL]` and list in `add` only what the process needs (for the
    /// restricted level, at most `NET_BIND_SERVICE`).
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, restricted level, "Capabilities"
    /// - CIS Kubernetes Benchmark 5.2.10
    pub static META = {
        id: "KSO-C013",
        title: "Capabilities do not drop ALL",
        severity: Low,
        category: PodSecurity,
        aliases: ["KSV-0003", "KSV-0004", "KSV-0106", "CKV_K8S_37", "C-0201", "C-0220", "insecureCapabilities"],
        frameworks: [Cis("5.2.10"), NsaCisa("pod security"), Pss("restricted:capabilities_restricted")],
    };
}

/// Reports each Linux container whose `capabilities.drop` lacks `ALL`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let dropped = listed(&container, "drop");
        if dropped.iter().any(|(_, cap)| *cap == "ALL") {
            return;
        }
        let key = container.key_with(".securityContext.capabilities.drop");
        let name = container.name();
        match dropped.iter().find(|(_, cap)| cap.eq_ignore_ascii_case("ALL")) {
            Some((node, cap)) => out.emit(
                node.pos,
                &key,
                format!("container {name:?} drops {cap:?}; Pod Security accepts only the exact spelling ALL"),
            ),
            None => out.emit(
                drop_anchor(&container),
                &key,
                format!("container {name:?} does not drop ALL capabilities"),
            ),
        }
    });
}
