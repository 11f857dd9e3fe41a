//! Secrets end to end through the binary: manifests in `scan`, git history in `secrets --git`,
//! redaction in every format, fingerprint ignores, and the secret-manager setting.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A fake GitHub token: the built-in rule reports it by its shape.
const TOKEN: &str = "ghp_FAKE0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p";
/// `TOKEN` base64-encoded, as it sits in `Secret.data`.
const TOKEN_BASE64: &str = "Z2hwX0ZBS0UwYTFiMmMzZDRlNWY2ZzdoOGk5ajBrMWwybTNuNG81cA==";
const FORMATS: [&str; 4] = ["table", "json", "sarif", "junit"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kubesecops(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubesecops"));
    cmd.current_dir(dir);
    cmd.env("KUBESECOPS_CONFIG", repo().join("crates/cli/tests/fixtures/empty.toml"));
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    kubesecops(dir).args(args).output().expect("run kubesecops")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

/// Every output of the command in every format, stdout and stderr, must be free of the secret.
fn assert_redacted_everywhere(dir: &Path, args: &[&str]) {
    for format in FORMATS {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", format]);
        let out = run(dir, &all);
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            for secret in [TOKEN, TOKEN_BASE64, &TOKEN[4..]] {
                assert!(!text.contains(secret), "{format}: the secret reached the output:\n{text}");
            }
        }
        assert!(String::from_utf8_lossy(&out.stdout).contains("ghp_****"), "{format}: no redacted finding");
    }
}

fn secret_findings(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"]["id"].as_str().unwrap().starts_with("KSO-SEC-"))
        .collect()
}

fn write_manifests(dir: &Path) {
    std::fs::write(
        dir.join("app.yaml"),
        format!(
            "apiVersion: v1
kind: Secret
metadata:
  name: ci
  namespace: build
data:
  token: {TOKEN_BASE64}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: build
  annotations:
    note: \"uses {TOKEN}\"
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.0
        env:
        - name: GH
          value: {TOKEN}
"
        ),
    )
    .unwrap();
    let chart = dir.join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), format!("replicas: 1\ngithub:\n  token: {TOKEN}\n")).unwrap();
}

#[test]
fn scan_reports_manifest_secrets_with_object_and_line_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path());
    let out = run(dir.path(), &["scan", ".", "--format", "json", "--pss-level", "privileged"]);
    let report = json(&out);
    let mut found: Vec<(String, u64, String)> = secret_findings(&report)
        .iter()
        .map(|f| {
            let object = f["object"]["kind"].as_str().unwrap_or("-").to_string();
            (
                f["location"]["path"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
                object,
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("./app.yaml".to_string(), 7, "Secret".to_string()),
            ("./app.yaml".to_string(), 15, "Deployment".to_string()),
            ("./app.yaml".to_string(), 24, "Deployment".to_string()),
            ("./chart/values.yaml".to_string(), 3, "-".to_string()),
        ],
        "{report:#}"
    );
    assert_redacted_everywhere(dir.path(), &["scan", ".", "--pss-level", "privileged"]);
}

#[test]
fn a_fingerprint_in_the_ignore_file_drops_that_finding_only() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path());
    let report = json(&run(dir.path(), &["scan", "app.yaml", "--format", "json"]));
    let before = secret_findings(&report);
    assert_eq!(before.len(), 3);
    let secret_data = before.iter().find(|f| f["object"]["kind"] == "Secret").unwrap();
    let fingerprint = secret_data["fingerprint"].as_str().unwrap();
    std::fs::write(dir.path().join(".kubesecopsignore"), format!("{fingerprint}  # CI test token\n"))
        .unwrap();
    let report = json(&run(dir.path(), &["scan", "app.yaml", "--format", "json"]));
    let after = secret_findings(&report);
    assert_eq!(after.len(), 2, "{report:#}");
    assert!(after.iter().all(|f| f["fingerprint"] != fingerprint));
    let ignore = std::fs::read_to_string(dir.path().join(".kubesecopsignore")).unwrap();
    assert!(!ignore.contains(TOKEN), "the ignore entry does not hold the secret");
}

fn git(dir: &Path, args: &[&str], date: &str) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn secrets_git_reports_the_commit_that_added_a_removed_secret() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
    std::fs::write(repo.join("ci.sh"), "#!/bin/sh\nmake test\n").unwrap();
    git(&repo, &["add", "."], "2024-01-01T00:00:00Z");
    git(&repo, &["commit", "-q", "-m", "ci"], "2024-01-01T00:00:00+00:00");
    std::fs::write(repo.join("ci.sh"), format!("#!/bin/sh\nexport GITHUB_TOKEN={TOKEN}\nmake test\n"))
        .unwrap();
    git(&repo, &["commit", "-q", "-am", "token"], "2024-03-04T05:06:07+01:00");
    std::fs::write(repo.join("ci.sh"), "#!/bin/sh\nmake test\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "oops"], "2024-03-05T00:00:00+00:00");

    let files = json(&run(dir.path(), &["secrets", "repo", "--format", "json"]));
    assert!(secret_findings(&files).is_empty(), "the working tree is clean");

    let out = run(dir.path(), &["secrets", "--git", "repo", "--format", "json", "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let found = secret_findings(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["location"]["path"], "ci.sh");
    assert_eq!(found[0]["location"]["line"], 2);
    assert_eq!(found[0]["vcs"]["author"], "Ada Lovelace <ada@example.com>");
    assert_eq!(found[0]["vcs"]["date"], "2024-03-04T05:06:07+01:00");
    assert_eq!(found[0]["vcs"]["commit"].as_str().unwrap().len(), 40);
    assert_redacted_everywhere(dir.path(), &["secrets", "--git", "repo"]);

    let not_a_repo = run(dir.path(), &["secrets", "--git", "."]);
    assert_eq!(not_a_repo.status.code(), Some(2));
}

#[test]
fn secrets_in_files_are_redacted_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), format!("GITHUB_TOKEN={TOKEN}\n")).unwrap();
    assert_redacted_everywhere(dir.path(), &["secrets", "."]);
}

#[test]
fn the_secret_manager_setting_turns_on_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  mode: fast\n",
    )
    .unwrap();
    let ids = |out: &Output| -> Vec<String> {
        json(out)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let without = run(dir.path(), &["scan", "secret.yaml", "--format", "json"]);
    assert!(!ids(&without).contains(&"KSO-S007".to_string()));
    std::fs::write(dir.path().join("kubesecops.toml"), "[scan]\nsecret-managers = [\"vault\"]\n").unwrap();
    let with = kubesecops(dir.path())
        .env("KUBESECOPS_CONFIG", dir.path().join("kubesecops.toml"))
        .args(["scan", "secret.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert!(ids(&with).contains(&"KSO-S007".to_string()), "{}", String::from_utf8_lossy(&with.stdout));
    std::fs::write(dir.path().join("kubesecops.toml"), "[scan]\nsecret-managers = [\"lockbox\"]\n").unwrap();
    let bad = kubesecops(dir.path())
        .env("KUBESECOPS_CONFIG", dir.path().join("kubesecops.toml"))
        .args(["scan", "secret.yaml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lockbox"));
}
