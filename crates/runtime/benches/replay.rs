//! Replay throughput: parsing generated audit events (JSON lines) and evaluating them with
//! Falco's k8saudit 0.6.0 rules (from `../shared` when present, else a small rule file of our
//! own), on one core.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_runtime::{event, Matching, RuleLoader, Ruleset};

const EVENTS: usize = 10_000;

/// A small deterministic generator (xorshift), so every run replays the same events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True once in `n` draws on average.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One JSON line per event: a mix of reads by controllers, pod creations (some privileged or
/// with host paths), configmaps, secrets, exec, bindings and health checks.
fn generate_events(count: usize) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let users = [
        "system:serviceaccount:kube-system:replicaset-controller",
        "minikube-user",
        "alice",
        "system:kube-scheduler",
        "system:anonymous",
        "bob",
    ];
    let namespaces = ["default", "kube-system", "payments", "monitoring"];
    let mut out = String::with_capacity(count * 1500);
    for i in 0..count {
        let user = rng.pick(&users);
        let ns = rng.pick(&namespaces);
        let kind = rng.below(10);
        let (verb, resource, subresource, code, body) = match kind {
            0..=3 => ("get", rng.pick(&["pods", "endpoints", "leases", "nodes"]), "", 200, String::new()),
            4 => {
                let privileged = rng.one_in(4);
                let host_path = if rng.one_in(5) { "/etc" } else { "/data" };
                let image =
                    rng.pick(&["nginx:1.25", "docker.io/library/redis:7", "registry.k8s.io/pause:3.9"]);
                let body = format!(
                    r#","requestObject":{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"web-{i}","namespace":"{ns}","labels":{{"app":"web"}}}},"spec":{{"containers":[{{"name":"app","image":"{image}","ports":[{{"containerPort":8080}}],"securityContext":{{"privileged":{privileged}}}}},{{"name":"sidecar","image":"busybox:1.36","command":["sh","-c","sleep 3600"]}}],"volumes":[{{"name":"data","hostPath":{{"path":"{host_path}"}}}}],"hostNetwork":{}}}}},"responseObject":{{"metadata":{{"name":"web-{i}"}}}}"#,
                    rng.one_in(7)
                );
                ("create", "pods", "", 201, body)
            }
            5 => {
                let data = if rng.one_in(3) { "password=hunter2" } else { "color=blue" };
                let body = format!(
                    r#","requestObject":{{"kind":"ConfigMap","data":{{"app.properties":"{data}"}}}}"#
                );
                (rng.pick(&["create", "update", "delete"]), "configmaps", "", 201, body)
            }
            6 => (
                rng.pick(&["get", "list", "create"]),
                "secrets",
                "",
                if rng.one_in(4) { 403 } else { 200 },
                String::new(),
            ),
            7 => ("create", "pods", rng.pick(&["exec", "attach", "portforward"]), 101, String::new()),
            8 => {
                let role = rng.pick(&["cluster-admin", "view", "edit"]);
                let body = format!(
                    r#","requestObject":{{"kind":"ClusterRoleBinding","roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{role}"}},"subjects":[{{"kind":"User","name":"{user}"}}]}}"#
                );
                ("create", "clusterrolebindings", "", 201, body)
            }
            _ => ("get", "", "", 200, String::new()),
        };
        let stage = if subresource.is_empty() { "ResponseComplete" } else { "ResponseStarted" };
        let uri = if resource.is_empty() {
            "/healthz".to_string()
        } else if subresource.is_empty() {
            format!("/api/v1/namespaces/{ns}/{resource}")
        } else {
            format!("/api/v1/namespaces/{ns}/pods/web-{i}/{subresource}?command=sh&container=app&stdin=true")
        };
        let object_ref = if resource.is_empty() {
            String::new()
        } else {
            format!(
                r#","objectRef":{{"resource":"{resource}","namespace":"{ns}","name":"obj-{i}","apiVersion":"v1"{}}}"#,
                if subresource.is_empty() {
                    String::new()
                } else {
                    format!(r#","subresource":"{subresource}""#)
                }
            )
        };
        let secs = i % 60;
        out.push_str(&format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"{:08x}-7b09-4964-af09-b7987367e1ba","stage":"{stage}","requestURI":"{uri}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated","devs"]}},"sourceIPs":["10.0.{}.{}"],"userAgent":"kubectl/v1.30.0 (linux/amd64) kubernetes/abcdef"{object_ref},"responseStatus":{{"metadata":{{}},"code":{code}}}{body},"requestReceivedTimestamp":"2024-05-01T10:00:{secs:02}.100000Z","stageTimestamp":"2024-05-01T10:00:{secs:02}.120000Z","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding"}}}}"#,
            i,
            rng.below(255),
            rng.below(255)
        ));
        out.push('\n');
    }
    out
}

