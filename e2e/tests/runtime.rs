//! End-to-end tests of `kubesecops runtime serve`: scraped by a real Prometheus (local phase),
//! and fed by the real API server's audit webhook (cluster phase).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kubesecops_e2e::{
    find_program, free_port, http, kubesecops, kubesecops_bin, percent_encode as encode, require, wait_for,
    ChildGuard, Cluster, AUDIT_WEBHOOK_ADDR,
};

/// Starts `kubesecops runtime serve` with `args` and waits for its `/healthz`.
fn start_serve(addr: SocketAddr, args: &[&str]) -> ChildGuard {
    let child = kubesecops()
        .args(["runtime", "serve", "--listen", &addr.to_string()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kubesecops runs");
    let guard = ChildGuard(child);
    wait_for("runtime serve /healthz", Duration::from_secs(30), || {
        http("GET", addr, "/healthz", "").is_some_and(|(status, _)| status == 200)
    });
    guard
}

fn audit_event(id: &str, verb: &str, resource: &str, name: &str, request_object: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"{id}","stage":"ResponseComplete","requestURI":"/apis/rbac.authorization.k8s.io/v1/{resource}","verb":"{verb}","user":{{"username":"mallory","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.7"],"objectRef":{{"resource":"{resource}","name":"{name}","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":201}},"requestObject":{request_object},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.010000Z"}}"#
    )
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_runtime_prometheus_scrapes_alert_counters() {
    let Some(prometheus) = find_program("prometheus") else {
        assert!(!require(false, "the Debian prometheus package (.ci/e2e install)"));
        return;
    };
    if !require(kubesecops_bin().is_file(), "the kubesecops debug binary (.ci/e2e builds it)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let evidence = dir.path().join("evidence");
    let _serve = start_serve(serve_addr, &["--no-stdout", "--evidence", evidence.to_str().unwrap()]);

    let prom_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: kubesecops-runtime\n    static_configs:\n      - targets: ['{serve_addr}']\n"
        ),
    )
    .unwrap();
    let prom = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address={prom_addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let _prom = ChildGuard(prom);
    wait_for("prometheus /-/ready", Duration::from_secs(60), || {
        http("GET", prom_addr, "/-/ready", "").is_some_and(|(status, _)| status == 200)
    });

    let binding = r#"{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"backdoor"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"ServiceAccount","name":"default","namespace":"default"}]}"#;
    let view = binding.replace("cluster-admin", "view");
    let body = format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{},{},{}]}}"#,
        audit_event("p1", "create", "clusterrolebindings", "backdoor", binding),
        audit_event("p2", "create", "clusterrolebindings", "reader", &view),
        audit_event("p3", "create", "clusterrolebindings", "backdoor-2", binding),
    );
    let (status, answer) = http("POST", serve_addr, "/k8s-audit", &body).expect("runtime serve answers");
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!((answer["events"].as_u64(), answer["alerts"].as_u64()), (Some(3), Some(2)), "{answer}");

    // Prometheus scraped the counter: query its HTTP API until the value shows up.
    let query = format!(
        "/api/v1/query?query={}",
        encode(
            r#"kubesecops_runtime_alerts_total{job="kubesecops-runtime",rule="Binding to cluster-admin",priority="Error"}"#
        )
    );
    let mut last = String::new();
    wait_for("the alert counter in Prometheus", Duration::from_secs(60), || {
        let Some((200, body)) = http("GET", prom_addr, &query, "") else { return false };
        last.clone_from(&body);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        value["data"]["result"][0]["value"][1].as_str() == Some("2")
    });
    let received = format!("/api/v1/query?query={}", encode("sum(kubesecops_runtime_events_received_total)"));
    let (_, body) = http("GET", prom_addr, &received, "").unwrap();
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["data"]["result"][0]["value"][1], "3", "{body}");
    // Every metric the dashboard uses is known to Prometheus now (scraped at least once).
    let (_, names) = http("GET", prom_addr, "/api/v1/label/__name__/values", "").unwrap();
    for name in [
        "kubesecops_runtime_rule_evaluation_seconds_bucket",
        "kubesecops_runtime_queue_depth",
        "kubesecops_runtime_events_dropped_total",
    ] {
        assert!(names.contains(name), "{name} not scraped: {names}");
    }
    let status = kubesecops().args(["forensics", "verify"]).arg(&evidence).status().unwrap();
    assert!(status.success(), "the evidence verifies");
}

/// Deletes what the cluster test created, even when it fails.
struct ClusterCleanup(Cluster);

impl Drop for ClusterCleanup {
    fn drop(&mut self) {
        let _ = self.0.kubectl(&["delete", "clusterrolebinding", "e2e-runtime-admin", "--ignore-not-found"]);
        let _ = self.0.kubectl(&["delete", "namespace", "e2e-runtime", "--ignore-not-found", "--wait=false"]);
    }
}

/// The alerts written so far to `file`, as (rule, output).
fn alerts_in(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (v["rule"].as_str().unwrap_or("").to_string(), v["output"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_runtime_alerts_on_api_server_audit_events() {
    let Some(cluster) = Cluster::require() else { return };
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let evidence = dir.path().join("evidence");
    let addr: SocketAddr = AUDIT_WEBHOOK_ADDR.parse().unwrap();
    // The built-in rules: the test needs nothing outside the repository.
    let _serve = start_serve(
        addr,
        &["--no-stdout", "--alert-file", alerts.to_str().unwrap(), "--evidence", evidence.to_str().unwrap()],
    );
    let _cleanup = ClusterCleanup(cluster.clone());

    cluster.kubectl_ok(&["create", "namespace", "e2e-runtime"]);
    let applied = cluster.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: privileged-probe
  namespace: e2e-runtime
spec:
  containers:
    - name: probe
      image: registry.k8s.io/pause:3.9
      securityContext:
        privileged: true
---
apiVersion: v1
kind: Secret
metadata:
  name: e2e-runtime-secret
  namespace: e2e-runtime
stringData:
  token: not-a-real-token
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: e2e-runtime-sa
  namespace: e2e-runtime
"#,
    );
    assert!(applied.status.success(), "kubectl apply: {}", String::from_utf8_lossy(&applied.stderr));
    cluster.kubectl_ok(&["get", "secret", "-n", "e2e-runtime", "e2e-runtime-secret", "-o", "name"]);
    cluster.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "e2e-runtime-admin",
        "--clusterrole=cluster-admin",
        "--serviceaccount=e2e-runtime:e2e-runtime-sa",
    ]);

    let wanted = [
        ("Privileged pod created", "e2e-runtime/privileged-probe"),
        ("Secret read by an unexpected subject", "e2e-runtime/e2e-runtime-secret"),
        ("Binding to cluster-admin", "e2e-runtime-admin"),
    ];
    let mut seen = Vec::new();
    wait_for("the three alerts from the API server's audit webhook", Duration::from_secs(90), || {
        seen = alerts_in(&alerts);
        wanted.iter().all(|(rule, needle)| seen.iter().any(|(r, o)| r == rule && o.contains(needle)))
    });
    eprintln!("alerts: {seen:#?}");
    let verify = kubesecops().args(["forensics", "verify"]).arg(&evidence).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}
