//! One admission decision: a realistic Pod CREATE (a Deployment's pod with the usual fields)
//! judged by the default config (built-in rules of severity HIGH+ and PSS baseline) and by
//! every built-in rule plus PSS restricted, from the request body to the response JSON.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use kubesecops_admission::review::{ReviewReply, API_VERSION};
use kubesecops_admission::{AdmissionReview, Config, Policies};

/// The same request the load test sends (scripts/load-admission.sh).
const REVIEW: &str = include_str!("../tests/fixtures/pod-review.json");

fn decide(policies: &Policies) -> Vec<u8> {
    let review = AdmissionReview::parse(REVIEW.as_bytes()).expect("valid review");
    let request = review.request.expect("request");
    let decision = policies.decide(&request);
    let response = decision.response(&request.uid);
    serde_json::to_vec(&ReviewReply {
        api_version: API_VERSION,
        kind: "AdmissionReview",
        response: &response,
    })
    .expect("encodes")
}

fn bench(c: &mut Criterion) {
    let default = Policies::load(None).expect("default policies");
    let all = Config::parse(
        "[builtin]\nmin_severity = \"LOW\"\n[pss]\nlevel = \"restricted\"\n",
        Path::new("bench.toml"),
        Path::new("."),
    )
    .expect("config");
    let all = Policies::from_config(&all, Path::new("bench.toml")).expect("policies");
    assert!(!decide(&default).is_empty());
    c.bench_function("admission_decision_default_config", |b| b.iter(|| decide(&default)));
    c.bench_function("admission_decision_all_rules_restricted", |b| b.iter(|| decide(&all)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