/// Rules: the 0.6.0 k8saudit rules behind Falco's `falco_rules.yaml` when the suites are
/// present beside the repository, otherwise our own small rule file.
fn load_rules() -> (Ruleset, &'static str) {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites/falco-k8saudit");
    let falco = shared.join("falco-rules/rules/falco_rules.yaml");
    let audit = shared.join("plugins-k8saudit-0.6.0/plugins/k8saudit/rules/k8s_audit_rules.yaml");
    let mut loader = RuleLoader::new();
    if falco.is_file() && audit.is_file() {
        loader.load_file(&falco).expect("falco_rules.yaml loads");
        loader.load_file(&audit).expect("k8s_audit_rules.yaml loads");
        (loader.compile().expect("rules compile"), "k8saudit 0.6.0 rules")
    } else {
        loader
            .load_str("fallback_rules.yaml", include_str!("fallback_rules.yaml"))
            .expect("fallback rules load");
        (loader.compile().expect("fallback rules compile"), "fallback rules")
    }
}

fn replay(rules: &Ruleset, text: &str) -> usize {
    let mut alerts = Vec::new();
    let mut count = 0;
    for doc in event::documents(text) {
        let Ok(value) = doc.value else { continue };
        for event in event::events_in(&value).into_iter().flatten() {
            alerts.clear();
            count += rules.evaluate_into(&event, &mut alerts);
        }
    }
    count
}

/// Nanoseconds this thread has spent on a CPU (Linux), to report throughput per CPU-second
/// on a machine shared with other work; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Events per CPU-second of `run`: the best of 5 windows of `rounds` replays of `EVENTS`
/// events each (the best window is the one least disturbed by other work on the machine).
fn per_cpu_second(rounds: usize, mut run: impl FnMut() -> usize) -> Option<f64> {
    let mut best: Option<u64> = None;
    for _ in 0..5 {
        let start = thread_cpu_ns()?;
        for _ in 0..rounds {
            black_box(run());
        }
        let spent = thread_cpu_ns()? - start;
        best = Some(best.map_or(spent, |b| b.min(spent)));
    }
    Some((rounds * EVENTS) as f64 / (best? as f64 / 1e9))
}

fn bench(c: &mut Criterion) {
    let text = generate_events(EVENTS);
    let (rules, name) = load_rules();
    let all = rules.clone().with_matching(Matching::All);
    eprintln!(
        "replay bench: {EVENTS} events ({} bytes), {name}: {} k8s_audit rules; alerts first={} all={}",
        text.len(),
        rules.stats().audit_rules,
        replay(&rules, &text),
        replay(&all, &text)
    );
    let parse_rate = per_cpu_second(4, || {
        event::documents(&text)
            .iter()
            .filter_map(|d| d.value.as_ref().ok())
            .map(|v| event::events_in(v).len())
            .sum()
    });
    let first_rate = per_cpu_second(4, || replay(&rules, &text));
    let all_rate = per_cpu_second(4, || replay(&all, &text));
    if let (Some(p), Some(f), Some(a)) = (parse_rate, first_rate, all_rate) {
        eprintln!(
            "events per CPU-second (best of 5): parse only {p:.0}, first match {f:.0}, all matches {a:.0}"
        );
    }
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for doc in event::documents(black_box(&text)) {
                if let Ok(value) = doc.value {
                    n += event::events_in(&value).len();
                }
            }
            n
        })
    });
    group.bench_function("first_match", |b| b.iter(|| replay(&rules, black_box(&text))));
    group.bench_function("all_matches", |b| b.iter(|| replay(&all, black_box(&text))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
