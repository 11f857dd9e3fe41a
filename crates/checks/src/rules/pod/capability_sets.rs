//! Capability names and sets read by the capability rules (`KSO-C009` to `KSO-C014`).

use kubesecops_k8s::{Container, Node};

use crate::rules::util::sc_field;

/// The capabilities the Pod Security Standards baseline level lets a container add: the
/// container runtimes' historical default set, minus `NET_RAW`.
pub const BASELINE: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Capabilities that each break a kernel isolation boundary on their own, with what they
/// give. `SYS_ADMIN` has its own rule (`KSO-C010`) and is not listed here.
pub const DANGEROUS: &[(&str, &str)] = &[
    ("ALL", "every capability, which is privileged mode in all but name"),
    ("SYS_MODULE", "loads kernel modules, i.e. runs code in the host kernel"),
    ("SYS_RAWIO", "raw I/O port and device memory access"),
    ("SYS_PTRACE", "traces and injects code into other processes"),
    ("DAC_READ_SEARCH", "opens host files by handle, the classic open_by_handle_at escape"),
    ("BPF", "loads eBPF programs into the kernel"),
    ("PERFMON", "kernel performance monitoring, a kernel attack surface and info leak"),
    ("NET_ADMIN", "reconfigures interfaces, routes and firewall rules"),
    ("MAC_ADMIN", "changes the AppArmor/SELinux policy"),
    ("MAC_OVERRIDE", "bypasses the AppArmor/SELinux policy"),
    ("SYS_BOOT", "reboots the node or loads a new kernel"),
    ("SYS_TIME", "sets the node's clock, which is not namespaced"),
    ("SYSLOG", "reads the kernel log, leaking kernel addresses"),
];

/// A capability name as container runtimes read it: upper case, without the `CAP_` prefix.
pub fn normalize(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_string).unwrap_or(upper)
}

/// The items of `securityContext.capabilities.<list>` (`add` or `drop`) with their text.
/// Items that are not scalars cannot name a capability and are left out.
pub fn listed<'a>(container: &Container<'a>, list: &str) -> Vec<(&'a Node, &'a str)> {
    sc_field(container, "capabilities")
        .and_then(|caps| caps.get(list))
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| Some((item, item.as_str()?)))
        .collect()
}

/// Where to report a missing `drop`: the `drop` key, else the `capabilities` key, else the
/// `securityContext` key, else the container.
pub fn drop_anchor(container: &Container<'_>) -> kubesecops_k8s::Pos {
    let Some(sc) = container.security_context() else { return container.node.key_pos("securityContext") };
    match sc.get("capabilities") {
        Some(caps) if caps.entry("drop").is_some() => caps.key_pos("drop"),
        _ if sc.entry("capabilities").is_some() => sc.key_pos("capabilities"),
        _ => container.node.key_pos("securityContext"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_like_the_runtimes() {
        assert_eq!(normalize("CAP_SYS_ADMIN"), "SYS_ADMIN");
        assert_eq!(normalize("net_raw"), "NET_RAW");
        assert_eq!(normalize("cap_bpf "), "BPF");
        assert!(DANGEROUS.iter().all(|(name, _)| !BASELINE.contains(name) && *name != "SYS_ADMIN"));
    }
}
