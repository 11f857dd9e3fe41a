//! The server in process, on loopback: webhook batches, malformed input, outputs (file,
//! webhook with retries and drops), evidence, metrics, the followed file, TLS, and the Grafana
//! dashboard's metric names.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubesecops_runtime::builtin;
use kubesecops_runtime_serve::follow::StartAt;
use kubesecops_runtime_serve::metrics::exposed_names;
use kubesecops_runtime_serve::outputs::WebhookPolicy;
use kubesecops_runtime_serve::{serve, ServeConfig};

fn event(id: &str, verb: &str, resource: &str, user: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/e2e/{resource}/x","verb":"{verb}","user":{{"username":"{user}"}},"objectRef":{{"resource":"{resource}","namespace":"e2e","name":"x"}},"responseStatus":{{"code":200}},"stageTimestamp":"2024-05-01T10:00:00.000000Z"}}"#
    )
}

fn event_list(events: &[String]) -> String {
    format!(r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}}"#, events.join(","))
}

fn post(addr: SocketAddr, body: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response =
        agent.post(&format!("http://{addr}/k8s-audit")).send(body.as_bytes()).expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

fn get(addr: SocketAddr, path: &str) -> String {
    ureq::get(&format!("http://{addr}{path}")).call().unwrap().body_mut().read_to_string().unwrap()
}

/// The value of one sample line of the exposition.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{series} not in\n{metrics}"))
        .parse()
        .unwrap()
}

