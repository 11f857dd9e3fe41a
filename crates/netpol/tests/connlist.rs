//! Reachability on small hand-written manifests.

use std::collections::BTreeSet;
use std::sync::Arc;

use kubesecops_k8s::loader::load_text;
use kubesecops_netpol::output::{self, Direction, Filter};
use kubesecops_netpol::{connlist, diff, NetpolError, Reachability};

fn analyse(yaml: &str) -> Reachability {
    let loaded = load_text(Arc::from("test.yaml"), yaml);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let (reach, skipped) = connlist(&loaded.objects).expect("valid input");
    assert!(skipped.is_empty(), "{skipped:?}");
    reach
}

fn lines(yaml: &str) -> BTreeSet<String> {
    let reach = analyse(yaml);
    let lines = output::lines(&reach, &Filter::default());
    output::txt(&reach, &lines).lines().map(str::to_string).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn deployment(ns: &str, name: &str, labels: &str, ports: &str) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  template:\n    metadata:\n      labels: {labels}\n    spec:\n      containers:\n      - name: c\n        ports: {ports}\n"
    )
}

const ALL_IPS: &str = "0.0.0.0-255.255.255.255[External]";

#[test]
fn every_workload_kind_is_an_endpoint_and_everything_is_open_without_policies() {
    let yaml = "
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: a}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9-x1
  namespace: a
  ownerReferences: [{kind: ReplicaSet, name: web-7d9, controller: true}]
spec: {containers: [{name: c}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: a}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: a}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: a}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: a}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c}]}}}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec: {template: {spec: {containers: [{name: c}]}}}
";
    let reach = analyse(yaml);
    let names: BTreeSet<String> = reach.workloads().iter().map(|w| w.display()).collect();
    assert_eq!(
        names,
        set(&[
            "a/agent[DaemonSet]",
            "a/db[StatefulSet]",
            "a/legacy[ReplicationController]",
            "a/nightly[CronJob]",
            "a/solo[Pod]",
            "a/web-7d9[ReplicaSet]",
            "default/once[Job]",
        ])
    );
    // 7 workloads: 7*6 pairs plus to and from the outside world, all open.
    let got = lines(yaml);
    assert_eq!(got.len(), 7 * 6 + 7 * 2);
    assert!(got.iter().all(|l| l.ends_with(" : All Connections")));
    assert!(got.contains(&format!("{ALL_IPS} => default/once[Job] : All Connections")));
}

#[test]
fn default_deny_with_an_allow_on_a_named_port() {
    let yaml = [
        deployment("shop", "frontend", "{app: frontend}", "[]"),
        deployment(
            "shop",
            "backend",
            "{app: backend}",
            "[{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]",
        ),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: http}, {port: dns, protocol: TCP}]
"
        .to_string(),
    ]
    .concat();
    // The second named port exists only as UDP, so the TCP rule matches nothing; the
    // default deny keeps everything out of the frontend.
    assert_eq!(
        lines(&yaml),
        set(&[
            "shop/backend[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections",
            "shop/frontend[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections",
            "shop/frontend[Deployment] => shop/backend[Deployment] : TCP 8080",
        ])
    );
}

#[test]
fn policy_types_default_to_ingress_and_to_egress_only_with_egress_rules() {
    let base = [deployment("n", "a", "{app: a}", "[]"), deployment("n", "b", "{app: b}", "[]")].concat();
    // No policyTypes and only egress rules: ingress is isolated too (nothing allowed in).
    let yaml = format!(
        "{base}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: a-out, namespace: n}}
spec:
  podSelector: {{matchLabels: {{app: a}}}}
  egress:
  - to: [{{podSelector: {{matchLabels: {{app: b}}}}}}]
    ports: [{{port: 5432}}]
"
    );
    assert_eq!(
        lines(&yaml),
        set(&[
            "0.0.0.0-255.255.255.255[External] => n/b[Deployment] : All Connections",
            "n/a[Deployment] => n/b[Deployment] : TCP 5432",
            "n/b[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections",
        ])
    );
}

