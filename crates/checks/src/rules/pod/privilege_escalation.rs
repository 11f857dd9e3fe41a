use kubesecops_k8s::Object;

use crate::rules::util::{for_each_container, is_windows_pod, sc_anchor, sc_field, show_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Linux containers whose `securityContext.allowPrivilegeEscalation` is not `false`: left
    /// unset, set to `true`, or written as something other than the boolean `false` (a quoted
    /// `"false"` is a string, which the API server does not accept as a boolean). Pods that
    /// declare `spec.os.name: windows` are skipped; the field does not exist there.
    ///
    /// ## Why it matters
    /// Unless this field is `false`, the kernel's `no_new_privs` flag stays off, so a setuid or
    /// file-capability binary inside the image (`su`, `sudo`, `ping`, or one an attacker drops
    /// into a writable directory) raises the process above the privileges it started with.
    /// That turns a foothold as an unprivileged user into root in the container, one step from
    /// the host (MITRE ATT&CK T1548.001, setuid and setgid).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: registry.example.com/web:3.1
    ///   securityContext:
    ///     runAsNonRoot: true   # allowPrivilegeEscalation missing: reported
    /// ```
    ///
    /// ## Fix
    /// Set `allowPrivilegeEscalation: false` in every container's `securityContext`. A
    /// container that really needs setuid binaries should be redesigned to get the privilege
    /// some other way (a capability granted at start, a dedicated helper).
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, restricted level, "Privilege Escalation"
    /// - CIS Kubernetes Benchmark 5.2.6
    /// - Linux `prctl(2)`, `PR_SET_NO_NEW_PRIVS`
    pub static META = {
        id: "KSO-C002",
        title: "Privilege escalation allowed",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0001", "CKV_K8S_20", "C-0016", "C-0197", "C-0217", "privilege-escalation-container", "privilegeEscalationAllowed"],
        frameworks: [Cis("5.2.6"), NsaCisa("pod security"), MitreAttack("T1548.001"), Pss("restricted:allowPrivilegeEscalation")],
    };
}

/// Reports each Linux container that does not set `allowPrivilegeEscalation: false`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let key = container.key_with(".securityContext.allowPrivilegeEscalation");
        let name = container.name();
        match sc_field(&container, "allowPrivilegeEscalation") {
            Some(node) if node.as_bool() == Some(false) => {}
            Some(node) if node.as_bool() == Some(true) => {
                out.emit(node.pos, &key, format!("container {name:?} sets allowPrivilegeEscalation: true"))
            }
            Some(node) => out.emit(
                node.pos,
                &key,
                format!(
                    "container {name:?} sets allowPrivilegeEscalation to {}, not the boolean false",
                    show_value(node)
                ),
            ),
            None => out.emit(
                sc_anchor(&container),
                &key,
                format!("container {name:?} does not set allowPrivilegeEscalation: false"),
            ),
        }
    });
}
