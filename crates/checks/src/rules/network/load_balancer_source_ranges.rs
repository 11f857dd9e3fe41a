use kubesecops_k8s::{Node, Object};

use crate::rules::network::{is_internal_load_balancer, service_spec, service_type};
use crate::{declare_rule, Config, Emitter};

/// The legacy annotation equivalent of `spec.loadBalancerSourceRanges`.
const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

declare_rule! {
    /// ## What it checks
    /// Services of `type: LoadBalancer` that accept traffic from any address: no
    /// `spec.loadBalancerSourceRanges` (nor the legacy
    /// `service.beta.kubernetes.io/load-balancer-source-ranges` annotation), or a range of
    /// `0.0.0.0/0` or `::/0`. Load balancers the cloud provider makes internal through its
    /// annotation (`service.beta.kubernetes.io/aws-load-balancer-internal`,
    /// `networking.gke.io/load-balancer-type: Internal`,
    /// `service.beta.kubernetes.io/azure-load-balancer-internal`, and the like) are not
    /// reported.
    ///
    /// ## Why it matters
    /// A public load balancer with no source ranges puts the backing pods on the internet.
    /// Internet-wide scanners find new addresses within minutes and try known exploits and
    /// default credentials against whatever answers (MITRE ATT&CK T1190, exploit public-facing
    /// application). Many Services exposed this way were meant only for an office, a VPN or a
    /// partner.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: reports
    /// spec:
    ///   type: LoadBalancer   # reported: no loadBalancerSourceRanges
    ///   ports:
    ///   - port: 443
    /// ```
    ///
    /// ## Fix
    /// List the client networks in `spec.loadBalancerSourceRanges` (for example
    /// `["203.0.113.0/24"]`), or make the load balancer internal with your provider's
    /// annotation. Services meant for the whole internet can keep the exposure with the ignore
    /// annotation and a reason.
    ///
    /// ## References
    /// - Kubernetes documentation, "Service": type LoadBalancer and `loadBalancerSourceRanges`
    /// - NSA-CISA Kubernetes Hardening Guidance, network separation
    pub static META = {
        id: "KSO-N002",
        title: "LoadBalancer Service open to any source",
        severity: Medium,
        category: Network,
        aliases: [],
        frameworks: [NsaCisa("network separation"), MitreAttack("T1190")],
    };
}

fn is_everywhere(range: &str) -> bool {
    matches!(range.trim(), "0.0.0.0/0" | "::/0")
}

/// Reports public LoadBalancer Services without a restricting source range.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(spec) = service_spec(obj) else { return };
    let ("LoadBalancer", type_node) = service_type(spec) else { return };
    if is_internal_load_balancer(obj) {
        return;
    }
    let ranges = spec.get("loadBalancerSourceRanges").map(Node::items).unwrap_or_default();
    let open: Vec<&Node> = ranges.iter().filter(|r| r.as_str().is_some_and(is_everywhere)).collect();
    for range in &open {
        out.emit(
            range.pos,
            "spec.loadBalancerSourceRanges",
            format!(
                "loadBalancerSourceRanges includes {:?}, which admits every address",
                range.as_str().unwrap_or("")
            ),
        );
    }
    if !ranges.is_empty() {
        return;
    }
    match obj.annotation(SOURCE_RANGES_ANNOTATION) {
        Some(value) if value.split(',').any(is_everywhere) => out.emit(
            obj.metadata()
                .and_then(|m| m.get("annotations"))
                .map_or(obj.root.pos, |a| a.key_pos(SOURCE_RANGES_ANNOTATION)),
            "spec.loadBalancerSourceRanges",
            "the load-balancer-source-ranges annotation admits every address",
        ),
        Some(value) if !value.trim().is_empty() => {}
        _ => out.emit(
            type_node.map_or(spec.pos, |n| n.pos),
            "spec.loadBalancerSourceRanges",
            "LoadBalancer Service sets no loadBalancerSourceRanges, so any address can connect",
        ),
    }
}