#[test]
fn port_ranges_protocols_and_both_directions_are_required() {
    let yaml = [
        deployment("n", "client", "{app: client}", "[]"),
        deployment("n", "server", "{app: server}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: n}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - ports:
    - {port: 8000, endPort: 8010}
    - {protocol: UDP, port: 53}
    - {protocol: SCTP}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: n}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: 8005, endPort: 9000}, {protocol: SCTP, port: 7}]
"
        .to_string(),
    ]
    .concat();
    let got = lines(&yaml);
    // Egress at the client and ingress at the server intersect.
    assert!(got.contains("n/client[Deployment] => n/server[Deployment] : SCTP 7,TCP 8005-8010"), "{got:?}");
    assert!(got.contains(
        "0.0.0.0-255.255.255.255[External] => n/server[Deployment] : SCTP 1-65535,TCP 8000-8010,UDP 53"
    ));
    assert!(got.contains("n/client[Deployment] => 0.0.0.0-255.255.255.255[External] : SCTP 7,TCP 8005-9000"));
}

#[test]
fn ip_blocks_with_except_cut_the_outside_world() {
    let yaml = [
        deployment("n", "app", "{app: app}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: n}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
"
        .to_string(),
    ]
    .concat();
    assert_eq!(
        lines(&yaml),
        set(&[
            "0.0.0.0-255.255.255.255[External] => n/app[Deployment] : All Connections",
            "n/app[Deployment] => 10.0.0.0-10.0.255.255[External] : All Connections",
            "n/app[Deployment] => 10.2.0.0-10.255.255.255[External] : All Connections",
        ])
    );
}

#[test]
fn namespace_selectors_with_expressions() {
    let yaml = [
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {env: prod}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dev, labels: {env: dev}}\n".to_string(),
        deployment("prod", "api", "{app: api}", "[]"),
        deployment("prod", "job", "{app: job, role: batch}", "[]"),
        deployment("dev", "tool", "{app: tool, role: admin}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-in, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod, staging]}]}
      podSelector: {matchExpressions: [{key: role, operator: Exists}]}
"
        .to_string(),
    ]
    .concat();
    let got = lines(&yaml);
    assert!(got.contains("prod/job[Deployment] => prod/api[Deployment] : All Connections"));
    assert!(!got.iter().any(|l| l.starts_with("dev/tool[Deployment] => prod/api")));
    assert!(!got.iter().any(|l| l.starts_with(ALL_IPS) && l.contains("prod/api")));
}

#[test]
fn admin_policies_decide_by_priority_pass_delegates_and_the_baseline_applies_last() {
    let yaml = [
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b, labels: {team: b}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c, labels: {team: c}}\n".to_string(),
        deployment("a", "x", "{app: x}", "[]"),
        deployment("b", "y", "{app: y}", "[]"),
        deployment("c", "z", "{app: z}", "[]"),
        "---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: first}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - {name: pass-b, action: Pass, from: [{namespaces: {matchLabels: {team: b}}}]}
  - {name: deny-c-udp, action: Deny, from: [{namespaces: {matchLabels: {team: c}}}], ports: [{portNumber: {protocol: UDP, port: 53}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: second}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - {name: allow-all-from-b-and-c, action: Allow, from: [{namespaces: {}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-8080, namespace: a}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 8080}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: b}}}
  egress:
  - {name: no-dns, action: Deny, to: [{networks: [0.0.0.0/0]}], ports: [{portNumber: {protocol: UDP, port: 53}}]}
"
        .to_string(),
    ]
    .concat();
    let got = lines(&yaml);
    // b -> a: passed by the first ANP, so the NetworkPolicy (TCP 8080) decides.
    assert!(got.contains("b/y[Deployment] => a/x[Deployment] : TCP 8080"), "{got:?}");
    // c -> a: UDP 53 denied by the first ANP, everything else allowed by the second.
    assert!(got.contains("c/z[Deployment] => a/x[Deployment] : SCTP 1-65535,TCP 1-65535,UDP 1-52,54-65535"));
    // Outside -> a: no ANP rule selects addresses for ingress, so the NetworkPolicy applies.
    assert!(got.contains("0.0.0.0-255.255.255.255[External] => a/x[Deployment] : TCP 8080"));
    // b has no NetworkPolicy: the baseline denies DNS to the outside world.
    assert!(got.contains(
        "b/y[Deployment] => 0.0.0.0-255.255.255.255[External] : SCTP 1-65535,TCP 1-65535,UDP 1-52,54-65535"
    ));
    assert!(got.contains("b/y[Deployment] => c/z[Deployment] : All Connections"));
}

