//! Conformance with the Gatekeeper library's suites, run only when
//! `KUBESECOPS_GATEKEEPER_SUITES` names a checkout of its `library/` folder with the
//! templates present (see docs/conformance.md). Prints the score and every failed case.

use std::path::PathBuf;
use std::time::Duration;

use kubesecops_policy::verify::run_suites;

#[test]
fn gatekeeper_library_suites() {
    let Some(dir) = std::env::var_os("KUBESECOPS_GATEKEEPER_SUITES") else {
        eprintln!("KUBESECOPS_GATEKEEPER_SUITES is not set: skipped");
        return;
    };
    let run = run_suites(&[PathBuf::from(dir)], Duration::from_secs(5));
    let passed = run.results.iter().filter(|r| r.pass).count();
    for r in run.results.iter().filter(|r| !r.pass) {
        eprintln!("FAIL {} {} / {}: {}", r.suite, r.test, r.case, r.message.as_deref().unwrap_or(""));
    }
    for e in &run.errors {
        eprintln!("error: {}:{:?}: {}", e.path, e.line, e.message);
    }
    eprintln!("gatekeeper-library: {passed}/{} cases passed", run.results.len());
    assert!(!run.results.is_empty());
    // The goal is 95%; the floor catches regressions while the known misses (listed in
    // docs/conformance.md) remain.
    assert!(passed * 100 >= run.results.len() * 90, "{passed}/{} is below 90%", run.results.len());
}

/// trivy-checks' Kubernetes tests through `policy test`, when `KUBESECOPS_TRIVY_CHECKS`
/// names a checkout (its `lib/` and `checks/kubernetes/` are loaded, `*.yaml` ignored as
/// trivy-checks' own `opa test` run does).
#[test]
fn trivy_checks_kubernetes_tests() {
    let Some(dir) = std::env::var_os("KUBESECOPS_TRIVY_CHECKS") else {
        eprintln!("KUBESECOPS_TRIVY_CHECKS is not set: skipped");
        return;
    };
    let root = PathBuf::from(dir);
    let options = kubesecops_policy::opatest::TestOptions {
        ignore: vec!["*.yaml".to_string()],
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let run =
        kubesecops_policy::opatest::run_tests(&[root.join("lib"), root.join("checks/kubernetes")], &options);
    let kubernetes: Vec<_> = run.results.iter().filter(|r| r.path.contains("checks/kubernetes")).collect();
    let passed = kubernetes.iter().filter(|r| r.pass).count();
    for r in kubernetes.iter().filter(|r| !r.pass) {
        eprintln!("FAIL {}.{}: {}", r.package, r.name, r.message.as_deref().unwrap_or(""));
    }
    for e in run.errors.iter().take(20) {
        eprintln!("error: {}:{:?}: {}", e.path, e.line, e.message);
    }
    eprintln!("trivy-checks kubernetes: {passed}/{} tests passed", kubernetes.len());
    assert!(!kubernetes.is_empty());
    assert!(passed * 100 >= kubernetes.len() * 90, "{passed}/{} is below 90%", kubernetes.len());
}
