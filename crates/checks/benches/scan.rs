//! Throughput of the scan pipeline on a generated corpus: parse, built-in rules, PSS.
//! Whole-binary figures (wall time, peak memory, the peer beside it) are in
//! docs/benchmarks.md, produced by scripts/bench.sh.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_checks::pss::{self, Level, Version};
use kubesecops_checks::{Config, Engine, Index};
use kubesecops_k8s::loader::load_text;

fn scan_all(files: &[(String, String)], engine: &Engine) -> usize {
    let mut findings = Vec::new();
    let mut index = Index::default();
    for (name, text) in files {
        let loaded = load_text(Arc::from(name.as_str()), text);
        for obj in &loaded.objects {
            engine.check_object(obj, &mut findings);
            findings.extend(pss::findings(obj, Level::Restricted, Version::Latest));
            index.add(obj);
        }
    }
    engine.check_index(&index, &mut findings);
    findings.len()
}

fn bench(c: &mut Criterion) {
    let files = kubesecops_corpus::corpus(1_000, 100, 1);
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let engine = Engine::new(Config::default(), |_| true);
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group
        .bench_function("1000 objects, all rules + PSS restricted", |b| b.iter(|| scan_all(&files, &engine)));
    group.bench_function("1000 objects, parse only", |b| {
        b.iter(|| files.iter().map(|(n, t)| load_text(Arc::from(n.as_str()), t).objects.len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