#[test]
fn routes_and_ingresses_expose_workloads_to_the_ingress_controller() {
    let yaml = [
        deployment(
            "web",
            "site",
            "{app: site}",
            "[{name: http, containerPort: 8080}, {containerPort: 9090}]",
        ),
        "---
apiVersion: v1
kind: Service
metadata: {name: site, namespace: web}
spec:
  selector: {app: site}
  ports: [{name: main, port: 80, targetPort: http}, {name: admin, port: 9090}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: web}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: site, port: {number: 80}}}}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: admin, namespace: web}
spec:
  to: {kind: Service, name: site}
  port: {targetPort: 9090}
"
        .to_string(),
    ]
    .concat();
    let got = lines(&yaml);
    assert!(got.contains("{ingress-controller} => web/site[Deployment] : TCP 8080,9090"), "{got:?}");
}

#[test]
fn user_defined_networks_isolate_namespaces_and_get_their_own_section() {
    let yaml = [
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: green, labels: {k8s.ovn.org/primary-user-defined-network: ''}}\n".to_string(),
        "---\napiVersion: k8s.ovn.org/v1\nkind: UserDefinedNetwork\nmetadata: {name: net, namespace: green}\nspec: {topology: Layer2, layer2: {role: Primary, subnets: [10.10.0.0/16]}}\n".to_string(),
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: g, namespace: green}\nspec: {containers: [{name: c}]}\n".to_string(),
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: plain}\nspec: {containers: [{name: c}]}\n".to_string(),
    ]
    .concat();
    let got = lines(&yaml);
    let want = set(&[
        "Permitted connectivity analyzed in Pod network:",
        "0.0.0.0-255.255.255.255[External] => plain/p[Pod] : All Connections",
        "plain/p[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections",
        "",
        "Permitted connectivity analyzed in primary UDN green:",
        "0.0.0.0-255.255.255.255[External] => green[udn]/g[Pod] : All Connections",
        "green[udn]/g[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections",
        "Workload-to-Networks Mapping:",
        "green/g[Pod]: ",
        "\tPrimary Network: green[UDN]",
        "plain/p[Pod]: ",
        "\tPrimary Network: pod-network",
    ]);
    assert_eq!(got, want);
}

#[test]
fn invalid_policies_are_errors_with_file_and_line() {
    let cases = [
        ("spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - {}\n", 5, "rule peer is empty"),
        (
            "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/40}\n",
            5,
            "invalid CIDR",
        ),
        ("spec:\n  podSelector: {matchLabels: {'bad key': x}}\n", 2, "invalid label key"),
        (
            "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 90, endPort: 80}\n",
            5,
            "illegal port range",
        ),
    ];
    for (spec, line, message) in cases {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c}}]}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np}}\n{spec}"
        );
        let loaded = load_text(Arc::from("bad.yaml"), &yaml);
        match connlist(&loaded.objects) {
            Err(NetpolError::Invalid(errors)) => {
                assert_eq!(errors[0].path, "bad.yaml");
                assert_eq!(errors[0].line, Some(line + 8), "{errors:?}");
                assert!(errors[0].message.contains(message), "{errors:?}");
            }
            Ok(_) => panic!("accepted: {spec}"),
        }
    }
    let anps = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 3, subject: {namespaces: {}}, ingress: [{name: r, action: Allow, from: [{namespaces: {}}]}]}\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: b}\nspec: {priority: 3, subject: {namespaces: {}}, ingress: [{name: r, action: Allow, from: [{namespaces: {}}]}]}\n";
    let loaded = load_text(Arc::from("anp.yaml"), anps);
    let Err(NetpolError::Invalid(errors)) = connlist(&loaded.objects) else {
        panic!("same priorities accepted")
    };
    assert!(errors[0].message.contains("same priority"), "{errors:?}");
    assert_eq!(errors[0].line, Some(11));
}

