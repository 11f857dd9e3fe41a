use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::{listed, normalize, DANGEROUS};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose `securityContext.capabilities.add` lists a capability that breaks a
    /// kernel isolation boundary on its own: `ALL`, `SYS_MODULE`, `SYS_RAWIO`, `SYS_PTRACE`,
    /// `DAC_READ_SEARCH`, `BPF`, `PERFMON`, `NET_ADMIN`, `MAC_ADMIN`, `MAC_OVERRIDE`,
    /// `SYS_BOOT`, `SYS_TIME` and `SYSLOG`. Names are compared as the runtimes read them
    /// (upper case, with or without `CAP_`). `SYS_ADMIN` is reported by `KSO-C010`.
    ///
    /// ## Why it matters
    /// Each of these hands a process a way past the container boundary or into the kernel:
    /// `SYS_MODULE` loads kernel code; `SYS_RAWIO` reads device memory; `DAC_READ_SEARCH`
    /// opens host files by handle (the "shocker" escape); `SYS_PTRACE` injects into other
    /// processes, including host ones when `hostPID` is set; `BPF` and `PERFMON` open large
    /// kernel attack surfaces; `NET_ADMIN` rewrites routes and firewall rules (the node's own
    /// with `hostNetwork`); `MAC_ADMIN`/`MAC_OVERRIDE` switch off AppArmor or SELinux;
    /// `SYS_BOOT` and `SYS_TIME` affect the whole node; `SYSLOG` leaks kernel addresses that
    /// make kernel exploits reliable (MITRE ATT&CK T1611).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: agent
    ///   image: registry.example.com/agent:2.0
    ///   securityContext:
    ///     capabilities:
    ///       add: [NET_ADMIN, SYS_PTRACE]   # both reported
    /// ```
    ///
    /// ## Fix
    /// Remove the capability. Networking and tracing agents belong in a reviewed DaemonSet on
    /// dedicated nodes; ignore this rule there with the reason.
    ///
    /// ## References
    /// - Kubernetes Pod Security Standards, baseline level, "Capabilities"
    /// - Linux `capabilities(7)`
    pub static META = {
        id: "KSO-C011",
        title: "Dangerous capability added",
        severity: High,
        category: PodSecurity,
        aliases: ["KSV-0120", "C-0046", "dangerousCapabilities"],
        frameworks: [Cis("5.2.9"), MitreAttack("T1611"), Pss("baseline:capabilities_baseline")],
    };
}

/// Reports each dangerous capability a container adds.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (node, cap) in listed(&container, "add") {
            let normal = normalize(cap);
            let Some((_, what)) = DANGEROUS.iter().find(|(name, _)| *name == normal) else { continue };
            out.emit(
                node.pos,
                &format!("{}.securityContext.capabilities.add[{normal}]", container.key()),
                format!("container {:?} adds {cap}: {what}", container.name()),
            );
        }
    });
}
