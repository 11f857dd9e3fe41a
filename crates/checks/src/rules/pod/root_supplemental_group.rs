use kubesecops_k8s::{Node, Object};

use crate::rules::util::pod_sc_field;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pods whose `securityContext.fsGroup` is `0`, or whose `securityContext.supplementalGroups`
    /// lists `0`. Both add the root group to every process of every container in the pod.
    ///
    /// ## Why it matters
    /// A supplementary group is a group the process belongs to on top of its primary one, so
    /// these settings make every container a member of the root group whatever `runAsUser`
    /// and `runAsGroup` say. With `fsGroup: 0` the kubelet also hands group ownership of
    /// every volume to root and makes it group-writable. Files on the node or in volumes that
    /// root's group may read or write (keys, sockets, configuration) become reachable from a
    /// compromised process that otherwise holds no privilege.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     runAsUser: 12000
    ///     fsGroup: 0                 # reported
    ///     supplementalGroups: [0]    # reported
    /// ```
    ///
    /// ## Fix
    /// Use a dedicated group above 10000 for `fsGroup` and `supplementalGroups`.
    ///
    /// ## References
    /// - Kubernetes documentation, "Configure a Security Context for a Pod or Container"
    /// - NSA-CISA Kubernetes Hardening Guide, "Non-root containers"
    pub static META = {
        id: "KSO-C006",
        title: "Pod adds the root group to its containers",
        severity: Low,
        category: PodSecurity,
        aliases: [],
        frameworks: [NsaCisa("non-root containers")],
    };
}

/// Reports `fsGroup: 0` and each `0` in `supplementalGroups`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    if let Some(node) = pod_sc_field(&template, "fsGroup").filter(|n| n.as_i64() == Some(0)) {
        out.emit(
            node.pos,
            "securityContext.fsGroup",
            "pod sets fsGroup 0: every container joins the root group",
        );
    }
    let groups = pod_sc_field(&template, "supplementalGroups").map(Node::items).unwrap_or_default();
    for node in groups.iter().filter(|n| n.as_i64() == Some(0)) {
        out.emit(
            node.pos,
            "securityContext.supplementalGroups[0]",
            "pod lists group 0 in supplementalGroups: every container joins the root group",
        );
    }
}
