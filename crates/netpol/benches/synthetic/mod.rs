//! Generator of the synthetic cluster used by the `connlist` benchmark: 5,000 workloads and
//! 1,000 NetworkPolicies (plus two AdminNetworkPolicies and a baseline) as one YAML stream.
//!
//! Layout: 100 namespaces × 50 Deployments. Each namespace has 10 policies: default deny,
//! DNS egress, web ingress from the internet (minus 10/8), tier-to-tier ingress and egress
//! (by label, by `In` expression, by named port), monitoring from labelled namespaces, and
//! three policies for individual apps (which make those apps classes of their own).

use std::fmt::Write as _;

const NAMESPACES: usize = 100;
const WORKLOADS_PER_NAMESPACE: usize = 50;
const TIERS: [&str; 5] = ["web", "api", "db", "cache", "queue"];

/// The synthetic manifests as one YAML stream.
pub fn synthetic_manifests() -> String {
    let mut y = String::new();
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n:03}");
        let purpose = if n % 10 == 0 { "monitoring" } else { "apps" };
        let env = if n % 2 == 0 { "prod" } else { "dev" };
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    purpose: {purpose}\n    env: {env}\n"
        );
        for w in 0..WORKLOADS_PER_NAMESPACE {
            let tier = TIERS[w % TIERS.len()];
            let _ = write!(
                y,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{w:02}\n  namespace: {ns}\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels:\n        app: {ns}-app-{w:02}\n        tier: {tier}\n        team: t{team}\n    spec:\n      containers:\n      - name: main\n        image: example/app:1\n        ports:\n        - name: http\n          containerPort: 8080\n        - name: metrics\n          containerPort: 9090\n",
                team = w % 7
            );
        }
        let policies = [
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n".to_string(),
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {}\n    ports:\n    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\n".to_string(),
            "  podSelector: {matchLabels: {tier: web}}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}\n    ports:\n    - port: 8080\n".to_string(),
            "  podSelector: {matchLabels: {tier: api}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: web}}\n    ports:\n    - port: http\n".to_string(),
            "  podSelector: {matchLabels: {tier: db}}\n  ingress:\n  - from:\n    - podSelector: {matchExpressions: [{key: tier, operator: In, values: [api, queue]}]}\n    ports:\n    - {port: 5432, endPort: 5433}\n".to_string(),
            "  podSelector: {matchExpressions: [{key: tier, operator: In, values: [web, api]}]}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - podSelector: {matchExpressions: [{key: tier, operator: In, values: [api, db, cache]}]}\n".to_string(),
            "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {purpose: monitoring}}\n    ports:\n    - port: metrics\n".to_string(),
            format!("  podSelector: {{matchLabels: {{app: {ns}-app-07}}}}\n  ingress:\n  - from:\n    - podSelector: {{matchLabels: {{app: {ns}-app-02}}}}\n      namespaceSelector: {{matchLabels: {{env: {env}}}}}\n"),
            format!("  podSelector: {{matchLabels: {{app: {ns}-app-13}}}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {{cidr: 172.16.{n}.0/24}}\n    ports:\n    - {{port: 443}}\n"),
            format!("  podSelector: {{matchLabels: {{app: {ns}-app-21}}}}\n  ingress:\n  - from:\n    - podSelector: {{matchLabels: {{team: t3}}}}\n    ports:\n    - {{protocol: SCTP}}\n"),
        ];
        for (i, spec) in policies.iter().enumerate() {
            let _ = write!(
                y,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np-{i}\n  namespace: {ns}\nspec:\n{spec}"
            );
        }
    }
    y.push_str(
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: deny-dev-to-prod\nspec:\n  priority: 10\n  subject:\n    namespaces: {matchLabels: {env: prod}}\n  ingress:\n  - name: deny-dev\n    action: Deny\n    from:\n    - namespaces: {matchLabels: {env: dev}}\n",
    );
    y.push_str(
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: monitoring-pass\nspec:\n  priority: 20\n  subject:\n    namespaces: {}\n  ingress:\n  - name: pass-monitoring\n    action: Pass\n    from:\n    - namespaces: {matchLabels: {purpose: monitoring}}\n",
    );
    y.push_str(
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n  subject:\n    namespaces: {}\n  egress:\n  - name: no-metadata\n    action: Deny\n    to:\n    - networks: [169.254.169.254/32]\n",
    );
    y
}

/// The adversarial variant: 5,000 workloads and 1,000 policies whose rule peers name
/// every workload's app individually, so no two workloads share a class.
pub fn distinct_classes_manifests() -> String {
    let mut y = String::new();
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n:03}");
        for w in 0..WORKLOADS_PER_NAMESPACE {
            let _ = write!(
                y,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{w:02}, namespace: {ns}}}\nspec:\n  template:\n    metadata:\n      labels: {{app: a{w}, tier: t{tier}}}\n    spec:\n      containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]\n",
                tier = w % 5
            );
        }
        for p in 0..10 {
            let peers: Vec<String> = (0..5)
                .map(|k| format!("{{podSelector: {{matchLabels: {{app: a{}}}}}}}", p * 5 + k))
                .collect();
            let _ = write!(
                y,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np-{p}, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{tier: t{}}}}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{{from: [{}], ports: [{{port: http}}]}}]\n  egress: [{{to: [{{namespaceSelector: {{}}, podSelector: {{matchLabels: {{tier: t{}}}}}}}]}}]\n",
                p % 5,
                peers.join(", "),
                (p + 1) % 5
            );
        }
    }
    y
}
