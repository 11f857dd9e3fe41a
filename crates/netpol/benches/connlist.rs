//! Reachability over a synthetic cluster: 5,000 workloads, 1,000 NetworkPolicies (plus two
//! AdminNetworkPolicies and a baseline), built as YAML text (see `synthetic/mod.rs`) and
//! read through the same loader as real manifests.
//!
//! `cargo bench -p kubesecops-netpol` prints the criterion figures: `parse+analyze`
//! (objects to reachability, connection count included), `render-txt` (all lines as
//! netpol-analyzer text), and `parse+analyze-distinct-classes` (an adversarial input where
//! rule peers name every workload individually, so no two workloads share a class).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use kubesecops_k8s::loader::load_text;
use kubesecops_netpol::{connlist, output};

mod synthetic;
use synthetic::{distinct_classes_manifests, synthetic_manifests};

fn bench(c: &mut Criterion) {
    let text = synthetic_manifests();
    let loaded = load_text(Arc::from("synthetic.yaml"), &text);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
    let objects = loaded.objects;
    let (reach, _) = connlist(&objects).expect("synthetic input is valid");
    println!(
        "synthetic: {} workloads, {} NetworkPolicies, {} classes, {} connections",
        reach.workloads().len(),
        reach.resources.network_policies.len(),
        reach.class_count(),
        reach.connection_count()
    );
    let mut group = c.benchmark_group("connlist-5000x1000");
    group.sample_size(10);
    group.bench_function("parse+analyze", |b| {
        b.iter(|| {
            let (reach, _) = connlist(&objects).expect("valid");
            reach.connection_count()
        })
    });
    group.bench_function("render-txt", |b| {
        b.iter(|| {
            let lines = output::lines(&reach, &output::Filter::default());
            output::txt(&reach, &lines).len()
        })
    });
    let distinct = load_text(Arc::from("distinct.yaml"), &distinct_classes_manifests()).objects;
    let (reach, _) = connlist(&distinct).expect("distinct-classes input is valid");
    println!(
        "distinct classes: {} workloads, {} NetworkPolicies, {} classes, {} connections",
        reach.workloads().len(),
        reach.resources.network_policies.len(),
        reach.class_count(),
        reach.connection_count()
    );
    group.bench_function("parse+analyze-distinct-classes", |b| {
        b.iter(|| {
            let (reach, _) = connlist(&distinct).expect("valid");
            reach.connection_count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
