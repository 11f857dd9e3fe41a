//! Representative peers for `--exposure`: pods that a policy rule allows by selector but
//! that may not exist in the input (netpol-analyzer's exposure analysis).
//!
//! Each rule peer that names specific namespaces or pods (neither an address block nor
//! "every pod of every namespace") yields one representative pod carrying the rule's
//! namespace and pod selectors. A representative is matched by a policy selector only when
//! that selector is empty (matches everything) or has exactly the same requirements: the
//! analysis reports what a rule *may* expose, never a guess about partially overlapping
//! selectors. NetworkPolicies never select a representative as their subject; admin
//! policies do when their subject selectors match it in the same way.
//!
//! A representative whose selectors are plain `matchLabels` (non-empty for both the
//! namespace and the pods) is dropped when a workload of the input matches it: that
//! workload is reported in the connection list instead.

use std::collections::HashSet;

use super::*;
use crate::parse::NAMESPACE_NAME_LABEL;
use crate::selector::Requirement;

/// A pod standing for every pod a rule peer selects.
#[derive(Debug, Clone)]
pub(super) struct Representative {
    /// The namespace, when the rule selects the policy's own namespace (a NetworkPolicy
    /// peer without `namespaceSelector`).
    pub(super) namespace: Option<String>,
    /// Namespace selector (for a peer without one: `kubernetes.io/metadata.name=<ns>`).
    pub(super) namespaces: Selector,
    /// Pod selector (`None`: every pod).
    pub(super) pods: Option<Selector>,
}

/// One requirement as the Kubernetes selector string writes it, with `In` of one value
/// written as `=` (both select the same pods). Values are sorted.
fn canonical_requirement(r: &Requirement) -> String {
    let sorted = |vs: &[String]| {
        let mut vs = vs.to_vec();
        vs.sort();
        vs.join(",")
    };
    match r {
        Requirement::Equals(k, v) => format!("{k}={v}"),
        Requirement::In(k, vs) if vs.len() == 1 => format!("{k}={}", vs[0]),
        Requirement::In(k, vs) => format!("{k} in ({})", sorted(vs)),
        Requirement::NotIn(k, vs) => format!("{k} notin ({})", sorted(vs)),
        Requirement::Exists(k) => k.clone(),
        Requirement::DoesNotExist(k) => format!("!{k}"),
    }
}

/// The requirements of a selector in a canonical order (by key), for equality tests.
pub(super) fn canonical(selector: Option<&Selector>) -> Vec<String> {
    let mut reqs: Vec<(&str, String)> = selector
        .map(|s| s.requirements().iter().map(|r| (r.key(), canonical_requirement(r))).collect())
        .unwrap_or_default();
    reqs.sort();
    reqs.into_iter().map(|(_, s)| s).collect()
}

/// Whether a rule or subject selector matches a representative's selector: it is empty,
/// or it has the same requirements.
fn full_match(rule: &Selector, representative: Option<&Selector>) -> bool {
    rule.is_empty() || canonical(Some(rule)) == canonical(representative)
}

/// `{Key:k,Operator:Op,Values:[a b],}`: how netpol-analyzer writes a `matchExpressions` item.
fn expression_text(r: &Requirement) -> Option<String> {
    let (key, op, values): (&str, &str, &[String]) = match r {
        Requirement::Equals(..) => return None,
        Requirement::In(k, vs) => (k, "In", vs),
        Requirement::NotIn(k, vs) => (k, "NotIn", vs),
        Requirement::Exists(k) => (k, "Exists", &[]),
        Requirement::DoesNotExist(k) => (k, "DoesNotExist", &[]),
    };
    Some(format!("{{Key:{key},Operator:{op},Values:[{}],}}", values.join(" ")))
}