/// A webhook receiver answering 500 to the first `failures` requests, then 200; it keeps the
/// bodies it accepted.
fn receiver(failures: usize) -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(AtomicUsize::new(0));
    let (b, r) = (bodies.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // One request per connection is enough for ureq (it reconnects after close).
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let body = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        break Some(text[end + 4..end + 4 + length].to_string());
                    }
                }
            };
            let Some(body) = body else { continue };
            let n = r.fetch_add(1, Ordering::SeqCst);
            let status = if n < failures { "500 Internal Server Error" } else { "200 OK" };
            if n >= failures {
                b.lock().unwrap().push(body);
            }
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
            );
        }
    });
    (addr, bodies, requests)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn batches_alerts_outputs_evidence_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let alerts_file = dir.path().join("alerts.jsonl");
    let evidence = dir.path().join("evidence");
    let (hook, bodies, requests) = receiver(2);
    let rt = runtime();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    config.stdout = false;
    config.alert_file = Some(alerts_file.clone());
    config.evidence = Some(evidence.clone());
    config.webhooks = vec![
        format!("http://{hook}/alerts"),
        // Nobody listens there: every delivery fails and is dropped after its retries.
        "http://127.0.0.1:9/nowhere".to_string(),
    ];
    config.webhook_policy =
        WebhookPolicy { attempts: 3, initial_backoff: Duration::from_millis(10), ..WebhookPolicy::default() };
    let running = rt.block_on(serve(config, builtin::ruleset())).unwrap();
    let addr = running.local_addr;

    assert_eq!(get(addr, "/healthz"), "ok\n");
    // The same user lists configmaps, then reads a secret: the read alerts, with the list as
    // context in the evidence.
    let body = event_list(&[
        event("a1", "list", "configmaps", "eve"),
        event("a2", "get", "secrets", "eve"),
        event("a3", "get", "secrets", "system:kube-controller-manager"),
        r#"{"kind":"Event","auditID":"bad"}"#.to_string(),
    ]);
    let (status, outcome) = post(addr, &body);
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["events"], 3);
    assert_eq!(outcome["alerts"], 1);
    assert_eq!(outcome["malformed"], 1);
    // Broken bodies are answered and counted, and the stream goes on.
    let (status, outcome) = post(addr, "{\"kind\": nope");
    assert_eq!(status, 200);
    assert_eq!(outcome["malformed"], 1);
    let (status, outcome) = post(addr, &event("a4", "get", "secrets", "mallory"));
    assert_eq!((status, outcome["alerts"].as_u64()), (200, Some(1)));

    // Acknowledged means on disk: the alert file and the evidence are there already.
    let written = std::fs::read_to_string(&alerts_file).unwrap();
    let lines: Vec<serde_json::Value> = written.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["rule"], "Secret read by an unexpected subject");
    assert_eq!(lines[0]["auditID"], "a2");
    assert_eq!(lines[1]["auditID"], "a4");
    let verification = kubesecops_forensics::verify(&evidence).unwrap();
    assert!(verification.is_intact() && verification.records == 2, "{verification:?}");
    let mut bundle = Vec::new();
    kubesecops_forensics::export(&evidence, &Default::default(), &mut bundle).unwrap();
    let bundle: Vec<serde_json::Value> =
        String::from_utf8(bundle).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(bundle[1]["auditID"], "a2");
    assert_eq!(bundle[1]["context"][0]["event"]["auditID"], "a1", "the same user's earlier event");
    assert_eq!(bundle[1]["context"][0]["match"], "user");

    // The first webhook got both alerts after two failed attempts; the second dropped both.
    wait_until("webhook deliveries", || bodies.lock().unwrap().len() == 2);
    assert_eq!(requests.load(Ordering::SeqCst), 4);
    let delivered: serde_json::Value = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(delivered["auditID"], "a2");
    let metrics = running.metrics.clone();
    wait_until("the failing webhook to give up", || {
        metrics.render().contains("reason=\"delivery_failed\"} 2")
    });

    let text = get(addr, "/metrics");
    assert_eq!(sample(&text, "kubesecops_runtime_events_received_total{source=\"webhook\"}"), 4.0);
    assert_eq!(sample(&text, "kubesecops_runtime_events_malformed_total{source=\"webhook\"}"), 2.0);
    assert_eq!(
        sample(&text, "kubesecops_runtime_alerts_total{rule=\"Secret read by an unexpected subject\",priority=\"Warning\"}"),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "kubesecops_runtime_alerts_total{rule=\"Binding to cluster-admin\",priority=\"Error\"}"
        ),
        0.0
    );
    assert_eq!(sample(&text, "kubesecops_runtime_rule_evaluation_seconds_count"), 4.0);
    assert_eq!(sample(&text, "kubesecops_runtime_evidence_records_total"), 2.0);
    assert_eq!(
        sample(
            &text,
            &format!("kubesecops_runtime_alert_retries_total{{output=\"webhook http://{hook}/alerts\"}}")
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "kubesecops_runtime_alerts_dropped_total{output=\"webhook http://127.0.0.1:9/nowhere\",reason=\"delivery_failed\"}"
        ),
        2.0
    );
    assert_eq!(sample(&text, "kubesecops_runtime_queue_depth"), 0.0);

    let summary = rt.block_on(running.stop());
    assert!(
        summary[0].starts_with("4 event(s) received (4 webhook, 0 follow), 2 malformed, 0 dropped"),
        "{summary:?}"
    );
}

#[test]
fn a_full_queue_refuses_and_counts_instead_of_blocking_forever() {
    let rt = runtime();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    config.stdout = false;
    config.queue_batches = 1;
    config.queue_wait = Duration::from_millis(1);
    // A big batch keeps the evaluator busy while more arrive.
    let big =
        event_list(&(0..20_000).map(|i| event(&format!("e{i}"), "get", "pods", "eve")).collect::<Vec<_>>());
    let running = rt.block_on(serve(config, builtin::ruleset())).unwrap();
    let addr = running.local_addr;
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let big = big.clone();
            std::thread::spawn(move || post(addr, &big).0)
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.contains(&200) && statuses.contains(&503), "{statuses:?}");
    let refused = statuses.iter().filter(|&&s| s == 503).count() as f64;
    let text = get(addr, "/metrics");
    assert_eq!(sample(&text, "kubesecops_runtime_batches_rejected_total"), refused);
    assert_eq!(
        sample(&text, "kubesecops_runtime_events_dropped_total{reason=\"queue_full\"}"),
        refused * 20_000.0
    );
    rt.block_on(running.stop());
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

