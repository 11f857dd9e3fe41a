//! conftest-style policies on objects, with the project's own example policies.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kubesecops_core::Severity;
use kubesecops_k8s::loader::load_text;
use kubesecops_k8s::Object;
use kubesecops_policy::{PolicyOptions, PolicySet};

const PODS: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx:latest
    securityContext:
      privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: calm
spec:
  containers:
  - name: app
    image: registry.example/app:1.2
";

const PRIVILEGED: &str = r#"# METADATA
# title: Privileged container
# description: Containers must not run privileged.
# custom:
#   id: ORG-001
#   severity: CRITICAL
#   aliases: [KSV017]
package main

deny[msg] {
  c := input.spec.containers[_]
  c.securityContext.privileged
  msg := sprintf("container %s is privileged", [c.name])
}

warn[msg] {
  c := input.spec.containers[_]
  endswith(c.image, ":latest")
  msg := {"msg": sprintf("container %s uses a latest tag", [c.name])}
}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn objects(text: &str) -> Vec<Object> {
    load_text(Arc::from("pods.yaml"), text).objects
}

fn options(dir: &Path) -> PolicyOptions {
    PolicyOptions { policy_paths: vec![dir.to_path_buf()], ..PolicyOptions::default() }
}

#[test]
fn deny_and_warn_become_findings_with_metadata() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "privileged.rego", PRIVILEGED);
    let set = PolicySet::load(&options(dir.path())).unwrap();
    let pods = objects(PODS);
    let (findings, errors) = set.evaluate(&pods[0]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(findings.len(), 2, "{findings:?}");
    let deny = findings.iter().find(|f| f.severity == Severity::Critical).unwrap();
    assert_eq!(deny.rule.id, "ORG-001");
    assert_eq!(deny.rule.aliases, ["KSV017"]);
    assert_eq!(deny.rule.title, "Privileged container");
    assert_eq!(deny.message, "container app is privileged");
    assert_eq!(deny.location.line, Some(1));
    assert_eq!(deny.object.as_ref().unwrap().name, "web");
    // The package's metadata applies to warn too, but warn without its own severity keeps
    // the annotated one; the message comes from the object's `msg`.
    let warn = findings.iter().find(|f| f.message.contains("latest")).unwrap();
    assert_eq!(warn.message, "container app uses a latest tag");
    assert_eq!(deny.fingerprint.len(), 16);
    assert_ne!(deny.fingerprint, warn.fingerprint);

    let (findings, errors) = set.evaluate(&pods[1]);
    assert!(errors.is_empty() && findings.is_empty(), "{findings:?} {errors:?}");
}

#[test]
fn defaults_without_metadata_and_rego_v1_syntax() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "v1.rego",
        "package main\n\ndeny_latest contains msg if {\n  some c in input.spec.containers\n  endswith(c.image, \":latest\")\n  msg := \"latest tag\"\n}\n\nwarn contains \"no namespace\" if not input.metadata.namespace\n",
    );
    let set = PolicySet::load(&options(dir.path())).unwrap();
    let pods = objects(PODS);
    let (findings, errors) = set.evaluate(&pods[0]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule.id, "main.deny_latest");
    assert_eq!(findings[0].severity, Severity::High);
    let (findings, _) = set.evaluate(&pods[1]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule.id, "main.warn");
    assert_eq!(findings[0].severity, Severity::Low);
    assert_eq!(findings[0].location.line, Some(13), "the second document starts on line 13");
}

#[test]
fn namespaces_choose_packages_and_data_files_are_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "registry.rego",
        "package org.images\n\ndeny[msg] {\n  c := input.spec.containers[_]\n  not startswith(c.image, data.registries.allowed[_])\n  msg := sprintf(\"%s: registry not allowed\", [c.image])\n}\n",
    );
    write(data.path(), "registries.yaml", "registries:\n  allowed: [registry.example/]\n");
    let pods = objects(PODS);

    let default = PolicySet::load(&PolicyOptions {
        data_paths: vec![data.path().to_path_buf()],
        ..options(dir.path())
    })
    .unwrap();
    assert_eq!(default.rule_count(), 0, "package main is the default");

    let chosen = PolicySet::load(&PolicyOptions {
        data_paths: vec![data.path().to_path_buf()],
        namespaces: vec!["org.images".to_string()],
        ..options(dir.path())
    })
    .unwrap();
    let (findings, errors) = chosen.evaluate(&pods[0]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule.id, "org.images.deny");
    assert_eq!(findings[0].message, "nginx:latest: registry not allowed");
    assert!(chosen.evaluate(&pods[1]).0.is_empty());
}

