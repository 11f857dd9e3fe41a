//! The `kubesecops` binary run as users run it: exit codes, inputs, reports, ignores.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kubesecops() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubesecops"));
    cmd.current_dir(repo());
    // Never pick up a developer's own settings file.
    cmd.env("KUBESECOPS_CONFIG", repo().join("crates/cli/tests/fixtures/empty.toml"));
    cmd
}

fn run(args: &[&str]) -> Output {
    kubesecops().args(args).output().expect("run kubesecops")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn insecure_example_reports_findings_and_exits_zero_without_fail_on() {
    let out = run(&["scan", "examples/insecure", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["schemaVersion"], 1);
    let ids = rule_ids(&report);
    for expected in ["KSO-C001", "KSO-PSS-privileged", "KSO-PSS-hostNamespaces"] {
        assert!(ids.iter().any(|id| id == expected), "{expected} missing from {ids:?}");
    }
    let privileged =
        report["findings"].as_array().unwrap().iter().find(|f| f["rule"]["id"] == "KSO-C001").unwrap();
    assert_eq!(privileged["location"]["path"], "examples/insecure/web.yaml");
    assert_eq!(privileged["location"]["line"], 24, "line of `privileged: true`");
    assert_eq!(privileged["object"]["kind"], "Deployment");
    assert_eq!(privileged["rule"]["aliases"][0], "KSV-0017");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0);

    let out = run(&["scan", "examples/insecure", "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn hardened_example_is_clean() {
    let out = run(&["scan", "examples/hardened", "--format", "json", "--fail-on", "low"]);
    let report = json(&out);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{report:#}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_broken_document_is_an_error_and_the_rest_is_scanned() {
    let out = run(&["scan", "crates/cli/tests/fixtures/broken.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "crates/cli/tests/fixtures/broken.yaml");
    let line = errors[0]["line"].as_u64().unwrap();
    assert!((19..=21).contains(&line), "error line {line}");
    let objects: Vec<&str> =
        report["findings"].as_array().unwrap().iter().filter_map(|f| f["object"]["name"].as_str()).collect();
    assert!(objects.contains(&"debug") && objects.contains(&"tools"), "{objects:?}");
}

#[test]
fn missing_paths_are_errors_not_silence() {
    let out = run(&["scan", "does/not/exist.yaml", "examples/hardened", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["errors"][0]["path"], "does/not/exist.yaml");
}

#[test]
fn stdin_is_read_with_dash() {
    let mut child = kubesecops()
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers: [{name: a, image: a:1}]\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = json(&out);
    let f =
        report["findings"].as_array().unwrap().iter().find(|f| f["rule"]["id"] == "KSO-PSS-hostNamespaces");
    let f = f.expect("hostPID reported");
    assert_eq!(f["location"]["path"], "-");
    assert_eq!(f["location"]["line"], 5);
}

#[test]
fn skip_accepts_aliases_and_annotations_silence_rules() {
    let base = rule_ids(&json(&run(&["scan", "examples/insecure", "--format", "json"])));
    assert!(base.iter().any(|id| id == "KSO-C001"));
    let skipped =
        rule_ids(&json(&run(&["scan", "examples/insecure", "--format", "json", "--skip", "CKV_K8S_16"])));
    assert!(!skipped.iter().any(|id| id == "KSO-C001"));
    assert!(skipped.len() < base.len());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pod.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    kubesecops.io/ignore: \"KSV-0017=node agent, reviewed\"\nspec:\n  containers:\n  - name: a\n    image: a:1\n    securityContext: {privileged: true}\n",
    )
    .unwrap();
    let ids = rule_ids(&json(&run(&["scan", file.to_str().unwrap(), "--format", "json"])));
    assert!(!ids.iter().any(|id| id == "KSO-C001"), "{ids:?}");
    assert!(ids.iter().any(|id| id == "KSO-PSS-privileged"), "only the named rule is silenced");
}

#[test]
fn ignore_file_and_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let ignore = dir.path().join("ignore");
    std::fs::write(
        &ignore,
        "# accepted\nKSO-C001 examples/insecure/*.yaml\nKSO-PSS-privileged exp:2001-01-01\n",
    )
    .unwrap();
    let out =
        run(&["scan", "examples/insecure", "--format", "json", "--ignore-file", ignore.to_str().unwrap()]);
    let report = json(&out);
    let ids = rule_ids(&report);
    assert!(!ids.iter().any(|id| id == "KSO-C001"));
    assert!(ids.iter().any(|id| id == "KSO-PSS-privileged"), "expired entries no longer apply");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expired on 2001-01-01"), "{stderr}");

    let baseline = dir.path().join("baseline.json");
    let out = run(&["scan", "examples/insecure", "--format", "json", "-o", baseline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["scan", "examples", "--format", "json", "--baseline", baseline.to_str().unwrap()]);
    let report = json(&out);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0, "only new findings: {report:#}");
}

#[test]
fn helm_charts_without_helm_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("chart/templates")).unwrap();
    std::fs::write(dir.path().join("chart/Chart.yaml"), "apiVersion: v2\nname: c\nversion: 0.1.0\n").unwrap();
    std::fs::write(dir.path().join("chart/templates/pod.yaml"), "{{ .Values.x }}\n").unwrap();
    let out = kubesecops()
        .args(["scan", dir.path().to_str().unwrap(), "--format", "json"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("helm"), "{report:#}");

    // A stand-in `helm` proves the chart is rendered with the values and sets given.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helm = bin.join("helm");
    std::fs::write(
        &helm,
        "#!/bin/sh\n[ \"$1\" = template ] || exit 9\necho \"# args: $*\" >&2\ncat <<EOF\napiVersion: v1\nkind: Pod\nmetadata:\n  name: rendered\nspec:\n  hostIPC: true\n  containers: [{name: a, image: a:1}]\nEOF\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = kubesecops()
        .args(["scan", dir.path().to_str().unwrap(), "--format", "json", "--helm-set", "x=1"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report:#}");
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["object"]["name"] == "rendered"));
}

#[test]
fn rules_lists_and_explains_by_alias() {
    let out = run(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() > 80);
    let out = run(&["rules", "ksv-0017"]);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with("# KSO-C001: Privileged container"), "{page}");
    assert!(page.contains("## Fix"));
    assert_eq!(run(&["rules", "NOPE-1"]).status.code(), Some(2));
}

#[test]
fn pss_results_envelope() {
    let out = run(&[
        "pss",
        "--level",
        "baseline",
        "--version",
        "v1.30",
        "--format",
        "json",
        "examples/insecure/web.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "a denied pod exits 1");
    let report = json(&out);
    let result = &report["results"][0];
    assert_eq!(result["name"], "web");
    assert_eq!(result["allowed"], false);
    let checks: Vec<&str> =
        result["violations"].as_array().unwrap().iter().map(|v| v["check"].as_str().unwrap()).collect();
    for check in ["privileged", "hostNamespaces", "hostPorts", "hostPathVolumes", "capabilities_baseline"] {
        assert!(checks.contains(&check), "{check} missing from {checks:?}");
    }
    assert_eq!(report["errors"], Value::Array(vec![]));
    let out = run(&["pss", "--level", "restricted", "--format", "json", "examples/hardened/web.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(run(&["pss", "--level", "strict", "examples"]).status.code(), Some(2));
}

#[test]
fn sarif_and_junit_are_written() {
    let out = run(&["scan", "examples/insecure", "--format", "sarif"]);
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert!(region["startLine"].as_u64().unwrap() > 0);
    let out = run(&["scan", "examples/insecure", "--format", "junit"]);
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(xml.contains("<testsuites") && xml.contains("<failure"), "{xml}");
}

#[test]
fn settings_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("kubesecops.toml");
    std::fs::write(&settings, "[scan]\nformat = \"json\"\nfail-on = \"low\"\nskip = [\"KSO-C001\"]\n")
        .unwrap();
    let out = kubesecops()
        .args(["scan", "examples/insecure"])
        .env("KUBESECOPS_CONFIG", &settings)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!rule_ids(&json(&out)).iter().any(|id| id == "KSO-C001"));
    let out = kubesecops()
        .args(["scan", "examples/insecure", "--format", "table"])
        .env("KUBESECOPS_CONFIG", &settings)
        .output()
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_err(), "flag overrides the file's format");
    std::fs::write(&settings, "[scan]\nfail_on = \"low\"\n").unwrap();
    let out = kubesecops().args(["scan", "examples"]).env("KUBESECOPS_CONFIG", &settings).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubesecops.toml:2"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers: [{{name: a, image: a}}]\n"
        ));
    }
    let file = dir.path().join("many.yaml");
    std::fs::write(&file, text).unwrap();
    let mut child = kubesecops()
        .args(["scan", file.to_str().unwrap(), "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn rego_policies_join_the_report() {
    let out = run(&["scan", "examples", "--format", "json", "--policy", "crates/cli/tests/fixtures/policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    let team: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["rule"]["id"] == "TEAM-001").collect();
    assert_eq!(team.len(), 1, "only the insecure Deployment lacks the label: {team:?}");
    assert_eq!(team[0]["severity"], "MEDIUM");
    assert_eq!(team[0]["object"]["name"], "web");
    assert_eq!(team[0]["location"]["path"], "examples/insecure/web.yaml");

    // A policy that does not parse is an error naming its file; built-in rules still run.
    let out = run(&[
        "scan",
        "examples/insecure",
        "--format",
        "json",
        "--policy",
        "crates/cli/tests/fixtures/broken-policy",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let error = &report["errors"][0];
    assert!(error["path"].as_str().unwrap().ends_with("broken.rego"), "{error}");
    assert!(error["line"].as_u64().is_some(), "{error}");
    assert!(rule_ids(&report).iter().any(|id| id == "KSO-C001"));
}

#[test]
fn gatekeeper_templates_in_scanned_paths_are_enforced() {
    let out = run(&["scan", "examples/insecure", "crates/cli/tests/fixtures/gatekeeper", "--format", "json"]);
    let report = json(&out);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report:#}");
    let hits: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"]["id"].as_str().unwrap().contains("K8sForbiddenImageTag"))
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0]["message"].as_str().unwrap().contains("latest"));
    assert_eq!(hits[0]["object"]["name"], "web");
}

#[test]
fn kustomizations_are_rendered_and_findings_point_at_the_base_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |name: &str, text: &str| {
        std::fs::create_dir_all(root.join(name).parent().unwrap()).unwrap();
        std::fs::write(root.join(name), text).unwrap();
    };
    write("app/base/kustomization.yaml", "resources:\n- deployment.yaml\n");
    write(
        "app/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n",
    );
    write(
        "app/overlays/prod/kustomization.yaml",
        "namespace: prod\nnamePrefix: prod-\nresources:\n- ../../base\npatches:\n- path: privileged.yaml\n",
    );
    write(
        "app/overlays/prod/privileged.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        securityContext:\n          privileged: true\n",
    );

    // Without a renderer the kustomization is an error, not skipped and not read piecemeal.
    let out = kubesecops()
        .args(["scan", root.to_str().unwrap(), "--format", "json"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{report:#}");
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("kubectl"), "{report:#}");
    assert_eq!(report["errors"][0]["path"], root.join("app/overlays/prod").to_str().unwrap());

    let Some(renderer) = common::kustomize_renderer_dir() else {
        eprintln!("skipped: neither kustomize nor kubectl is on PATH");
        return;
    };
    let out = kubesecops()
        .args(["scan", root.to_str().unwrap(), "--format", "json"])
        .env("PATH", renderer)
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    let base = root.join("app/base/deployment.yaml");
    // The overlay's object, judged whole, shown where people edit it.
    assert!(!findings.is_empty());
    for finding in findings {
        assert_eq!(finding["location"]["path"], base.to_str().unwrap(), "{finding:#}");
        assert_eq!(finding["object"]["name"], "prod-web");
        assert_eq!(finding["object"]["namespace"], "prod");
    }
    let line_of = |rule: &str| {
        findings.iter().find(|f| f["rule"]["id"] == rule).map(|f| f["location"]["line"].as_u64().unwrap())
    };
    // In the base: the image's own line (line 18 of the rendered output).
    assert_eq!(line_of("KSO-I003"), Some(14), "{report:#}");
    // Set by the overlay's patch: the line of its container in the base.
    assert_eq!(line_of("KSO-C001"), Some(13), "{report:#}");
    // The namespace comes from the overlay: no finding for the default namespace.
    assert_eq!(line_of("KSO-W001"), None);
}

#[test]
fn metrics_are_written_for_a_run_that_fails_before_its_report_and_not_over_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("kubesecops.prom");
    let metrics_arg = metrics.display().to_string();
    let examples = repo().join("examples/insecure").display().to_string();

    // A finished scan: its findings.
    let out = run(&["scan", &examples, "--metrics-file", &metrics_arg, "--metrics-label", "repo=shop"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("kubesecops_findings_by_severity{command=\"scan\",repo=\"shop\",severity=\"HIGH\"}")
    );

    // The same scan failing before its report (a bad --format): exit 2 and no finding series,
    // instead of the previous run's figures left in place.
    let out = run(&[
        "scan",
        &examples,
        "--format",
        "bogus",
        "--metrics-file",
        &metrics_arg,
        "--metrics-label",
        "repo=shop",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.lines().any(|l| l == "kubesecops_last_run_exit_code{command=\"scan\",repo=\"shop\"} 2"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "kubesecops_input_errors{command=\"scan\",repo=\"shop\"} 1"), "{text}");
    assert!(!text.contains("kubesecops_findings"), "{text}");
}
