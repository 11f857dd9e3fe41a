//! Loading and evaluating kube-bench style definitions (self-generated, 500 checks).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_bench::controls::Controls;
use kubesecops_bench::evaluate::AuditOutputs;

fn definitions(checks: usize) -> String {
    let mut text =
        String::from("id: 1\ntext: gen\ntype: master\ngroups:\n  - id: 1.1\n    text: g\n    checks:\n");
    for i in 0..checks {
        text.push_str(&format!(
            "      - id: 1.1.{i}\n        text: check {i}\n        audit: ps\n        audit_config: cat\n        tests:\n          bin_op: or\n          test_items:\n            - flag: --flag-{i}\n              compare: {{op: eq, value: \"false\"}}\n            - path: '{{.section.key{i}}}'\n              compare: {{op: gte, value: 30}}\n        scored: true\n"
        ));
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = definitions(500);
    let mut group = c.benchmark_group("kube-bench-yaml");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("load 500 checks", |b| {
        b.iter(|| Controls::parse(Path::new("gen.yaml"), &text).unwrap())
    });
    let controls = Controls::parse(Path::new("gen.yaml"), &text).unwrap();
    let outputs = AuditOutputs {
        audit: (0..200).map(|i| format!("--flag-{i}=true ")).collect(),
        config: format!("section:\n{}", (0..500).map(|i| format!("  key{i}: {i}\n")).collect::<String>()),
        env: String::new(),
    };
    group.throughput(Throughput::Elements(500));
    group.bench_function("evaluate 500 checks", |b| {
        b.iter(|| controls.groups[0].checks.iter().filter(|c| c.execute(&outputs).unwrap().pass).count())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
