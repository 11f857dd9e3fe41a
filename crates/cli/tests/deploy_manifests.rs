//! The webhook's deployment manifests (`deploy/`) pass kubesecops' own scan, and the webhook
//! config they ship loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn deploy_manifests_have_no_findings() {
    // `deploy/` is a kustomization, scanned as `kubectl apply -k` would apply it; without a
    // renderer, its files are named one by one.
    let mut inputs = vec!["deploy/".to_string()];
    if common::kustomize_renderer_dir().is_none() {
        eprintln!("no kustomize or kubectl on PATH: scanning deploy/*.yaml one by one");
        inputs = std::fs::read_dir(repo().join("deploy"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.extension().is_some_and(|e| e == "yaml") && !path.ends_with("kustomization.yaml")
            })
            .map(|path| path.display().to_string())
            .collect();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_kubesecops"))
        .current_dir(repo())
        .env("KUBESECOPS_CONFIG", repo().join("crates/cli/tests/fixtures/empty.toml"))
        .arg("scan")
        .args(&inputs)
        .args(["--format", "json", "--fail-on", "LOW"])
        .output()
        .expect("run kubesecops");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)));
    assert_eq!(report["findings"], Value::Array(Vec::new()), "{report:#}");
    assert_eq!(report["errors"], Value::Array(Vec::new()), "{report:#}");
    assert!(output.status.success(), "exit {:?}", output.status.code());
    // The manifests are really there and scanned: a Deployment, the webhook registration.
    let text = std::fs::read_to_string(repo().join("deploy/deployment.yaml")).unwrap();
    assert!(text.contains("kind: Deployment") && text.contains("readOnlyRootFilesystem: true"));
}
