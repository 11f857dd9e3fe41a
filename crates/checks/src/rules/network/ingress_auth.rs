use kubesecops_k8s::Object;

use crate::rules::network::is_ingress;
use crate::{declare_rule, Config, Emitter};

/// Annotations through which common ingress controllers put authentication in front of the
/// backends, and the values that switch it off again.
const AUTH_ANNOTATIONS: &[(&str, &[&str])] = &[
    // ingress-nginx: external auth (oauth2-proxy and the like), basic/digest auth, client certificates.
    ("nginx.ingress.kubernetes.io/auth-url", &[]),
    ("nginx.ingress.kubernetes.io/auth-type", &[]),
    ("nginx.ingress.kubernetes.io/auth-tls-verify-client", &["off"]),
    // NGINX Inc. controller.
    ("nginx.org/basic-auth-secret", &[]),
    // Traefik v2+ middlewares (forwardAuth, basicAuth, ...) and Traefik v1 / HAProxy legacy keys.
    ("traefik.ingress.kubernetes.io/router.middlewares", &[]),
    ("traefik.ingress.kubernetes.io/auth-type", &[]),
    ("ingress.kubernetes.io/auth-type", &[]),
    ("ingress.kubernetes.io/auth-url", &[]),
    ("haproxy.org/auth-type", &[]),
    // AWS Load Balancer Controller: Cognito or OIDC.
    ("alb.ingress.kubernetes.io/auth-type", &["none"]),
    // Kong plugins (key-auth, oidc, jwt, ...).
    ("konghq.com/plugins", &[]),
];

declare_rule! {
    /// ## What it checks
    /// Ingresses that carry none of the annotations through which common controllers put
    /// authentication in front of the backends: ingress-nginx `auth-url` (oauth2-proxy and
    /// other external auth), `auth-type` (basic or digest) and `auth-tls-verify-client`
    /// (client certificates, unless `off`); NGINX Inc. `nginx.org/basic-auth-secret`; Traefik
    /// `router.middlewares` (assumed to include an auth middleware) and the legacy
    /// `auth-type` keys; HAProxy `haproxy.org/auth-type`; AWS ALB `auth-type` (unless
    /// `none`); Kong `konghq.com/plugins`. Authentication done inside the application, or
    /// by a controller configured outside the Ingress (GKE IAP through a BackendConfig, a
    /// service mesh), is invisible here: silence the rule for such Ingresses with the ignore
    /// annotation.
    ///
    /// ## Why it matters
    /// An Ingress publishes a backend to whoever can reach the controller, usually the
    /// internet. Internal dashboards, admin consoles and APIs are routinely exposed this way
    /// on the assumption that "nobody knows the host name"; certificate transparency logs and
    /// scanners find them anyway (MITRE ATT&CK T1190, exploit public-facing application).
    /// Authentication at the edge protects backends that have none or have weak defaults.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: Ingress
    /// metadata:
    ///   name: grafana   # reported: no auth annotation
    /// spec:
    ///   rules:
    ///   - host: grafana.example.com
    /// ```
    ///
    /// ## Fix
    /// Put an authenticating proxy in front, for example with ingress-nginx
    /// `nginx.ingress.kubernetes.io/auth-url: https://oauth2.example.com/oauth2/auth` and
    /// `auth-signin`, or a Traefik forwardAuth middleware. Public sites can keep the exposure
    /// with the ignore annotation and a reason.
    ///
    /// ## References
    /// - ingress-nginx documentation, "External Authentication" and "Basic Authentication"
    /// - OWASP Top 10, A01 Broken Access Control
    pub static META = {
        id: "KSO-N006",
        title: "Ingress without authentication annotations",
        severity: Low,
        category: Network,
        aliases: [],
        frameworks: [NsaCisa("authentication and authorization"), MitreAttack("T1190")],
    };
}

/// Whether one of the annotations turns authentication on.
fn has_auth_annotation(obj: &Object) -> bool {
    AUTH_ANNOTATIONS.iter().any(|(key, off)| {
        obj.annotation(key)
            .map(str::trim)
            .is_some_and(|value| !value.is_empty() && !off.iter().any(|o| o.eq_ignore_ascii_case(value)))
    })
}

/// Reports Ingresses without any recognised authentication annotation.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if is_ingress(obj) && !has_auth_annotation(obj) {
        let pos = obj
            .metadata()
            .filter(|m| m.entry("annotations").is_some())
            .map_or(obj.root.key_pos("metadata"), |m| m.key_pos("annotations"));
        out.emit(
            pos,
            "metadata.annotations.auth",
            "Ingress sets no authentication annotation; its backends are open to anyone who can reach the controller",
        );
    }
}
