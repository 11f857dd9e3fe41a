use std::collections::BTreeSet;

use kubesecops_core::Location;

use crate::index::{Index, NetworkPolicyRecord, PolicyRuleRecord};
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Ingress or egress rules that allow everything (no peers and no ports, or an `ipBlock`
    /// of the whole address space without exceptions and no ports) in a policy whose pods
    /// also get narrower rules in the same direction, from the same policy or another policy
    /// of the namespace selecting some of the same workloads. Policies add up, so the
    /// allow-all rule makes every narrower one meaningless for those pods.
    ///
    /// ## Why it matters
    /// Someone wrote the narrow rules to limit who may talk to these pods; the allow-all rule
    /// silently undoes that. It is typically left over from debugging ("allow everything for
    /// now") or added by a chart next to a hand-written policy, and it turns a reviewed,
    /// least-privilege setup into an open one without any change to the narrow policy.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: debug-open
    ///   namespace: shop
    /// spec:
    ///   podSelector: {}
    ///   ingress:
    ///   - {}            # reported when another policy limits ingress to the same pods
    /// ```
    ///
    /// ## Fix
    /// Remove the allow-all rule, or fold the peers it was meant for into the narrow rules.
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": policies are additive
    /// - NSA-CISA Kubernetes Hardening Guidance, network policies
    pub static META = {
        id: "KSO-N014",
        title: "Allow-all NetworkPolicy rule overrides narrower rules",
        severity: Medium,
        category: Network,
        aliases: [],
        frameworks: [NsaCisa("network policies"), MitreAttack("T1046")],
    };
}

/// Whether two policies of one namespace select a common workload of the input (or are sure
/// to: one of them selects every pod and the namespace has workloads, or the selectors are
/// the same).
fn overlap(index: &Index, a: &NetworkPolicyRecord, b: &NetworkPolicyRecord) -> bool {
    if a.namespace != b.namespace {
        return false;
    }
    if a.pod_selector == b.pod_selector {
        return true;
    }
    index
        .pod_network_workloads(&a.namespace)
        .any(|w| w.selected_by(&a.pod_selector) && w.selected_by(&b.pod_selector))
}

/// Reports allow-all rules beside narrower rules for the same pods.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    for (i, policy) in index.network_policies.iter().enumerate() {
        for ingress in [true, false] {
            let (applies, rules, direction) = if ingress {
                (policy.ingress, &policy.ingress_rules, "ingress")
            } else {
                (policy.egress, &policy.egress_rules, "egress")
            };
            let Some(r) = rules.iter().position(PolicyRuleRecord::allows_everything).filter(|_| applies)
            else {
                continue;
            };
            let narrow = |p: &NetworkPolicyRecord| {
                let (applies, rules) =
                    if ingress { (p.ingress, &p.ingress_rules) } else { (p.egress, &p.egress_rules) };
                applies && rules.iter().any(|rule| !rule.allows_everything())
            };
            let mut overridden = BTreeSet::new();
            for (j, other) in index.network_policies.iter().enumerate() {
                if other.namespace == policy.namespace
                    && narrow(other)
                    && (i == j || overlap(index, policy, other))
                {
                    overridden.insert(other.object.name.as_str());
                }
            }
            if overridden.is_empty() {
                continue;
            }
            let names: Vec<String> = overridden.iter().map(|n| format!("{n:?}")).collect();
            let location = Location { line: rules[r].line, column: None, ..policy.location.clone() };
            out.emit(
                location,
                &policy.object,
                &format!("{direction}[{r}]"),
                format!(
                    "{direction} rule {r} allows all traffic, overriding the narrower {direction} rules of {} \
                     for the pods they share",
                    names.join(", ")
                ),
            );
        }
    }
}
