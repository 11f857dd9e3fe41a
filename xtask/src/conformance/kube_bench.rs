//! kube-bench: every benchmark YAML under `cfg/` loads with `kubesecops-bench`; every
//! `derived/*TestCompareOp*` row gives kube-bench's sentence and verdict; every
//! `*TestTestExecute*` row passes with the expected sentence (check data from `check/data`
//! with `$user` replaced by `$USER`, as kube-bench's test does).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use kubesecops_bench::compare::compare;
use kubesecops_bench::config::BenchConfig;
use kubesecops_bench::controls::Controls;
use kubesecops_bench::evaluate::AuditOutputs;
use serde_json::Value;

use super::{Score, Suite};

pub const SUITE: Suite = Suite { name: "kube-bench", folder: "kube-bench", goal_percent: 100.0, run };

const MAX_LISTED: usize = 20;

fn run(folder: &Path) -> Result<Score> {
    let mut total = Score::default();
    let mut failures = Vec::new();
    for (name, score) in [
        ("load", load(folder, &mut failures)?),
        ("compare-op", compare_ops(folder, &mut failures)?),
        ("test-execute", test_execute(folder, &mut failures)?),
    ] {
        println!("kube-bench {name}: {}/{} ({:.2}%)", score.passed, score.total, score.percent());
        total.passed += score.passed;
        total.total += score.total;
    }
    for f in failures.iter().take(MAX_LISTED) {
        println!("  FAIL {f}");
    }
    if failures.len() > MAX_LISTED {
        println!("  ... and {} more", failures.len() - MAX_LISTED);
    }
    Ok(total)
}

/// Every YAML file of every benchmark folder (controls files parse; config.yaml files merge).
fn load(folder: &Path, failures: &mut Vec<String>) -> Result<Score> {
    let cfg_dir = folder.join("cfg");
    let config = BenchConfig::load(&cfg_dir).context("cfg/config.yaml")?;
    let mut score = Score::default();
    let mut dirs: Vec<_> = fs::read_dir(&cfg_dir)?.flatten().filter(|e| e.path().is_dir()).collect();
    dirs.sort_by_key(|e| e.file_name());
    for dir in dirs {
        let benchmark = dir.file_name().to_string_lossy().into_owned();
        score.total += 1;
        let mut ok = match config.for_benchmark(&benchmark) {
            Ok(_) => true,
            Err(e) => {
                failures.push(format!("load {benchmark}/config.yaml: {e}"));
                false
            }
        };
        let mut files: Vec<_> = fs::read_dir(dir.path())?.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let is_yaml = file.extension().is_some_and(|x| x == "yaml" || x == "yml");
            if !is_yaml || file.file_name().is_some_and(|n| n == "config.yaml") {
                continue;
            }
            match Controls::load(&file) {
                // Managed-platform control planes legitimately have no groups.
                Ok(c) if !c.node_type.is_empty() && !c.id.is_empty() => {}
                Ok(_) => {
                    failures.push(format!("load {}: no `id` or `type`", file.display()));
                    ok = false;
                }
                Err(e) => {
                    failures.push(format!("load {e}"));
                    ok = false;
                }
            }
        }
        if ok {
            score.passed += 1;
        }
    }
    Ok(score)
}

fn text(row: &Value, key: &str) -> String {
    row.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn compare_ops(folder: &Path, failures: &mut Vec<String>) -> Result<Score> {
    let path = folder.join("derived/check_test_test.TestCompareOp.json");
    let rows: Vec<Value> = serde_json::from_str(&fs::read_to_string(&path)?).context("TestCompareOp.json")?;
    let mut score = Score::default();
    for row in &rows {
        score.total += 1;
        let (sentence, verdict) = compare(
            &text(row, "op"),
            &text(row, "flagVal"),
            &text(row, "compareValue"),
            &text(row, "flagName"),
        );
        let want_sentence = text(row, "expectedResultPattern");
        let want_verdict = row.get("testResult").and_then(Value::as_bool).unwrap_or(false);
        if sentence == want_sentence && verdict == want_verdict {
            score.passed += 1;
        } else {
            failures.push(format!(
                "compare-op {:?}: got ({sentence:?}, {verdict}), expected ({want_sentence:?}, {want_verdict})",
                text(row, "label")
            ));
        }
    }
    Ok(score)
}

fn test_execute(folder: &Path, failures: &mut Vec<String>) -> Result<Score> {
    let path = folder.join("derived/check_test_test.TestTestExecute.json");
    let rows: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(&path)?).context("TestTestExecute.json")?;
    let data_path = folder.join("check/data");
    let user = std::env::var("USER").unwrap_or_default();
    let data = fs::read_to_string(&data_path)?.replace("$user", &user);
    let controls = Controls::parse(&data_path, &data)?;
    let mut score = Score::default();
    for row in &rows {
        score.total += 1;
        let g = row["check"]["group_index"].as_u64().unwrap_or(0) as usize;
        let i = row["check"]["check_index"].as_u64().unwrap_or(0) as usize;
        let Some(check) = controls.groups.get(g).and_then(|g| g.checks.get(i)) else {
            failures.push(format!("test-execute: no check {g}/{i} in check/data"));
            continue;
        };
        let outputs = AuditOutputs {
            audit: text(row, "str"),
            config: text(row, "strConfig"),
            env: text(row, "strEnv"),
        };
        let want = text(row, "expectedTestResult");
        match check.execute(&outputs) {
            Ok(outcome) if outcome.pass && outcome.expected == want => score.passed += 1,
            Ok(outcome) => failures.push(format!(
                "test-execute {} ({:?}): got ({}, {:?}), expected (true, {want:?})",
                check.id, outputs.audit, outcome.pass, outcome.expected
            )),
            Err(e) => failures.push(format!("test-execute {}: {e}", check.id)),
        }
    }
    Ok(score)
}
