use kubesecops_k8s::{Node, Object};

use crate::rules::util::pod_sc_field;
use crate::{declare_rule, Config, Emitter};

/// Sysctls Kubernetes considers safe: namespaced per pod and without effect on other pods.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

declare_rule! {
    /// ## What it checks
    /// Entries of the pod's `securityContext.sysctls` whose name is outside the safe set the
    /// Pod Security baseline level allows (`kernel.shm_rmid_forced`,
    /// `net.ipv4.ip_local_port_range`, `net.ipv4.ip_unprivileged_port_start`,
    /// `net.ipv4.tcp_syncookies`, `net.ipv4.ping_group_range`,
    /// `net.ipv4.ip_local_reserved_ports`, and the `net.ipv4.tcp_keepalive_*` and
    /// `net.ipv4.tcp_fin_timeout` settings). Names written with `/` separators are read as the
    /// kubelet reads them, with `.`.
    ///
    /// ## Why it matters
    /// Sysctls outside the safe set are either not namespaced, so they change the kernel of
    /// the whole node, or are namespaced but let one pod starve or disturb its neighbours
    /// (shared memory limits, message queues, network buffers). Some weaken protections
    /// outright. Kubelets refuse them unless an administrator allowed them per node; a
    /// manifest asking for them is at best broken and at worst a node-wide change.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     sysctls:
    ///     - name: kernel.msgmax        # reported
    ///       value: "65536"
    /// ```
    ///
    /// ## Fix
    /// Remove the sysctl, or tune the node itself (through its configuration management)
    /// when the whole node really needs it.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Sysctls"
    /// - Kubernetes documentation, "Using sysctls in a Kubernetes Cluster"
    pub static META = {
        id: "KSO-C020",
        title: "Unsafe sysctl",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0026", "unsafe-sysctls"],
        frameworks: [Pss("baseline:sysctls")],
    };
}

/// Reports each pod sysctl outside the safe set.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    let sysctls = pod_sc_field(&template, "sysctls").map(Node::items).unwrap_or_default();
    for entry in sysctls {
        let Some(name_node) = entry.get("name") else { continue };
        let name = name_node.as_str().unwrap_or_default();
        if SAFE_SYSCTLS.contains(&name.replace('/', ".").as_str()) {
            continue;
        }
        out.emit(
            name_node.pos,
            &format!("securityContext.sysctls[{name}]"),
            format!("pod sets sysctl {name:?}, which is not in the safe set"),
        );
    }
}
