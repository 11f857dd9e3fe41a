//! Load generator for `runtime serve`: posts `EventList` batches of generated audit events at a
//! target rate and reports what was sustained and dropped.
//!
//! ```text
//! cargo run --release -p kubesecops-runtime-serve --example load -- \
//!     [--target http://127.0.0.1:9765] [--rate 20000] [--seconds 10] [--batch 500] \
//!     [--connections 4] [--rules FILE]... [--evidence DIR]
//! ```
//! Without `--target`, the server runs in this process (built-in rules, or `--rules`), with
//! alerts written to a temporary file. With `--target`, it loads an already running server
//! (`crates/runtime-serve/bench/load.sh` starts the real binary).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kubesecops_runtime::{builtin, RuleLoader};
use kubesecops_runtime_serve::{serve, ServeConfig};

struct Options {
    target: Option<String>,
    rate: u64,
    seconds: u64,
    batch: usize,
    connections: usize,
    rules: Vec<String>,
    evidence: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        target: None,
        rate: 20_000,
        seconds: 10,
        batch: 500,
        connections: 4,
        rules: Vec::new(),
        evidence: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => o.target = Some(value()),
            "--rate" => o.rate = value().parse().expect("--rate N"),
            "--seconds" => o.seconds = value().parse().expect("--seconds N"),
            "--batch" => o.batch = value().parse().expect("--batch N"),
            "--connections" => o.connections = value().parse().expect("--connections N"),
            "--rules" => o.rules.push(value()),
            "--evidence" => o.evidence = Some(value()),
            other => panic!("unknown flag {other}"),
        }
    }
    o
}

/// `count` events: controller reads, pod creations (some privileged), secrets reads, exec,
/// bindings, configmap writes; distinct auditIDs from `first`.
fn batch_body(first: u64, count: usize) -> String {
    let mut items = Vec::with_capacity(count);
    for i in 0..count as u64 {
        let n = first + i;
        let (verb, resource, sub, user, body) = match n % 10 {
            0..=4 => {
                ("get", "pods", "", "system:serviceaccount:kube-system:replicaset-controller", String::new())
            }
            5 => (
                "create",
                "pods",
                "",
                "alice",
                format!(
                    r#","requestObject":{{"kind":"Pod","spec":{{"containers":[{{"name":"app","image":"nginx:1.25","securityContext":{{"privileged":{}}}}}]}}}}"#,
                    n % 40 == 5
                ),
            ),
            6 => (
                "get",
                "secrets",
                "",
                if n % 20 == 6 { "bob" } else { "system:node:worker-1" },
                String::new(),
            ),
            7 => (
                "update",
                "configmaps",
                "",
                "alice",
                r#","requestObject":{"kind":"ConfigMap","data":{"a":"b"}}"#.into(),
            ),
            8 => ("create", "pods", if n % 30 == 8 { "exec" } else { "log" }, "alice", String::new()),
            _ => ("list", "leases", "", "system:kube-scheduler", String::new()),
        };
        let stage = if sub == "exec" { "ResponseStarted" } else { "ResponseComplete" };
        let sub = if sub.is_empty() { String::new() } else { format!(r#","subresource":"{sub}""#) };
        items.push(format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"{n:016x}-load","stage":"{stage}","requestURI":"/api/v1/namespaces/default/{resource}/obj-{n}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.1"],"userAgent":"load/1.0","objectRef":{{"resource":"{resource}","namespace":"default","name":"obj-{n}","apiVersion":"v1"{sub}}},"responseStatus":{{"metadata":{{}},"code":200}}{body},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.001000Z","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}}}"#
        ));
    }
    format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{}]}}"#,
        items.join(",")
    )
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let alerts = tempfile::NamedTempFile::new().unwrap();
    let mut running = None;
    let target = match &o.target {
        Some(target) => target.trim_end_matches('/').to_string(),
        None => {
            let rules = if o.rules.is_empty() {
                builtin::ruleset()
            } else {
                let mut loader = RuleLoader::new();
                for file in &o.rules {
                    loader.load_file(std::path::Path::new(file)).unwrap();
                }
                loader.compile().unwrap()
            };
            eprintln!("in-process server: {} k8s_audit rules", rules.stats().audit_rules);
            let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
            config.stdout = false;
            config.alert_file = Some(alerts.path().to_path_buf());
            config.evidence = o.evidence.clone().map(Into::into);
            let server = runtime.block_on(serve(config, rules)).unwrap();
            let url = format!("http://{}", server.local_addr);
            running = Some(server);
            url
        }
    };
    // Bodies prepared ahead, so the generator measures the server, not itself.
    let bodies: Arc<Vec<String>> =
        Arc::new((0..64).map(|k| batch_body(k * o.batch as u64, o.batch)).collect());
    let sent = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let alerts_seen = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let per_connection = o.rate as f64 / o.connections as f64;
    let threads: Vec<_> = (0..o.connections)
        .map(|c| {
            let (bodies, sent, refused, failed, alerts_seen) =
                (bodies.clone(), sent.clone(), refused.clone(), failed.clone(), alerts_seen.clone());
            let url = format!("{target}/k8s-audit");
            let batch = o.batch as u64;
            std::thread::spawn(move || {
                let agent: ureq::Agent =
                    ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let mut k = c;
                let mut posted = 0u64;
                while Instant::now() < deadline {
                    if per_connection > 0.0 {
                        // Pace: the next batch is due when this connection's share allows it.
                        let due =
                            start + Duration::from_secs_f64(posted as f64 * batch as f64 / per_connection);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let body = &bodies[k % bodies.len()];
                    k += 1;
                    posted += 1;
                    match agent.post(&url).header("Content-Type", "application/json").send(body.as_bytes()) {
                        Ok(mut response) if response.status().as_u16() == 200 => {
                            sent.fetch_add(batch, Ordering::Relaxed);
                            let text = response.body_mut().read_to_string().unwrap_or_default();
                            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                            alerts_seen.fetch_add(value["alerts"].as_u64().unwrap_or(0), Ordering::Relaxed);
                        }
                        Ok(response) if response.status().as_u16() == 503 => {
                            refused.fetch_add(batch, Ordering::Relaxed);
                        }
                        _ => {
                            failed.fetch_add(batch, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let metrics =
        ureq::get(&format!("{target}/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    println!(
        "target rate {} events/s, {} connections, batches of {}: acknowledged {} events in {elapsed:.1} s = {:.0} events/s; \
         refused (503) {}; failed {}; alerts {}; server: events dropped {}, malformed {}, mean evaluation {:.2} µs/event",
        o.rate,
        o.connections,
        o.batch,
        sent.load(Ordering::Relaxed),
        sent.load(Ordering::Relaxed) as f64 / elapsed,
        refused.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        alerts_seen.load(Ordering::Relaxed),
        metric("kubesecops_runtime_events_dropped_total"),
        metric("kubesecops_runtime_events_malformed_total"),
        metric("kubesecops_runtime_rule_evaluation_seconds_sum") / metric("kubesecops_runtime_rule_evaluation_seconds_count")
            * 1e6,
    );
    if let Some(server) = running {
        runtime.block_on(server.stop());
    }
}
