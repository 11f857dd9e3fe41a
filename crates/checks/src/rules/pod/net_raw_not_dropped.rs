use kubesecops_k8s::Object;

use crate::rules::pod::capability_sets::{drop_anchor, listed, normalize};
use crate::rules::util::{for_each_container, is_windows_pod};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Linux containers that keep or add `NET_RAW`: `capabilities.add` lists it, or
    /// `capabilities.drop` lists neither `NET_RAW` nor `ALL`. Names are compared as the
    /// runtimes read them (upper case, with or without `CAP_`). Pods that declare
    /// `spec.os.name: windows` are skipped.
    ///
    /// ## Why it matters
    /// Most runtimes still grant `NET_RAW` by default. It lets a process open raw sockets and
    /// forge any packet: ARP and DNS spoofing against neighbouring pods on the same node,
    /// traffic interception, and the packet-level kernel bugs that have repeatedly led to
    /// container escapes. Almost no application needs it; `ping` works without it on current
    /// kernels through unprivileged ICMP sockets.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: registry.example.com/web:3.1   # no capabilities.drop: reported
    /// ```
    ///
    /// ## Fix
    /// Drop `ALL` (or at least `NET_RAW`) in `capabilities.drop`, and do not add it back.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.2.8
    /// - Kubernetes Pod Security Standards, baseline level, "Capabilities" (`NET_RAW` is not in
    ///   the allowed set)
    pub static META = {
        id: "KSO-C014",
        title: "NET_RAW capability not dropped",
        severity: Medium,
        category: PodSecurity,
        aliases: ["KSV-0119", "CKV_K8S_28", "C-0199", "drop-net-raw-capability"],
        frameworks: [Cis("5.2.8"), MitreAttack("T1557.002")],
    };
}

/// Reports each Linux container that adds `NET_RAW` or does not drop it.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |template, container| {
        if is_windows_pod(template) {
            return;
        }
        let name = container.name();
        let added: Vec<_> =
            listed(&container, "add").into_iter().filter(|(_, c)| normalize(c) == "NET_RAW").collect();
        for (node, cap) in &added {
            out.emit(
                node.pos,
                &container.key_with(".securityContext.capabilities.add[NET_RAW]"),
                format!("container {name:?} adds {cap}: it can forge packets on the pod network"),
            );
        }
        if !added.is_empty() {
            return;
        }
        let dropped = listed(&container, "drop");
        if dropped.iter().any(|(_, cap)| matches!(normalize(cap).as_str(), "NET_RAW" | "ALL")) {
            return;
        }
        out.emit(
            drop_anchor(&container),
            &container.key_with(".securityContext.capabilities.drop"),
            format!("container {name:?} does not drop NET_RAW (or ALL)"),
        );
    });
}
