//! `--exposure` on small hand-written manifests: representative peers (pods a rule admits
//! by selector that no workload of the input matches), exceptions to an entire-cluster
//! exposure, and netpol-analyzer's text layout.

use std::collections::BTreeSet;
use std::sync::Arc;

use kubesecops_k8s::loader::load_text;
use kubesecops_netpol::output::{self, Filter};
use kubesecops_netpol::{connlist, Reachability};

fn analyse(yaml: &str) -> Reachability {
    let loaded = load_text(Arc::from("exposure.yaml"), yaml);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let (reach, skipped) = connlist(&loaded.objects).expect("valid input");
    assert!(skipped.is_empty(), "{skipped:?}");
    reach
}

fn exposure_text(yaml: &str) -> String {
    output::exposure_txt(&analyse(yaml).exposure().expect("exposure"))
}

fn connection_lines(yaml: &str) -> BTreeSet<String> {
    let reach = analyse(yaml);
    let lines = output::lines(&reach, &Filter::default());
    output::txt(&reach, &lines).lines().map(str::to_string).collect()
}

fn deployment(ns: &str, name: &str, labels: &str, ports: &str) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  template:\n    metadata:\n      labels: {labels}\n    spec:\n      containers:\n      - name: c\n        ports: {ports}\n"
    )
}

/// `store/api` admits probes of ops namespaces on 9100 and edge pods of its own namespace,
/// and may reach the `metrics` port of any pod in a namespace labelled `env`; a long-named
/// worker has no policy; a quiet workload is isolated both ways.
fn store() -> String {
    [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: store}\n".to_string(),
        deployment("store", "api", "{app: api}", "[{name: web, containerPort: 8080}]"),
        deployment("store", "a-very-long-named-worker", "{app: worker}", "[]"),
        deployment("store", "an-even-longer-named-quiet-workload", "{app: quiet}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-policy, namespace: store}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
      podSelector: {matchLabels: {role: probe}}
    ports: [{port: 9100}]
  - from:
    - podSelector:
        matchExpressions: [{key: tier, operator: In, values: [gw, edge]}]
  egress:
  - to:
    - namespaceSelector:
        matchExpressions: [{key: env, operator: Exists}]
    ports: [{port: metrics}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: quiet, namespace: store}
spec:
  podSelector: {matchLabels: {app: quiet}}
  policyTypes: [Ingress, Egress]
"
        .to_string(),
    ]
    .concat()
}

#[test]
fn representative_peers_are_written_with_their_selectors_and_names_are_padded_to_the_listed_workloads() {
    let worker = "store/a-very-long-named-worker[Deployment]";
    let api = format!("{:<width$}", "store/api[Deployment]", width = worker.len());
    let expected = format!(
        "Exposure Analysis Result:
Egress Exposure:
{worker} \t=> \t0.0.0.0-255.255.255.255[External] : All Connections
{worker} \t=> \tentire-cluster : All Connections
{api} \t=> \t[namespace with {{{{Key:env,Operator:Exists,Values:[],}}}}]/[all pods] : TCP metrics

Ingress Exposure:
{worker} \t<= \t0.0.0.0-255.255.255.255[External] : All Connections
{worker} \t<= \tentire-cluster : All Connections
{api} \t<= \t[namespace with {{team=ops}}]/[pod with {{role=probe}}] : TCP 9100
{api} \t<= \tstore/[pod with {{{{Key:tier,Operator:In,Values:[gw edge],}}}}] : All Connections

Workloads not protected by network policies:
{worker} is not protected on Egress
{worker} is not protected on Ingress
"
    );
    // The quiet workload is protected both ways and exposed to nothing: not listed, and
    // its longer name does not widen the column.
    assert_eq!(exposure_text(&store()), expected);
}

#[test]
fn a_workload_matching_plain_labels_replaces_its_representative_but_expressions_stay() {
    let yaml = [
        store(),
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ops, labels: {team: ops}}\n".to_string(),
        deployment("ops", "probe", "{role: probe}", "[]"),
        deployment("store", "gw", "{tier: gw}", "[]"),
    ]
    .concat();
    let text = exposure_text(&yaml);
    assert!(!text.contains("[namespace with {team=ops}]"), "{text}");
    assert!(
        text.contains("store/[pod with {{Key:tier,Operator:In,Values:[gw edge],}}] : All Connections"),
        "{text}"
    );
    let lines = connection_lines(&yaml);
    assert!(lines.contains("ops/probe[Deployment] => store/api[Deployment] : TCP 9100"), "{lines:?}");
    assert!(lines.contains("store/gw[Deployment] => store/api[Deployment] : All Connections"), "{lines:?}");
}

#[test]
fn admin_policy_exceptions_to_an_entire_cluster_exposure_are_reported_even_when_empty() {
    let yaml = [
        deployment("lab", "app", "{app: x}", "[]"),
        "---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: lab-app}
spec:
  priority: 5
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: lab}}
      podSelector: {matchLabels: {app: x}}
  egress:
  - name: no-9090-to-blue
    action: Deny
    to: [{namespaces: {matchLabels: {house: blue}}}]
    ports: [{portNumber: {protocol: TCP, port: 9090}}]
  - name: cluster
    action: Allow
    to: [{namespaces: {}}]
  ingress:
  - name: no-monitoring
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: mon}}}}]
  - name: cluster
    action: Allow
    from: [{namespaces: {}}]
"
        .to_string(),
    ]
    .concat();
    let app = "lab/app[Deployment]";
    let expected = format!(
        "Exposure Analysis Result:
Egress Exposure:
{app} \t=> \t0.0.0.0-255.255.255.255[External] : All Connections
{app} \t=> \t[namespace with {{house=blue}}]/[all pods] : SCTP 1-65535,TCP 1-9089,9091-65535,UDP 1-65535
{app} \t=> \tentire-cluster : All Connections

Ingress Exposure:
{app} \t<= \t0.0.0.0-255.255.255.255[External] : All Connections
{app} \t<= \t[all namespaces]/[pod with {{role=mon}}] : No Connections
{app} \t<= \tentire-cluster : All Connections
"
    );
    assert_eq!(exposure_text(&yaml), expected);
}

#[test]
fn a_representative_allowed_exactly_what_the_entire_cluster_is_allowed_is_not_repeated() {
    // The second rule admits pods of `team=ops` namespaces on 8080, which the cluster-wide
    // rule already admits: no line of its own.
    let yaml = [
        deployment("n", "srv", "{app: srv}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: srv, namespace: n}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {}}]
    ports: [{port: 8080}]
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
    ports: [{port: 8080}]
  - from: [{namespaceSelector: {matchLabels: {team: dev}}}]
    ports: [{port: 22}]
"
        .to_string(),
    ]
    .concat();
    let text = exposure_text(&yaml);
    assert!(!text.contains("team=ops"), "{text}");
    assert!(
        text.contains("n/srv[Deployment] \t<= \t[namespace with {team=dev}]/[all pods] : TCP 22,8080\n"),
        "{text}"
    );
    assert!(text.contains("n/srv[Deployment] \t<= \tentire-cluster : TCP 8080\n"), "{text}");
}
