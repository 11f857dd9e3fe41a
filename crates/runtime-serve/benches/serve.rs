//! The evaluator's batch path (parse, evaluate, metrics, alert lines; no HTTP): `EventList`
//! batches of 500 generated events, with the built-in rules and with Falco's k8saudit 0.6.0
//! rules when `../shared` is present, and with evidence kept.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_forensics::{EvidenceLog, EvidenceWindow, WindowLimits};
use kubesecops_runtime::{builtin, RuleLoader, Ruleset};
use kubesecops_runtime_serve::metrics::{Metrics, Source};
use kubesecops_runtime_serve::outputs::Outputs;
use kubesecops_runtime_serve::pipeline::{Evaluator, Evidence};

const BATCH: usize = 500;

fn batch_body() -> String {
    let mut items = Vec::new();
    for n in 0..BATCH {
        let (verb, resource, user) = match n % 5 {
            0 | 1 => ("get", "pods", "system:serviceaccount:kube-system:replicaset-controller"),
            2 => ("get", "secrets", if n % 50 == 2 { "bob" } else { "system:node:worker-1" }),
            3 => ("update", "configmaps", "alice"),
            _ => ("list", "leases", "system:kube-scheduler"),
        };
        items.push(format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{n:08x}-bench","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/{resource}/o{n}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.1"],"userAgent":"bench","objectRef":{{"resource":"{resource}","namespace":"default","name":"o{n}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.001000Z"}}"#
        ));
    }
    format!(r#"{{"kind":"EventList","items":[{}]}}"#, items.join(","))
}

fn k8saudit_rules() -> Option<Ruleset> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites/falco-k8saudit");
    let falco = shared.join("falco-rules/rules/falco_rules.yaml");
    let audit = shared.join("plugins-k8saudit-0.6.0/plugins/k8saudit/rules/k8s_audit_rules.yaml");
    if !falco.is_file() || !audit.is_file() {
        return None;
    }
    let mut loader = RuleLoader::new();
    loader.load_file(&falco).ok()?;
    loader.load_file(&audit).ok()?;
    loader.compile().ok()
}

fn evaluator(rules: Ruleset, evidence: Option<&std::path::Path>) -> Evaluator {
    let metrics =
        Arc::new(Metrics::new(rules.rules().map(|r| (r.name.clone(), r.priority.as_str().to_string()))));
    let evidence = evidence.map(|dir| Evidence {
        log: EvidenceLog::open(dir).unwrap().0,
        window: EvidenceWindow::new(WindowLimits::default()),
    });
    Evaluator { rules, metrics, outputs: Outputs::none(), evidence }
}

fn bench(c: &mut Criterion) {
    let body = batch_body();
    let mut group = c.benchmark_group("serve_pipeline");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut sets = vec![("builtin", builtin::ruleset())];
    if let Some(rules) = k8saudit_rules() {
        sets.push(("k8saudit_0.6.0", rules));
    }
    for (name, rules) in sets {
        let mut eval = evaluator(rules.clone(), None);
        let outcome = eval.process(Source::Webhook, body.as_bytes());
        eprintln!("{name}: {} events, {} alerts per batch", outcome.events, outcome.alerts);
        group.bench_function(format!("{name}/batch_{BATCH}"), |b| {
            b.iter(|| eval.process(Source::Webhook, black_box(body.as_bytes())))
        });
        let dir = tempfile::tempdir().unwrap();
        let mut eval = evaluator(rules, Some(dir.path()));
        group.bench_function(format!("{name}/batch_{BATCH}_with_evidence"), |b| {
            b.iter(|| eval.process(Source::Webhook, black_box(body.as_bytes())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
