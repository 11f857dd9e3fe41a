//! Network exposure and isolation rules (`KSO-N`): Service types and ports, Ingress TLS and
//! authentication, and NetworkPolicy coverage across all objects (index rules).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use kubesecops_core::{Location, ObjectRef};
use kubesecops_k8s::{Node, Object};

use crate::index::{Index, PeerRecord, PolicyRuleRecord};
use crate::rule::{Check, RuleDef};

pub mod default_deny_egress;
pub mod default_deny_ingress;
pub mod external_ips;
pub mod ingress_auth;
pub mod ingress_tls;
pub mod load_balancer_source_ranges;
pub mod metadata_egress;
pub mod node_port;
pub mod overlapping_allow_all;
pub mod sensitive_port;
pub mod unmatched_peer;
pub mod unselected_egress;
pub mod unselected_ingress;
pub mod unused_policy;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &node_port::META, check: Check::Object(node_port::check) },
    RuleDef {
        meta: &load_balancer_source_ranges::META,
        check: Check::Object(load_balancer_source_ranges::check),
    },
    RuleDef { meta: &external_ips::META, check: Check::Object(external_ips::check) },
    RuleDef { meta: &sensitive_port::META, check: Check::Object(sensitive_port::check) },
    RuleDef { meta: &ingress_tls::META, check: Check::Object(ingress_tls::check) },
    RuleDef { meta: &ingress_auth::META, check: Check::Object(ingress_auth::check) },
    RuleDef { meta: &default_deny_ingress::META, check: Check::Index(default_deny_ingress::check) },
    RuleDef { meta: &default_deny_egress::META, check: Check::Index(default_deny_egress::check) },
    RuleDef { meta: &unselected_ingress::META, check: Check::Index(unselected_ingress::check) },
    RuleDef { meta: &unselected_egress::META, check: Check::Index(unselected_egress::check) },
    RuleDef { meta: &metadata_egress::META, check: Check::Index(metadata_egress::check) },
    RuleDef { meta: &unused_policy::META, check: Check::Index(unused_policy::check) },
    RuleDef { meta: &unmatched_peer::META, check: Check::Index(unmatched_peer::check) },
    RuleDef { meta: &overlapping_allow_all::META, check: Check::Index(overlapping_allow_all::check) },
];

/// The `spec` of a core `Service`.
fn service_spec(obj: &Object) -> Option<&Node> {
    (obj.kind() == "Service" && obj.group().is_empty()).then(|| obj.root.get("spec")).flatten()
}

/// `spec.type` of a Service (`ClusterIP` when not written) and its node.
fn service_type(spec: &Node) -> (&str, Option<&Node>) {
    let node = spec.get("type");
    (node.and_then(Node::as_str).unwrap_or("ClusterIP"), node)
}

/// Whether the object is an Ingress (current or legacy API group).
fn is_ingress(obj: &Object) -> bool {
    obj.kind() == "Ingress" && matches!(obj.group(), "networking.k8s.io" | "extensions")
}

/// Cloud provider annotations that make a `LoadBalancer` Service internal (reachable only
/// from the provider's private network), with the value that means "internal". `None`
/// accepts any value but `false`.
const INTERNAL_LB_ANNOTATIONS: &[(&str, Option<&str>)] = &[
    ("service.beta.kubernetes.io/aws-load-balancer-internal", None),
    ("service.beta.kubernetes.io/aws-load-balancer-scheme", Some("internal")),
    ("networking.gke.io/load-balancer-type", Some("Internal")),
    ("cloud.google.com/load-balancer-type", Some("Internal")),
    ("service.beta.kubernetes.io/azure-load-balancer-internal", Some("true")),
    ("service.beta.kubernetes.io/oci-load-balancer-internal", Some("true")),
    ("service.beta.kubernetes.io/openstack-internal-load-balancer", Some("true")),
    ("service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type", Some("private")),
    ("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type", Some("intranet")),
];

/// Whether a `LoadBalancer` Service asks its cloud provider for an internal load balancer.
fn is_internal_load_balancer(obj: &Object) -> bool {
    INTERNAL_LB_ANNOTATIONS.iter().any(|(key, expected)| match (obj.annotation(key), expected) {
        (Some(value), Some(expected)) => value.eq_ignore_ascii_case(expected),
        (Some(value), None) => !value.eq_ignore_ascii_case("false"),
        (None, _) => false,
    })
}