#[test]
fn focus_workloads_filter_connections() {
    let yaml = [
        deployment("n", "a", "{x: a}", "[]"),
        deployment("n", "b", "{x: b}", "[]"),
        deployment("m", "c", "{x: c}", "[]"),
    ]
    .concat();
    let reach = analyse(&yaml);
    let filter = Filter {
        focus_workloads: vec!["n/a".into()],
        focus_workload_peers: vec!["c".into()],
        focus_direction: Some(Direction::Egress),
    };
    let got: Vec<String> =
        output::lines(&reach, &filter).iter().map(|l| format!("{} => {}", l.src, l.dst)).collect();
    assert_eq!(got, ["n/a[Deployment] => m/c[Deployment]"]);
}

#[test]
fn diff_reports_added_removed_and_changed_connections() {
    let apps = [deployment("n", "a", "{app: a}", "[]"), deployment("n", "b", "{app: b}", "[]")].concat();
    let before = analyse(&apps);
    let after = analyse(&format!(
        "{apps}{}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: b-in, namespace: n}}
spec:
  podSelector: {{matchLabels: {{app: b}}}}
  ingress: [{{from: [{{podSelector: {{}}}}], ports: [{{port: 443}}]}}]
",
        deployment("n", "new", "{app: new}", "[]")
    ));
    let text = diff::txt(&diff::diff(&before, &after));
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got[0], "Connectivity diff:");
    assert!(got.contains(&"diff-type: changed, source: n/a[Deployment], destination: n/b[Deployment], ref1: All Connections, ref2: TCP 443"), "{text}");
    assert!(got.contains(&"diff-type: removed, source: 0.0.0.0-255.255.255.255[External], destination: n/b[Deployment], ref1: All Connections, ref2: No Connections"));
    assert!(got.contains(&"diff-type: added, source: n/new[Deployment], destination: n/a[Deployment], ref1: No Connections, ref2: All Connections, workloads-diff-info: workload n/new[Deployment] added"));
    // Changed lines come before added ones, added before removed.
    let pos = |kind: &str| got.iter().position(|l| l.starts_with(&format!("diff-type: {kind}"))).unwrap();
    assert!(pos("changed") < pos("added") && pos("added") < pos("removed"));
    assert!(diff::diff(&before, &analyse(&apps)).is_empty());
}