/// A selector as netpol-analyzer writes it: `matchLabels` as `k=v` sorted by key, then the
/// `matchExpressions` items, sorted.
fn selector_text(selector: &Selector) -> String {
    let mut labels: Vec<String> = selector
        .requirements()
        .iter()
        .filter_map(|r| match r {
            Requirement::Equals(k, v) => Some(format!("{k}={v}")),
            _ => None,
        })
        .collect();
    labels.sort();
    let mut expressions: Vec<String> = selector.requirements().iter().filter_map(expression_text).collect();
    expressions.sort();
    labels.extend(expressions);
    labels.join(",")
}

impl Representative {
    /// `ns/[pod with {app=x}]`, `[namespace with {x=y}]/[all pods]`,
    /// `[all namespaces]/[pod with {...}]`.
    pub(super) fn display(&self) -> String {
        let reqs = self.namespaces.requirements();
        let ns = match reqs {
            [Requirement::Equals(k, v)] if k == NAMESPACE_NAME_LABEL => v.clone(),
            [] => "[all namespaces]".to_string(),
            _ => format!("[namespace with {{{}}}]", selector_text(&self.namespaces)),
        };
        let pods = match &self.pods {
            Some(s) if !s.is_empty() => format!("[pod with {{{}}}]", selector_text(s)),
            _ => "[all pods]".to_string(),
        };
        format!("{ns}/{pods}")
    }

    /// Whether a workload of the input stands for this representative (plain labels only).
    fn matched_by(&self, workload: &Workload, ns_labels: &Labels) -> bool {
        let plain = |s: &Selector| s.requirements().iter().all(|r| matches!(r, Requirement::Equals(..)));
        let Some(pods) = &self.pods else { return false };
        if self.namespaces.is_empty() || pods.is_empty() || !plain(&self.namespaces) || !plain(pods) {
            return false;
        }
        pods.matches(&workload.labels) && self.namespaces.matches(ns_labels)
    }

    /// Whether the representative satisfies an atom (a policy subject or rule peer).
    fn satisfies(&self, predicate: &Predicate) -> bool {
        let ns_ok = match &predicate.namespaces {
            NsCondition::Named(n) => self.namespace.as_deref() == Some(n.as_str()),
            NsCondition::Selector(s) => full_match(s, Some(&self.namespaces)),
        };
        ns_ok && predicate.pods.as_ref().is_none_or(|s| full_match(s, self.pods.as_ref()))
    }

