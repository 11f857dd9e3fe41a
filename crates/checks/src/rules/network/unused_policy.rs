use crate::index::Index;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// NetworkPolicies whose `spec.podSelector` selects none of the workloads of their
    /// namespace in the scanned input. The rule speaks only about namespaces for which the
    /// input holds at least one workload (pods or pod templates; host-network pods, which
    /// policies do not apply to, left out): for a namespace with none, it cannot tell. An empty `podSelector` (every pod) never counts as selecting nothing.
    ///
    /// ## Why it matters
    /// A policy that selects no pod protects nothing. It usually means a label was renamed
    /// on the workload but not in the policy, or the policy was written for the wrong
    /// namespace, and the pods the author meant to isolate accept traffic from everywhere
    /// while reviewers believe they are protected.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: api-ingress
    ///   namespace: shop
    /// spec:
    ///   podSelector:
    ///     matchLabels: {app: api-v1}   # reported: the Deployment's pods are labelled app=api
    ///   ingress:
    ///   - from:
    ///     - podSelector: {matchLabels: {app: web}}
    /// ```
    ///
    /// ## Fix
    /// Make the selector match the labels of the pod template it is meant for, or delete the
    /// policy when its workload is gone.
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": the podSelector field
    /// - NSA-CISA Kubernetes Hardening Guidance, network policies
    pub static META = {
        id: "KSO-N012",
        title: "NetworkPolicy selects no pod",
        severity: Low,
        category: Network,
        aliases: [],
        frameworks: [NsaCisa("network policies")],
    };
}

/// Reports policies that select none of the workloads of their namespace.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    for policy in index.network_policies.iter().filter(|p| !p.pod_selector.is_empty()) {
        let mut in_namespace = index.pod_network_workloads(&policy.namespace).peekable();
        if in_namespace.peek().is_none() {
            continue;
        }
        let selects_some = in_namespace.any(|w| w.selected_by(&policy.pod_selector));
        if !selects_some {
            out.emit(
                policy.location.clone(),
                &policy.object,
                "spec.podSelector",
                format!(
                    "spec.podSelector matches none of the workloads of namespace {:?} in the input",
                    policy.namespace
                ),
            );
        }
    }
}
