use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rayon::prelude::*;

use crate::index::Index;
use crate::rules::network::rule_reaches;
use crate::{declare_rule, Config, IndexEmitter};

/// The link-local address of the instance metadata service on AWS, GCP, Azure, OpenStack and
/// most other clouds.
const METADATA_IP: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// The IPv6 address of the metadata service on AWS (Nitro instances).
const METADATA_IPV6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
/// The metadata service answers plain HTTP.
const METADATA_PORT: i64 = 80;

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods can reach the cloud instance metadata service at
    /// `169.254.169.254` or, on AWS, `fd00:ec2::254` (TCP port 80). A workload is reported
    /// when:
    /// - its pods use `hostNetwork: true` (NetworkPolicies cannot apply to them);
    /// - no egress NetworkPolicy selects its pods, so all egress is allowed; or
    /// - a selecting egress policy has a rule admitting that address and port: a rule without
    ///   `to` peers (every destination), or an `ipBlock` whose `cidr` contains one of the
    ///   addresses and whose `except` list does not, with no `ports` or ports including TCP 80.
    ///
    /// Policies add up, so one allowing policy is enough. Pod and namespace selector peers
    /// never match the metadata address.
    ///
    /// ## Why it matters
    /// On most clouds the metadata service hands out the node's credentials to anything that
    /// asks from the node's network: IAM role keys on AWS, a service-account token on GCP, a
    /// managed identity token on Azure. A single SSRF bug or compromised container can fetch
    /// them and act as the node in the cloud account (MITRE ATT&CK T1552.005, cloud instance
    /// metadata API). The Capital One breach of 2019 started this way.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata:
    ///   name: web-egress
    /// spec:
    ///   podSelector: {matchLabels: {app: web}}
    ///   policyTypes: [Egress]
    ///   egress:
    ///   - to:
    ///     - ipBlock:
    ///         cidr: 0.0.0.0/0          # reported: admits 169.254.169.254
    /// ```
    ///
    /// ## Fix
    /// Add `except: [169.254.169.254/32]` to broad `ipBlock` peers (and `fd00:ec2::254/128`
    /// to IPv6 ones such as `::/0`), give every workload an
    /// egress policy, and also block the address at the node (IMDSv2 with a hop limit of 1 on
    /// AWS, GKE Workload Identity or metadata concealment, Azure network policies).
    ///
    /// ## References
    /// - Kubernetes documentation, "Network Policies": ipBlock and except
    /// - AWS documentation, "Use IMDSv2" (hop limit for containers)
    /// - MITRE ATT&CK T1552.005
    pub static META = {
        id: "KSO-N011",
        title: "Egress to the cloud metadata service not blocked",
        severity: Medium,
        category: Network,
        aliases: [],
        frameworks: [NsaCisa("network policies"), MitreAttack("T1552.005")],
    };
}

/// Reports workloads whose pods can reach the metadata address.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    // What each egress policy admits, worked out once per policy: a namespace's policies
    // select many workloads, and parsing their CIDRs again for each was most of this rule's
    // time on large inputs.
    let admits: Vec<Admits> = index
        .network_policies
        .iter()
        .map(|p| Admits {
            egress: p.egress,
            v4: p.egress
                && p.egress_rules.iter().any(|r| rule_reaches(r, IpAddr::V4(METADATA_IP), METADATA_PORT)),
            v6: p.egress
                && p.egress_rules.iter().any(|r| rule_reaches(r, IpAddr::V6(METADATA_IPV6), METADATA_PORT)),
        })
        .collect();
    let messages: Vec<Option<String>> = index
        .workloads
        .par_iter()
        .map(|workload| {
            if workload.host_network {
                return Some(
                    "pods use the host network, where no NetworkPolicy can block 169.254.169.254".to_string(),
                );
            }
            let egress: Vec<usize> =
                index.policy_indices_selecting(workload).filter(|&i| admits[i].egress).collect();
            let name = |i: usize| &index.network_policies[i].object.name;
            if egress.is_empty() {
                Some(
                    "no egress NetworkPolicy selects these pods, so they can reach 169.254.169.254"
                        .to_string(),
                )
            } else if let Some(&i) = egress.iter().find(|&&i| admits[i].v4) {
                Some(format!("egress NetworkPolicy {:?} allows these pods to reach 169.254.169.254", name(i)))
            } else {
                egress.iter().find(|&&i| admits[i].v6).map(|&i| {
                    format!("egress NetworkPolicy {:?} allows these pods to reach fd00:ec2::254", name(i))
                })
            }
        })
        .collect();
    for (workload, message) in index.workloads.iter().zip(messages) {
        if let Some(message) = message {
            out.emit(workload.location.clone(), &workload.object, "egress.169.254.169.254", message);
        }
    }
}

/// Whether a NetworkPolicy isolates egress, and whether it admits the metadata address.
struct Admits {
    egress: bool,
    v4: bool,
    v6: bool,
}
