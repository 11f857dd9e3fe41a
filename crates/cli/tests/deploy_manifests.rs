//! The webhook's deployment manifests (`deploy/`) pass kubesecops' own scan, and the webhook
//! config they ship loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn deploy_manifests_have_no_findings() {
    let output = Command::new(env!("CARGO_BIN_EXE_kubesecops"))
        .current_dir(repo())
        .env("KUBESECOPS_CONFIG", repo().join("crates/cli/tests/fixtures/empty.toml"))
        .args(["scan", "deploy/", "--format", "json", "--fail-on", "LOW"])
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