    /// The atom bits of the representative.
    pub(super) fn bits(&self, atoms: &Atoms, words: usize) -> Vec<u64> {
        let mut bits = vec![0u64; words];
        for (i, p) in atoms.list.iter().enumerate() {
            if self.satisfies(p) {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }
}

/// Whether a NetworkPolicy peer selects every pod of every namespace.
fn selects_everything(namespaces: Option<&Selector>, pods: Option<&Selector>) -> bool {
    namespaces.is_some_and(Selector::is_empty) && pods.is_none_or(Selector::is_empty)
}

/// The representatives of the resources' policies, deduplicated by their selectors (the
/// first rule wins), without those a workload of the input matches.
pub(super) fn representatives(res: &Resources) -> Vec<Representative> {
    let mut out: Vec<Representative> = Vec::new();
    let mut seen: HashSet<(Vec<String>, Vec<String>)> = HashSet::new();
    let mut add = |r: Representative| {
        if seen.insert((canonical(Some(&r.namespaces)), canonical(r.pods.as_ref()))) {
            out.push(r);
        }
    };
    for np in &res.network_policies {
        let own_ns = || {
            Selector::new(vec![(NAMESPACE_NAME_LABEL.to_string(), np.namespace.clone())], vec![])
                .unwrap_or_default()
        };
        let directions = [(np.affects_ingress, &np.ingress), (np.affects_egress, &np.egress)];
        for (_, rules) in directions.into_iter().filter(|(affects, _)| *affects) {
            for rule in rules {
                // A rule that (also) admits every pod of the cluster counts as cluster-wide
                // exposure as a whole.
                let everything = rule.peers.iter().any(|p| {
                    matches!(p, RulePeer::Selectors { namespaces, pods }
                        if selects_everything(namespaces.as_ref(), pods.as_ref()))
                });
                if rule.peers.is_empty() || everything {
                    continue;
                }
                for peer in &rule.peers {
                    if let RulePeer::Selectors { namespaces, pods } = peer {
                        add(match namespaces {
                            Some(ns) => {
                                Representative { namespace: None, namespaces: ns.clone(), pods: pods.clone() }
                            }
                            None => Representative {
                                namespace: Some(np.namespace.clone()),
                                namespaces: own_ns(),
                                pods: pods.clone(),
                            },
                        });
                    }
                }
            }
        }
    }
    for p in res.admin_policies.iter().chain(res.baseline.iter()) {
        for rule in p.ingress.iter().chain(p.egress.iter()) {
            for peer in &rule.peers {
                match peer {
                    AdminPeer::Pods(AdminPods::Namespaces(ns)) if !ns.is_empty() => {
                        add(Representative { namespace: None, namespaces: ns.clone(), pods: None })
                    }
                    AdminPeer::Pods(AdminPods::Pods { namespaces, pods })
                        if !(namespaces.is_empty() && pods.is_empty()) =>
                    {
                        add(Representative {
                            namespace: None,
                            namespaces: namespaces.clone(),
                            pods: Some(pods.clone()),
                        })
                    }
                    _ => {}
                }
            }
        }
    }
    let ns_labels: HashMap<&str, &Labels> =
        res.namespaces.iter().map(|n| (n.name.as_str(), &n.labels)).collect();
    let empty = Labels::default();
    out.retain(|r| {
        !res.workloads
            .iter()
            .any(|w| r.matched_by(w, ns_labels.get(w.namespace.as_str()).copied().unwrap_or(&empty)))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(labels: &[(&str, &str)], exprs: &[(&str, &str, &[&str])]) -> Selector {
        Selector::new(
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            exprs
                .iter()
                .map(|(k, op, vs)| {
                    (k.to_string(), op.to_string(), vs.iter().map(|v| v.to_string()).collect())
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn selectors_match_a_representative_only_when_empty_or_equal() {
        let rep = Representative {
            namespace: None,
            namespaces: sel(&[("team", "ops")], &[]),
            pods: Some(sel(&[("app", "x")], &[("tier", "NotIn", &["b", "a"])])),
        };
        // `In` with one value is `=`; value order does not matter.
        assert!(full_match(&sel(&[], &[("team", "In", &["ops"])]), Some(&rep.namespaces)));
        assert!(full_match(
            &sel(&[], &[("tier", "NotIn", &["a", "b"]), ("app", "In", &["x"])]),
            rep.pods.as_ref()
        ));
        // A narrower or wider selector is not a match; the empty one is.
        assert!(!full_match(&sel(&[("app", "x")], &[]), rep.pods.as_ref()));
        assert!(!full_match(&sel(&[("team", "ops"), ("x", "y")], &[]), Some(&rep.namespaces)));
        assert!(full_match(&Selector::everything(), rep.pods.as_ref()));
        assert!(!full_match(&sel(&[("app", "x")], &[]), None));
        assert_eq!(
            rep.display(),
            "[namespace with {team=ops}]/[pod with {app=x,{Key:tier,Operator:NotIn,Values:[b a],}}]"
        );
    }

    #[test]
    fn own_namespace_and_all_namespaces_are_written_by_name() {
        let own = Representative {
            namespace: Some("shop".into()),
            namespaces: sel(&[(NAMESPACE_NAME_LABEL, "shop")], &[]),
            pods: Some(Selector::everything()),
        };
        assert_eq!(own.display(), "shop/[all pods]");
        let any = Representative { namespace: None, namespaces: Selector::everything(), pods: None };
        assert_eq!(any.display(), "[all namespaces]/[all pods]");
    }
}
