use kubesecops_k8s::{Node, Object};

use crate::rules::network::service_spec;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Services that set `spec.externalIPs`.
    ///
    /// ## Why it matters
    /// kube-proxy captures traffic to every address listed in `externalIPs` on every node,
    /// without checking that the address belongs to the Service owner. Anyone allowed to create
    /// or edit a Service can therefore intercept traffic meant for another address, an
    /// external API or an in-cluster IP alike (CVE-2020-8554, a man-in-the-middle attack;
    /// MITRE ATT&CK T1557, adversary-in-the-middle). Kubernetes never fixed this in code: the
    /// advice is to not use the field and to block it at admission.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: legacy
    /// spec:
    ///   externalIPs:   # reported
    ///   - 203.0.113.10
    ///   ports:
    ///   - port: 80
    /// ```
    ///
    /// ## Fix
    /// Remove `externalIPs` and use a `LoadBalancer` Service or an Ingress. Enable the
    /// `DenyServiceExternalIPs` admission plugin, or a policy that rejects the field.
    ///
    /// ## References
    /// - CVE-2020-8554, Kubernetes security advisory "Man in the middle using LoadBalancer or ExternalIPs"
    /// - Kubernetes documentation, "Service": external IPs
    pub static META = {
        id: "KSO-N003",
        title: "Service with externalIPs",
        severity: High,
        category: Network,
        aliases: ["KSV-0108"],
        frameworks: [MitreAttack("T1557")],
    };
}

/// Reports Services with a non-empty `externalIPs` list.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(spec) = service_spec(obj) else { return };
    let ips: Vec<&str> = spec
        .get("externalIPs")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::as_str)
        .collect();
    if !ips.is_empty() {
        out.emit(
            spec.key_pos("externalIPs"),
            "spec.externalIPs",
            format!(
                "Service claims externalIPs {}; kube-proxy captures that traffic on every node",
                ips.join(", ")
            ),
        );
    }
}
