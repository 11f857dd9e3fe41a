//! `policy test`: `opa test`-style runs of the project's own example tests.

use std::fs;
use std::time::Duration;

use kubesecops_policy::opatest::{run_tests, TestOptions};

const POLICY: &str = r#"package kubernetes.images

import rego.v1

deny contains msg if {
  some c in input.spec.containers
  not allowed(c.image)
  msg := sprintf("image %s is not from an allowed registry", [c.image])
}

allowed(image) if {
  some prefix in data.registries
  startswith(image, prefix)
}
"#;

const TESTS: &str = r#"package kubernetes.images_test

import rego.v1
import data.kubernetes.images

pod(image) := {"spec": {"containers": [{"name": "a", "image": image}]}}

test_denies_unknown_registry if {
  count(images.deny) == 1 with input as pod("evil.example/x") with data.registries as ["ok.example/"]
}

test_allows_known_registry if {
  count(images.deny) == 0 with input as pod("ok.example/x") with data.registries as ["ok.example/"]
}

test_uses_data_file if {
  count(images.deny) == 0 with input as pod("mirror.example/x")
}

test_cases[name] if {
  some name, image in {"known": "ok.example/x", "mirror": "mirror.example/x"}
  count(images.deny) == 0 with input as pod(image) with data.registries as ["ok.example/", "mirror.example/"]
}

test_this_one_fails if {
  count(images.deny) == 0 with input as pod("evil.example/x")
}
"#;

#[test]
fn runs_test_rules_with_overrides() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("images.rego"), POLICY).unwrap();
    fs::write(dir.path().join("images_test.rego"), TESTS).unwrap();
    fs::write(dir.path().join("data.yaml"), "registries: [mirror.example/]\n").unwrap();
    let options = TestOptions { timeout: Duration::from_secs(2), ..TestOptions::default() };
    let run = run_tests(&[dir.path().to_path_buf()], &options);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let verdicts: Vec<_> = run.results.iter().map(|r| (r.name.as_str(), r.pass)).collect();
    assert_eq!(
        verdicts,
        [
            ("test_allows_known_registry", true),
            ("test_cases", true),
            ("test_denies_unknown_registry", true),
            ("test_this_one_fails", false),
            ("test_uses_data_file", true),
        ]
    );
    assert_eq!(run.results[0].package, "data.kubernetes.images_test");
    assert!(!run.passed());

    let only = TestOptions { filter: Some(regex::Regex::new("allows").unwrap()), ..options.clone() };
    let run = run_tests(&[dir.path().to_path_buf()], &only);
    assert_eq!(run.results.len(), 1);
    assert!(run.passed());

    // Without the data file the data-dependent test fails: `--ignore` left it out.
    let ignoring = TestOptions { ignore: vec!["*.yaml".to_string()], ..options };
    let run = run_tests(&[dir.path().to_path_buf()], &ignoring);
    let failed: Vec<_> = run.results.iter().filter(|r| !r.pass).map(|r| r.name.as_str()).collect();
    assert_eq!(failed, ["test_this_one_fails", "test_uses_data_file"]);
}

#[test]
fn a_broken_module_is_an_error_not_an_empty_run() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("x_test.rego"), "package x\n\ntest_a if {\n  1 ==\n}\n").unwrap();
    let run = run_tests(&[dir.path().to_path_buf()], &TestOptions::default());
    assert!(run.results.is_empty());
    assert_eq!(run.errors.len(), 1);
    assert!(run.errors[0].path.ends_with("x_test.rego"));
    assert!(run.errors[0].line.is_some());
    assert!(!run.passed());
}