#[test]
fn a_rule_spread_over_files_is_evaluated_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "privileged.rego", PRIVILEGED);
    write(
        dir.path(),
        "more/host.rego",
        "package main\n\ndeny[msg] {\n  input.spec.hostNetwork\n  msg := \"host network\"\n}\n",
    );
    let set = PolicySet::load(&options(dir.path())).unwrap();
    let (findings, errors) = set.evaluate(&objects(PODS)[0]);
    assert!(errors.is_empty(), "{errors:?}");
    let messages: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["container app is privileged", "container app uses a latest tag"]);
}

#[test]
fn parse_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.rego", "package main\ndeny[m] { m := \"x\"; false }\n");
    write(dir.path(), "broken.rego", "package main\n\ndeny[msg] {\n  msg := \n}\n");
    let errors = PolicySet::load(&options(dir.path())).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].path.ends_with("broken.rego"), "{errors:?}");
    // regorus points at the rule whose body is unterminated.
    assert!(matches!(errors[0].line, Some(3..=5)), "{errors:?}");
}

#[test]
fn evaluation_errors_are_reported_not_swallowed() {
    let dir = tempfile::tempdir().unwrap();
    // A complete rule with two different values is an evaluation error in Rego.
    write(
        dir.path(),
        "conflict.rego",
        "package main\n\nname := input.metadata.name\nname := \"other\"\n\ndeny[msg] {\n  msg := name\n}\n",
    );
    let result = PolicySet::load(&options(dir.path()));
    let errors = match result {
        Err(errors) => errors,
        Ok(set) => set.evaluate(&objects(PODS)[0]).1,
    };
    assert!(!errors.is_empty());
    assert!(errors[0].path.ends_with("conflict.rego"), "{errors:?}");
}

#[test]
fn evaluation_time_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "slow.rego",
        "package main\n\ndeny[msg] {\n  some i, j, k\n  numbers.range(1, 2000)[i]\n  numbers.range(1, 2000)[j]\n  numbers.range(1, 2000)[k]\n  i + j + k < 0\n  msg := \"never\"\n}\n",
    );
    let set = PolicySet::load(&PolicyOptions { timeout: Duration::from_millis(50), ..options(dir.path()) })
        .unwrap();
    let started = std::time::Instant::now();
    let (findings, errors) = set.evaluate(&objects(PODS)[0]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(findings.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("time limit"), "{}", errors[0].message);
}

#[test]
fn policy_set_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicySet>();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "privileged.rego", PRIVILEGED);
    let set = PolicySet::load(&options(dir.path())).unwrap();
    let pods = objects(PODS);
    let counts: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| set.evaluate(&pods[0]).0.len())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(counts, [2, 2, 2, 2]);
}

#[test]
fn with_trusted_keys_only_signed_policy_and_data_files_load() {
    use kubesecops_trust::testing::TestKey;
    use kubesecops_trust::{signature_path, TrustedKeys};

    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::new(5, *b"policies");
    let public = dir.path().join("policies.pub");
    fs::write(&public, key.public_file()).unwrap();
    let policies = dir.path().join("policies");
    write(&policies, "privileged.rego", PRIVILEGED);
    let sign = |path: &Path| {
        let text = fs::read(path).unwrap();
        fs::write(signature_path(path), key.sign(&text, "timestamp:1\tfile:x", true)).unwrap();
    };
    sign(&policies.join("privileged.rego"));
    let data = dir.path().join("data.yaml");
    fs::write(&data, "allowed: [a]\n").unwrap();
    sign(&data);
    let trusted = PolicyOptions {
        policy_paths: vec![policies.clone()],
        data_paths: vec![data.clone()],
        trusted: Some(TrustedKeys::load(&[public]).unwrap()),
        ..PolicyOptions::default()
    };
    let set = PolicySet::load(&trusted).unwrap();
    assert_eq!(set.evaluate(&objects(PODS)[0]).0.len(), 2);

    // A policy changed after signing and an unsigned one are errors naming them, not loaded.
    fs::write(policies.join("privileged.rego"), PRIVILEGED.replace("privileged", "privileged == false"))
        .unwrap();
    write(&policies, "extra.rego", "package main\n");
    fs::write(&data, "allowed: [b]\n").unwrap();
    let errors = PolicySet::load(&trusted).err().unwrap();
    let text: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect();
    assert_eq!(errors.len(), 3, "{text:?}");
    assert!(text[0].contains("extra.rego: not signed"), "{text:?}");
    assert!(text[1].contains("privileged.rego: the signature"), "{text:?}");
    assert!(text[2].contains("data.yaml: the signature"), "{text:?}");
}
