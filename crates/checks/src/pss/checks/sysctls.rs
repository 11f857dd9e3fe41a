//! `sysctls`: only namespaced, isolated ("safe") sysctls.

use crate::declare_rule;
use crate::pss::pod::{item_name, Pod, Sink};
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `sysctls` (baseline level): every name in
    /// `spec.securityContext.sysctls` must be in the safe set of the policy version:
    /// - every version: `kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`,
    ///   `net.ipv4.tcp_syncookies`, `net.ipv4.ping_group_range`,
    ///   `net.ipv4.ip_unprivileged_port_start`;
    /// - from v1.27: `net.ipv4.ip_local_reserved_ports`;
    /// - from v1.29: `net.ipv4.tcp_keepalive_time`, `net.ipv4.tcp_fin_timeout`,
    ///   `net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`;
    /// - from v1.32: `net.ipv4.tcp_rmem`, `net.ipv4.tcp_wmem`;
    /// - from v1.37: `net.ipv4.tcp_slow_start_after_idle`, `net.ipv4.tcp_notsent_lowat`.
    ///
    /// ## Why it matters
    /// Other sysctls either change the whole node (and so every other pod on it) or switch
    /// off kernel protections. The safe ones are confined to the pod's own namespaces.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   sysctls:
    ///   - name: kernel.msgmax   # reported
    ///     value: "65536"
    /// ```
    ///
    /// ## Fix
    /// Drop the sysctl, or have the cluster administrator set it on dedicated nodes.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, baseline: "Sysctls"
    /// - Kubernetes documentation, "Using sysctls in a Kubernetes Cluster"
    /// - kubernetes/pod-security-admission, check `sysctls`
    pub static META = {
        id: "KSO-PSS-sysctls",
        title: "Pod Security Standards: unsafe sysctl",
        severity: High,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("baseline:sysctls")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "sysctls";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Baseline,
    meta: &META,
    versions: &[
        Since { minor: 0, run: since_1_0, overrides: &[] },
        Since { minor: 27, run: since_1_27, overrides: &[] },
        Since { minor: 29, run: since_1_29, overrides: &[] },
        Since { minor: 32, run: since_1_32, overrides: &[] },
        Since { minor: 37, run: since_1_37, overrides: &[] },
    ],
};

/// Safe sysctls and the first policy version that accepts each.
const SAFE: &[(&str, u32)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_slow_start_after_idle", 37),
    ("net.ipv4.tcp_notsent_lowat", 37),
];

fn since_1_0(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, 0, sink);
}

fn since_1_27(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, 27, sink);
}

fn since_1_29(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, 29, sink);
}

fn since_1_32(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, 32, sink);
}

fn since_1_37(pod: &Pod<'_>, sink: &mut Sink<'_>) {
    check(pod, 37, sink);
}

/// Reports every sysctl not yet safe at policy version `v1.minor`.
fn check(pod: &Pod<'_>, minor: u32, sink: &mut Sink<'_>) {
    let Some(sysctls) = pod.security_context().and_then(|sc| sc.get("sysctls")) else { return };
    for (index, item) in sysctls.items().iter().enumerate() {
        let name = item_name(item);
        let safe = SAFE.iter().any(|&(safe, since)| safe == name && since <= minor);
        if !safe {
            let pos = if item.entry("name").is_some() { item.key_pos("name") } else { item.pos };
            let key = if name.is_empty() { format!("sysctls[{index}]") } else { format!("sysctls[{name}]") };
            sink.report(
                pos,
                format!("securityContext.{key}"),
                format!("pod must not set sysctl {name:?}, which is not in the safe set at v1.{minor}"),
            );
        }
    }
}
