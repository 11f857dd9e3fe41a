//! Probes against loopback listeners written here: a silent one (accepts, never answers) and
//! small HTTP servers answering like an API server or an etcd gateway would.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use kubesecops_probe::{parse_targets, probe, ProbeOptions};

/// Serves `routes` (method+path prefix -> status, body) on a loopback port until dropped.
fn serve(routes: Vec<(&'static str, u16, String)>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = routes.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let request = read_request(&mut stream);
                let line = request.lines().next().unwrap_or("").to_string();
                let target = line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                let (status, body) = routes
                    .iter()
                    .find(|(prefix, _, _)| target.starts_with(prefix))
                    .map(|(_, s, b)| (*s, b.clone()))
                    .unwrap_or((404, "not found".into()));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// Reads a whole request: headers, then the `Content-Length` body. Answering and closing
/// before the body has arrived would reset the connection under the client's feet, which
/// it sees as a failed probe.
fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&bytes).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return text;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&bytes).to_string(),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
}

fn options(timeout_ms: u64, deadline_ms: u64) -> ProbeOptions {
    ProbeOptions {
        timeout: Duration::from_millis(timeout_ms),
        deadline: Duration::from_millis(deadline_ms),
        ..ProbeOptions::default()
    }
}

#[test]
fn silent_listener_never_hangs_the_run() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection without a byte of answer.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let targets = parse_targets(&[format!("127.0.0.1:{port}")]).unwrap();
    let start = Instant::now();
    let report = probe(&targets, &options(300, 1500));
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert!(report.findings.is_empty() && report.services.is_empty(), "{report:?}");
}

#[test]
fn deadline_abandons_slow_probes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let targets = parse_targets(&[format!("127.0.0.1:{port}")]).unwrap();
    let start = Instant::now();
    // Per-request timeout longer than the whole run: the deadline must win.
    let report = probe(&targets, &options(10_000, 700));
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert!(report.findings.is_empty());
}

#[test]
fn plain_http_api_server_with_old_version() {
    let port = serve(vec![
        ("GET /version", 200, r#"{"major":"1","minor":"20","gitVersion":"v1.20.2"}"#.into()),
        ("GET /api/v1/namespaces", 200, r#"{"kind":"NamespaceList","items":[{},{}]}"#.into()),
        ("GET /api/v1/secrets", 403, r#"{"kind":"Status"}"#.into()),
    ]);
    let targets = parse_targets(&[format!("127.0.0.1:{port}")]).unwrap();
    let report = probe(&targets, &options(1000, 5000));
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"KSO-P003"), "{ids:?}");
    assert!(ids.contains(&"KSO-P004"), "{ids:?}");
    let cves: Vec<&str> =
        report.findings.iter().filter(|f| f.id == "KSO-P002").map(|f| f.title.as_str()).collect();
    assert!(cves.iter().any(|t| t.starts_with("CVE-2021-25741")), "{cves:?}");
    let secrets = report.findings.iter().any(|f| f.id == "KSO-P004" && f.title.contains("Secrets"));
    assert!(!secrets, "403 on secrets must not be a finding");
    assert_eq!(report.services[0].kind, "kube-apiserver");
    let p002 = report.findings.iter().find(|f| f.title.starts_with("CVE-2021-25741")).unwrap();
    assert_eq!(p002.mitre, "T1611");
}

#[test]
fn etcd_gateway_keys_and_secrets() {
    let key = |k: &str| kubesecops_probe::base64::encode(k.as_bytes());
    let kvs = format!(r#"{{"kvs":[{{"key":"{}"}}],"count":"1"}}"#, key("/registry/secrets/default/s1"));
    let port = serve(vec![
        ("GET /version", 200, r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#.into()),
        ("POST /v3/kv/range", 200, kvs),
    ]);
    let targets = parse_targets(&[format!("127.0.0.1:{port}")]).unwrap();
    let report = probe(&targets, &options(1000, 5000));
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    for want in ["KSO-P021", "KSO-P022", "KSO-P024", "KSO-P025"] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    let secrets = report.findings.iter().find(|f| f.id == "KSO-P025").unwrap();
    assert!(secrets.evidence.contains("/registry/secrets/default/s1"), "{}", secrets.evidence);
    assert_eq!(secrets.kube_hunter.as_deref(), Some("KHV032"));
}

#[test]
fn closed_port_gives_nothing_quickly() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let targets = parse_targets(&[format!("127.0.0.1:{port}")]).unwrap();
    let start = Instant::now();
    let report = probe(&targets, &options(1000, 5000));
    assert!(report.services.is_empty());
    assert!(start.elapsed() < Duration::from_secs(2));
}