/// Whether a CIDR (`a.b.c.d/n`, `x:y::z/n`, or a bare address) contains `ip`. A block of the
/// other address family, and unparsable text, contain nothing.
fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let cidr = cidr.trim();
    let (addr, bits) = match cidr.split_once('/') {
        Some((addr, bits)) => (addr, bits.parse::<u32>().ok()),
        None => (cidr, Some(if ip.is_ipv4() { 32 } else { 128 })),
    };
    let (Ok(addr), Some(bits)) = (addr.parse::<IpAddr>(), bits) else { return false };
    match (addr, ip) {
        (IpAddr::V4(a), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(a) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(a) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// Whether an egress peer lets traffic reach `ip`: an `ipBlock` containing it that no `except`
/// entry carves out. Pod and namespace selectors only ever match pods.
fn peer_reaches(peer: &PeerRecord, ip: IpAddr) -> bool {
    peer.cidr.as_deref().is_some_and(|cidr| cidr_contains(cidr, ip))
        && !peer.except.iter().any(|e| cidr_contains(e, ip))
}

/// Whether an egress rule admits TCP traffic to `ip` on `port`.
fn rule_reaches(rule: &PolicyRuleRecord, ip: IpAddr, port: i64) -> bool {
    rule.admits_port("TCP", port) && (rule.peers.is_empty() || rule.peers.iter().any(|p| peer_reaches(p, ip)))
}

/// A namespace the namespace-level rules look at, and where to report it.
struct NamespaceSite<'a> {
    name: &'a str,
    location: &'a Location,
    object: &'a Arc<ObjectRef>,
}

/// Orders sites by file, line and column, so the same input always reports at the same place.
fn site_order<'a>(site: &NamespaceSite<'a>) -> (&'a str, Option<u32>, Option<u32>) {
    (&site.location.path, site.location.line, site.location.column)
}

/// The namespaces to check for a default-deny policy: every `Namespace` object, plus every
/// namespace a workload names explicitly in `metadata.namespace` without a `Namespace` object
/// in the input (reported at the first such workload, by file and line). Workloads without a
/// namespace are left out: their namespace is decided when they are applied.
fn namespace_sites(index: &Index) -> Vec<NamespaceSite<'_>> {
    let mut sites: BTreeMap<&str, NamespaceSite<'_>> = BTreeMap::new();
    for ns in &index.namespaces {
        sites.entry(&ns.name).or_insert(NamespaceSite {
            name: &ns.name,
            location: &ns.location,
            object: &ns.object,
        });
    }
    let declared: Vec<&str> = sites.keys().copied().collect();
    let mut first_workload: BTreeMap<&str, NamespaceSite<'_>> = BTreeMap::new();
    for w in index.workloads.iter().filter(|w| !w.object.namespace.is_empty()) {
        if declared.contains(&w.namespace.as_str()) {
            continue;
        }
        let site = NamespaceSite { name: &w.namespace, location: &w.location, object: &w.object };
        match first_workload.get(w.namespace.as_str()) {
            Some(earlier) if site_order(earlier) <= site_order(&site) => {}
            _ => {
                first_workload.insert(&w.namespace, site);
            }
        }
    }
    sites.extend(first_workload);
    sites.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_contain_addresses() {
        let ip: IpAddr = "169.254.169.254".parse().unwrap();
        let ip6: IpAddr = "fd00:ec2::254".parse().unwrap();
        assert!(cidr_contains("::/0", ip6) && cidr_contains("fd00::/8", ip6));
        assert!(cidr_contains("fd00:ec2::254", ip6) && !cidr_contains("fe80::/10", ip6));
        assert!(!cidr_contains("0.0.0.0/0", ip6) && !cidr_contains("::/129", ip6));
        assert!(cidr_contains("0.0.0.0/0", ip));
        assert!(cidr_contains("169.254.0.0/16", ip));
        assert!(cidr_contains("169.254.169.254/32", ip));
        assert!(cidr_contains("169.254.169.254", ip));
        assert!(!cidr_contains("10.0.0.0/8", ip));
        assert!(!cidr_contains("::/0", ip));
        assert!(!cidr_contains("169.254.0.0/40", ip));
        let open = PeerRecord {
            cidr: Some("0.0.0.0/0".into()),
            except: vec!["169.254.0.0/16".into()],
            ..PeerRecord::default()
        };
        assert!(!peer_reaches(&open, ip));
        let leaky = PeerRecord {
            cidr: Some("0.0.0.0/0".into()),
            except: vec!["10.0.0.0/8".into()],
            ..PeerRecord::default()
        };
        assert!(peer_reaches(&leaky, ip));
    }
}
