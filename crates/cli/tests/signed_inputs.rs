//! Signed inputs (`db import --trusted-key`, `scan --policy-key`, `runtime replay
//! --rules-key`) with keys and signatures made
//! by the real `minisign` tool (Debian's `minisign` package; `.ci/run` installs it). Without
//! `minisign`, the tests say so and pass, except under `CI=true`, where a missing `minisign`
//! fails them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn minisign() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).map(|dir| dir.join("minisign")).find(|p| p.is_file());
    assert!(
        found.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: minisign must be on PATH (Debian package `minisign`)"
    );
    found
}

fn run(program: &Path, args: &[&str], cwd: &Path) -> Output {
    let output = Command::new(program).args(args).current_dir(cwd).output().expect("run");
    output
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn record(id: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z",
            "affected": [{{"package": {{"ecosystem": "npm", "name": "left-pad"}}, "versions": ["1.0.0"]}}]}}"#
    )
}

/// `minisign -G` without a password; returns the key id from the public key's comment.
fn new_key(minisign: &Path, dir: &Path, name: &str) -> String {
    ok(run(minisign, &["-G", "-W", "-p", &format!("{name}.pub"), "-s", &format!("{name}.sec")], dir));
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    public.lines().next().unwrap().rsplit(' ').next().unwrap().to_string()
}

#[test]
fn imports_files_signed_by_minisign_and_refuses_tampered_untrusted_and_unsigned_ones() {
    let Some(minisign) = minisign() else {
        eprintln!("minisign not on PATH: the signed import test did not run");
        return;
    };
    let kubesecops = PathBuf::from(env!("CARGO_BIN_EXE_kubesecops"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key_id = new_key(&minisign, d, "trusted");
    new_key(&minisign, d, "other");
    std::fs::write(d.join("a.json"), record("GHSA-a")).unwrap();
    std::fs::write(d.join("b.json"), record("GHSA-b")).unwrap();
    // a.json prehashed (minisign's default), b.json in the legacy format.
    ok(run(&minisign, &["-S", "-s", "trusted.sec", "-m", "a.json"], d));
    ok(run(&minisign, &["-S", "-l", "-s", "trusted.sec", "-m", "b.json"], d));

    let import = |args: &[&str]| {
        let mut all = vec!["db", "import", "--db", "db"];
        all.extend_from_slice(args);
        run(&kubesecops, &all, d)
    };
    let out = ok(import(&["--trusted-key", "trusted.pub", "a.json", "b.json"]));
    assert!(stderr(&out).contains(&format!("every input verified with key {key_id}")), "{}", stderr(&out));
    let info = ok(run(&kubesecops, &["db", "info", "--db", "db"], d));
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.contains(&format!("signed by   {key_id}")), "{info}");
    assert!(info.contains(&format!("  a.json  (key {key_id}, signed ")), "{info}");

    // Changed after signing: refused, the file named, exit 2, nothing imported.
    std::fs::write(d.join("c.json"), record("GHSA-c")).unwrap();
    ok(run(&minisign, &["-S", "-s", "trusted.sec", "-m", "c.json"], d));
    std::fs::write(d.join("c.json"), record("GHSA-evil")).unwrap();
    let out = import(&["--trusted-key", "trusted.pub", "c.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("c.json: the signature c.json.minisig does not match"), "{}", stderr(&out));

    // Signed by a key that is not trusted.
    std::fs::write(d.join("d.json"), record("GHSA-d")).unwrap();
    ok(run(&minisign, &["-S", "-s", "other.sec", "-m", "d.json"], d));
    let out = import(&["--trusted-key", "trusted.pub", "d.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("which is not a trusted key"), "{}", stderr(&out));

    // The store now takes only signed inputs.
    let out = import(&["d.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("takes only signed inputs"), "{}", stderr(&out));

    let info = ok(run(&kubesecops, &["db", "info", "--db", "db", "--format", "json"], d));
    let meta: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(meta["records"], 2, "{meta}");
}

#[test]
fn scan_loads_only_policies_signed_by_a_policy_key() {
    let Some(minisign) = minisign() else {
        eprintln!("minisign not on PATH: the signed policy test did not run");
        return;
    };
    let kubesecops = PathBuf::from(env!("CARGO_BIN_EXE_kubesecops"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(&minisign, d, "policies");
    std::fs::create_dir(d.join("policy")).unwrap();
    std::fs::write(
        d.join("policy/team.rego"),
        "package main\n\ndeny[msg] {\n  input.kind == \"Pod\"\n  msg := \"pods need an owner\"\n}\n",
    )
    .unwrap();
    ok(run(&minisign, &["-S", "-s", "policies.sec", "-m", "policy/team.rego"], d));
    std::fs::write(
        d.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a:1}]}\n",
    )
    .unwrap();
    let scan = || {
        run(
            &kubesecops,
            &["scan", "pod.yaml", "--policy", "policy", "--policy-key", "policies.pub", "-f", "json"],
            d,
        )
    };
    let out = scan();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    assert!(
        report["findings"].as_array().unwrap().iter().any(|f| f["message"] == "pods need an owner"),
        "{report}"
    );

    // Changed after signing: not loaded, named in the report's errors, exit 2.
    let text = std::fs::read_to_string(d.join("policy/team.rego")).unwrap();
    std::fs::write(d.join("policy/team.rego"), text.replace("Pod", "Nothing")).unwrap();
    let out = scan();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = report["errors"].to_string();
    assert!(errors.contains("team.rego") && errors.contains("does not match"), "{errors}");
    assert!(
        !report["findings"].as_array().unwrap().iter().any(|f| f["message"] == "pods need an owner"),
        "{report}"
    );
}

#[test]
fn runtime_replay_loads_only_rules_signed_by_a_rules_key() {
    let Some(minisign) = minisign() else {
        eprintln!("minisign not on PATH: the signed rules test did not run");
        return;
    };
    let kubesecops = PathBuf::from(env!("CARGO_BIN_EXE_kubesecops"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(&minisign, d, "rules");
    let rules = "- rule: Pod created\n  desc: a pod was created\n  condition: ka.verb=create and ka.target.resource=pods\n  output: pod %ka.target.name created by %ka.user.name\n  priority: NOTICE\n  source: k8s_audit\n";
    std::fs::write(d.join("rules.yaml"), rules).unwrap();
    ok(run(&minisign, &["-S", "-s", "rules.sec", "-m", "rules.yaml"], d));
    std::fs::write(
        d.join("audit.jsonl"),
        r#"{"kind":"Event","auditID":"a1","stage":"ResponseComplete","stageTimestamp":"2024-05-01T10:00:00Z","verb":"create","user":{"username":"mallory"},"objectRef":{"resource":"pods","namespace":"default","name":"web"},"responseStatus":{"code":201}}"#,
    )
    .unwrap();
    let replay = || {
        run(
            &kubesecops,
            &["runtime", "replay", "--rules", "rules.yaml", "--rules-key", "rules.pub", "audit.jsonl"],
            d,
        )
    };
    let out = replay();
    assert_eq!(out.status.code(), Some(1), "alerts exit 1: {}", stderr(&out));
    let alerts = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(alerts.contains("pod web created by mallory"), "{alerts}");

    // Changed after signing: the command stops, naming the file, and evaluates nothing.
    std::fs::write(d.join("rules.yaml"), rules.replace("NOTICE", "DEBUG")).unwrap();
    let out = replay();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("rules.yaml") && stderr(&out).contains("does not match"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));

    // Unsigned: refused the same way.
    std::fs::remove_file(d.join("rules.yaml.minisig")).unwrap();
    let out = replay();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not signed"), "{}", stderr(&out));
}
