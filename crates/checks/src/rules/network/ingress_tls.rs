use kubesecops_k8s::{Node, Object};

use crate::rules::network::is_ingress;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Ingresses without TLS: no `spec.tls` entry at all, or rule hosts that no `spec.tls`
    /// entry lists (when every entry lists its hosts; `*.example.com` covers one label, as in
    /// certificates).
    ///
    /// ## Why it matters
    /// Without TLS the ingress controller serves plain HTTP. Session cookies, bearer tokens,
    /// passwords and the data itself cross the internet and every network on the way in clear
    /// text, where anyone on the path can read or change them (MITRE ATT&CK T1557,
    /// adversary-in-the-middle; T1040, network sniffing).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: Ingress
    /// metadata:
    ///   name: shop
    /// spec:   # reported: no tls
    ///   rules:
    ///   - host: shop.example.com
    ///     http:
    ///       paths:
    ///       - path: /
    ///         pathType: Prefix
    ///         backend: {service: {name: shop, port: {number: 80}}}
    /// ```
    ///
    /// ## Fix
    /// Add a `tls` entry listing every host, with a certificate Secret (cert-manager can issue
    /// and renew it), and redirect HTTP to HTTPS in the controller.
    ///
    /// ## References
    /// - Kubernetes documentation, "Ingress": TLS
    /// - NSA-CISA Kubernetes Hardening Guidance, network separation
    pub static META = {
        id: "KSO-N005",
        title: "Ingress without TLS",
        severity: Medium,
        category: Network,
        aliases: ["C-0263", "tlsSettingsMissing"],
        frameworks: [NsaCisa("network separation"), MitreAttack("T1557"), MitreAttack("T1040")],
    };
}

/// Whether a TLS host (possibly `*.domain`) covers `host`.
fn covers(tls_host: &str, host: &str) -> bool {
    if tls_host.eq_ignore_ascii_case(host) {
        return true;
    }
    match (tls_host.strip_prefix("*."), host.split_once('.')) {
        (Some(domain), Some((label, rest))) => !label.is_empty() && rest.eq_ignore_ascii_case(domain),
        _ => false,
    }
}

/// Reports Ingresses without TLS, and rule hosts no TLS entry covers.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if !is_ingress(obj) {
        return;
    }
    let spec = obj.root.get("spec");
    let tls = spec.and_then(|s| s.get("tls")).map(Node::items).unwrap_or_default();
    if tls.is_empty() {
        out.emit(obj.root.key_pos("spec"), "spec.tls", "Ingress has no TLS section, so it serves plain HTTP");
        return;
    }
    // An entry without hosts applies to the controller's default certificate: no gap to name.
    let mut tls_hosts = Vec::new();
    for entry in tls {
        let hosts = entry.get("hosts").map(Node::items).unwrap_or_default();
        if hosts.is_empty() {
            return;
        }
        tls_hosts.extend(hosts.iter().filter_map(Node::as_str));
    }
    for rule in spec.and_then(|s| s.get("rules")).map(Node::items).unwrap_or_default() {
        let Some(node) = rule.get("host") else { continue };
        let Some(host) = node.as_str() else { continue };
        if !tls_hosts.iter().any(|t| covers(t, host)) {
            out.emit(
                node.pos,
                &format!("spec.rules[{host}].tls"),
                format!("host {host:?} is not listed in any TLS entry"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("shop.example.com", "SHOP.example.com"));
        assert!(covers("*.example.com", "shop.example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
    }
}