#[test]
fn following_survives_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let alerts_file = dir.path().join("alerts.jsonl");
    // Lines present before the start are not replayed (the follower starts at the end).
    append(&log, &format!("{}\n", event("old", "get", "secrets", "eve")));
    let rt = runtime();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    config.stdout = false;
    config.follow = Some(log.clone());
    config.follow_start = StartAt::End;
    config.alert_file = Some(alerts_file.clone());
    let running = rt.block_on(serve(config, builtin::ruleset())).unwrap();
    let ids = || -> Vec<String> {
        std::fs::read_to_string(&alerts_file)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["auditID"].as_str().unwrap().to_string()
            })
            .collect()
    };
    // A line written in two parts is read once complete; garbage is counted, not fatal.
    let line = event("f1", "get", "secrets", "eve");
    append(&log, &line[..40]);
    std::thread::sleep(Duration::from_millis(300));
    append(&log, &format!("{}\nnot json at all\n", &line[40..]));
    wait_until("f1", || ids() == ["f1"]);
    // Rotation: rename, a last line into the old file, then a new file.
    std::fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&dir.path().join("audit.log.1"), &format!("{}\n", event("f2", "get", "secrets", "eve")));
    append(&log, &format!("{}\n", event("f3", "get", "secrets", "eve")));
    wait_until("f2 and f3", || ids() == ["f1", "f2", "f3"]);
    // Truncation (copytruncate): the file restarts from zero.
    std::fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    append(&log, &format!("{}\n", event("f4", "list", "secrets", "eve")));
    wait_until("f4", || ids() == ["f1", "f2", "f3", "f4"]);
    let text = running.metrics.render();
    assert_eq!(sample(&text, "kubesecops_runtime_follow_rotations_total"), 1.0);
    assert_eq!(sample(&text, "kubesecops_runtime_follow_truncations_total"), 1.0);
    assert_eq!(sample(&text, "kubesecops_runtime_events_malformed_total{source=\"follow\"}"), 1.0);
    assert_eq!(sample(&text, "kubesecops_runtime_events_received_total{source=\"follow\"}"), 4.0);
    rt.block_on(running.stop());
}

#[test]
fn tls() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let rt = runtime();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    config.stdout = false;
    config.tls = Some((cert_path, key_path.clone()));
    let running = rt.block_on(serve(config, builtin::ruleset())).unwrap();
    let root = ureq::tls::Certificate::from_der(cert.cert.der()).to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        )
        .build()
        .into();
    let port = running.local_addr.port();
    let mut response = agent
        .post(&format!("https://localhost:{port}/k8s-audit"))
        .send(event("t1", "get", "secrets", "eve").as_bytes())
        .unwrap();
    let outcome: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(outcome["alerts"], 1);
    rt.block_on(running.stop());

    // A key that is not PEM is an error naming the file.
    std::fs::write(&key_path, "not a key").unwrap();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some((dir.path().join("tls.crt"), key_path.clone()));
    let err = rt.block_on(serve(config, builtin::ruleset())).err().unwrap().to_string();
    assert!(err.starts_with(&key_path.display().to_string()), "{err}");
}

#[test]
fn grafana_dashboard_names_only_exposed_metrics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/kubesecops-runtime.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is valid JSON");
    let metrics = kubesecops_runtime_serve::metrics::Metrics::new([("R".to_string(), "Warning".to_string())]);
    metrics.output("stdout");
    let exposed = exposed_names(&metrics.render());
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "{} queries", exprs.len());
    let mut used = 0;
    for expr in &exprs {
        for name in metric_names(expr) {
            assert!(exposed.contains(&name), "{name} (in {expr}) is not exposed by /metrics");
            used += 1;
        }
    }
    assert!(used >= exprs.len());
}

fn collect_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if key == "expr" || key == "query" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                        continue;
                    }
                }
                collect_exprs(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// The `kubesecops_*` identifiers of a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("kubesecops_") {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}