#[test]
fn csv_and_json_carry_the_same_connections() {
    let yaml = [
        deployment("n", "a", "{app: a}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-in, namespace: n}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 80}, {port: 53, protocol: UDP}]}]
"
        .to_string(),
    ]
    .concat();
    let reach = analyse(&yaml);
    let lines = output::lines(&reach, &Filter::default());
    assert_eq!(
        output::csv(&reach, &lines),
        "src,dst,conn\n0.0.0.0-255.255.255.255[External],n/a[Deployment],\"TCP 80,UDP 53\"\nn/a[Deployment],0.0.0.0-255.255.255.255[External],All Connections\n"
    );
    let json = output::json_connections(&reach, &lines);
    assert_eq!(json[0]["conns"], "TCP 80,UDP 53");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    assert!(output::md(&reach, &lines)
        .contains("| n/a[Deployment] | 0.0.0.0-255.255.255.255[External] | All Connections |"));
    assert!(output::dot(&reach, &lines).contains("-> \"n/a[Deployment]\" [label=\"TCP 80,UDP 53\""));
}

const SHOP: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: front, namespace: shop}
spec: {template: {metadata: {labels: {app: front}}, spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: back, namespace: shop}
spec: {template: {metadata: {labels: {app: back}}, spec: {containers: [{name: c, ports: [{name: api, containerPort: 7000}]}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: back-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: back}}
  ingress: [{from: [{podSelector: {matchLabels: {app: front}}}], ports: [{port: api}]}]
";

#[test]
fn explanations_name_the_deciding_policies_and_rules() {
    use kubesecops_netpol::Endpoint;
    let reach = analyse(SHOP);
    let index = |name: &str| reach.workloads().iter().position(|w| w.name == name).unwrap();
    let (front, back) = (Endpoint::Workload(index("front")), Endpoint::Workload(index("back")));
    let explained = reach.explain(&[(front, back), (back, front)]).unwrap();
    assert_eq!(explained[0].conns, "TCP 7000");
    assert_eq!(explained[0].egress.allowed, "All Connections");
    assert!(
        explained[0]
            .ingress
            .reasons
            .iter()
            .any(|r| r
                .starts_with("NetworkPolicy shop/back-in ingress rule #1 (test.yaml:22) allows TCP 7000")),
        "{:?}",
        explained[0].ingress
    );
    assert_eq!(explained[1].conns, "No Connections");
    assert!(
        explained[1]
            .ingress
            .reasons
            .iter()
            .any(|r| r.contains("NetworkPolicy shop/deny-in") && r.contains("has no ingress rule")),
        "{:?}",
        explained[1].ingress
    );
    let text = output::explain_txt(&explained);
    assert!(
        text.starts_with(
            "shop/front[Deployment] => shop/back[Deployment] : TCP 7000\n  egress: All Connections\n"
        ),
        "{text}"
    );
}

#[test]
fn exposure_reports_outside_world_entire_cluster_and_unprotected_directions() {
    let reach = analyse(SHOP);
    let exposure = reach.exposure().unwrap();
    let back = exposure.iter().find(|e| e.workload == "shop/back[Deployment]").unwrap();
    assert!(!back.ingress_unprotected && back.egress_unprotected);
    assert_eq!(back.ingress_from_cluster, None);
    assert_eq!(back.egress_to_cluster.as_deref(), Some("All Connections"));
    assert!(back.ingress_from_external.is_empty());
    assert_eq!(back.egress_to_external, [(ALL_IPS.to_string(), "All Connections".to_string())]);
    let text = output::exposure_txt(&exposure);
    assert!(text.contains("shop/back[Deployment]  \t=> \tentire-cluster : All Connections"), "{text}");
    assert!(text.contains("shop/front[Deployment] is not protected on Egress"));
}

#[test]
fn test_plans_cover_every_rule_and_default_deny() {
    use kubesecops_netpol::engine::Expected;
    let reach = analyse(SHOP);
    let plan = reach.test_plan().unwrap();
    assert!(plan.uncovered.is_empty(), "{:?}", plan.uncovered);
    let allowed = plan.probes.iter().find(|p| p.expected == Expected::Allowed).unwrap();
    assert_eq!(
        (allowed.src.as_str(), allowed.dst.as_str(), allowed.protocol.as_str(), allowed.port),
        ("shop/front[Deployment]", "shop/back[Deployment]", "TCP", 7000)
    );
    assert!(allowed.covers[0].starts_with("NetworkPolicy shop/back-in ingress rule #1"));
    let denied = plan.probes.iter().find(|p| p.expected == Expected::Denied).unwrap();
    assert!(denied.covers[0].starts_with("default deny: NetworkPolicy shop/deny-in isolates ingress"));
    // The denied probe really is denied by the computed reachability.
    let lines = output::lines(&reach, &Filter::default());
    let conns = lines.iter().find(|l| l.src == denied.src && l.dst == denied.dst).map(|l| l.conns.clone());
    assert!(conns.is_none_or(|c| !c.contains(&format!("TCP {}", denied.port))));
    let yaml = kubesecops_netpol::engine::test_plan_yaml(&plan);
    assert!(yaml.contains("  port: 7000\n  expected: allowed\n"), "{yaml}");
}

#[test]
fn ipv6_blocks_select_nothing_instead_of_everything() {
    let yaml = [
        deployment("n", "app", "{app: app}", "[]"),
        "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: v6-only, namespace: n}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 'fd00::/8'}}]}]
"
        .to_string(),
    ]
    .concat();
    let loaded = load_text(Arc::from("v6.yaml"), &yaml);
    let (reach, _) = connlist(&loaded.objects).expect("IPv6 blocks are not an error");
    assert!(reach.resources.warnings.iter().any(|w| w.message.contains("IPv6 block")));
    let got: BTreeSet<String> =
        output::lines(&reach, &Filter::default()).iter().map(|l| format!("{} => {}", l.src, l.dst)).collect();
    assert_eq!(got, set(&["0.0.0.0-255.255.255.255[External] => n/app[Deployment]"]));
}
