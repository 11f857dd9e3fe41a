//! End-to-end test of `--metrics-push` and `--metrics-file`: a scan pushes its metrics to a real
//! Prometheus Pushgateway, which a real Prometheus scrapes (Debian's `prometheus-pushgateway`
//! and `prometheus` packages, local phase).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use kubesecops_e2e::{
    find_program, free_port, http, kubesecops, kubesecops_bin, percent_encode as encode, require, wait_for,
    workspace_root, ChildGuard,
};

fn start(program: &std::path::Path, args: &[String], ready: SocketAddr, name: &str) -> ChildGuard {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} starts: {e}"));
    let guard = ChildGuard(child);
    wait_for(&format!("{name} /-/ready"), Duration::from_secs(60), || {
        http("GET", ready, "/-/ready", "").is_some_and(|(status, _)| status == 200)
    });
    guard
}

/// Findings per severity in a JSON report.
fn severities(report: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for finding in report["findings"].as_array().unwrap() {
        *counts.entry(finding["severity"].as_str().unwrap().to_string()).or_default() += 1;
    }
    counts
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_metrics_scan_pushes_to_a_pushgateway_that_prometheus_scrapes() {
    let (Some(pushgateway), Some(prometheus)) =
        (find_program("prometheus-pushgateway"), find_program("prometheus"))
    else {
        assert!(!require(
            false,
            "the Debian prometheus-pushgateway and prometheus packages (.ci/e2e install)"
        ));
        return;
    };
    if !require(kubesecops_bin().is_file(), "the kubesecops debug binary (.ci/e2e builds it)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gateway: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _gateway = start(
        &pushgateway,
        &[
            format!("--web.listen-address={gateway}"),
            format!("--persistence.file={}", dir.path().join("pushgateway.data").display()),
        ],
        gateway,
        "pushgateway",
    );
    let prom: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.path().join("prometheus.yml");
    // honor_labels keeps the pushed job and command labels, as the Pushgateway's docs ask.
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['{gateway}']\n"
        ),
    )
    .unwrap();
    let _prom = start(
        &prometheus,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()),
            format!("--web.listen-address={prom}"),
        ],
        prom,
        "prometheus",
    );

    // A scan of the bundled examples pushes, writes the textfile, and reports as usual.
    let report_path = dir.path().join("report.json");
    let textfile = dir.path().join("kubesecops.prom");
    let push_url = format!("http://{gateway}");
    let scan = |input: &str| {
        kubesecops()
            .current_dir(workspace_root())
            .args(["scan", input, "-f", "json", "-o"])
            .arg(&report_path)
            .args(["--metrics-push", &push_url, "--metrics-label", "repo=org/app", "--metrics-file"])
            .arg(&textfile)
            .output()
            .unwrap()
    };
    let out = scan("examples/");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let counts = severities(&report);
    assert!(counts.get("HIGH").is_some_and(|n| *n > 0), "{counts:?}");

    // The textfile and the Pushgateway hold the report's counts.
    let text = std::fs::read_to_string(&textfile).unwrap();
    let high = format!(
        "kubesecops_findings_by_severity{{command=\"scan\",repo=\"org/app\",severity=\"HIGH\"}} {}",
        counts["HIGH"]
    );
    assert!(text.lines().any(|l| l == high), "{high} not in\n{text}");
    let (_, pushed) = http("GET", gateway, "/metrics", "").unwrap();
    assert!(
        pushed.contains("kubesecops_findings_by_severity{") && pushed.contains("repo=\"org/app\""),
        "{pushed}"
    );

    // Prometheus scraped them, with the pushed labels.
    let query = |expr: &str| {
        let (_, body) = http("GET", prom, &format!("/api/v1/query?query={}", encode(expr)), "")?;
        let value: serde_json::Value = serde_json::from_str(&body).ok()?;
        value["data"]["result"][0]["value"][1].as_str().map(str::to_string)
    };
    let selector =
        r#"kubesecops_findings_by_severity{job="kubesecops",command="scan",repo="org/app",severity="HIGH"}"#;
    let expected = counts["HIGH"].to_string();
    wait_for("the pushed HIGH count in Prometheus", Duration::from_secs(60), || {
        query(selector).as_deref() == Some(expected.as_str())
    });
    let rules_before = query(r#"count(kubesecops_findings{command="scan"})"#).unwrap();

    // Every query of the scans dashboard is valid PromQL and finds data for this scan (the
    // database age only for image and sbom runs).
    let dashboard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(workspace_root().join("deploy/grafana/kubesecops-scans.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(
                target["expr"].as_str().unwrap().replace("$job", "kubesecops").replace("$command", ".*"),
            );
        }
    }
    assert!(exprs.len() >= 10, "{exprs:?}");
    for expr in &exprs {
        let (status, body) = http("GET", prom, &format!("/api/v1/query?query={}", encode(expr)), "").unwrap();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, value["status"].as_str()), (200, Some("success")), "{expr}: {body}");
        let results = value["data"]["result"].as_array().map_or(0, Vec::len);
        assert_eq!(results > 0, !expr.contains("kubesecops_vulndb_age_seconds"), "{expr}: {body}");
    }

    // A second run of the same group replaces the first: rules that no longer fire are gone.
    let out = scan("examples/insecure/rbac.yaml");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let rules: std::collections::BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"]["id"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
        .collect();
    let expected_rules = rules.len().to_string();
    assert_ne!(expected_rules, rules_before);
    wait_for("the second run's series in Prometheus", Duration::from_secs(60), || {
        query(r#"count(kubesecops_findings{command="scan"})"#).as_deref() == Some(expected_rules.as_str())
    });
    // Whole metric families the second run does not have are gone too (a PUT replaces the
    // group; a POST would leave them): namespaces without findings now.
    let namespaced: std::collections::BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let namespace = f["object"]["namespace"].as_str().filter(|n| !n.is_empty())?;
            Some((namespace.to_string(), f["severity"].as_str().unwrap().to_string()))
        })
        .collect();
    let expected_namespaced = (!namespaced.is_empty()).then(|| namespaced.len().to_string());
    wait_for("the second run's namespace series in Prometheus", Duration::from_secs(60), || {
        query(r#"count(kubesecops_findings_by_namespace{command="scan"})"#) == expected_namespaced
    });

    // An unreachable Pushgateway is an error (exit 2) after the report is written.
    std::fs::remove_file(&report_path).unwrap();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = kubesecops()
        .current_dir(workspace_root())
        .args(["scan", "examples/", "-f", "json", "-o"])
        .arg(&report_path)
        .args(["--metrics-push", &closed])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the Pushgateway"));
    assert!(report_path.is_file(), "the report is written before the push");
}
