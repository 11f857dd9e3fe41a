//! Loader throughput on the generated corpus: the fast path for plain block YAML against the
//! full parser alone (both build the same trees; `tests/fast_path.rs` checks that).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_k8s::node::{parse_documents, parse_documents_full_parser};

fn bench(c: &mut Criterion) {
    let files = kubesecops_corpus::corpus(1_000, 100, 1);
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function("1000 objects, fast path", |b| {
        b.iter(|| files.iter().map(|(_, t)| parse_documents(t).len()).sum::<usize>())
    });
    group.bench_function("1000 objects, full parser only", |b| {
        b.iter(|| files.iter().map(|(_, t)| parse_documents_full_parser(t).len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
