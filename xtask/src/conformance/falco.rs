//! falco-k8saudit: Falco's k8s audit regression cases replayed with `kubesecops-runtime`.
//!
//! Two parts:
//! - `falco-legacy-tests/derived_k8s_audit_cases.json`: every case replays its trace with its
//!   rule files, in order, with Falco's default first-match strategy. A case passes when the
//!   alert count of every rule in `detect_counts` is exact and an alert has `detect_level`
//!   (for `detect: true`), or when there is no alert at all (for `detect: false`). Rule paths
//!   map as the issue says: `BUILD_DIR/.../falco_rules.yaml` is `falco-rules/rules/`,
//!   `BUILD_DIR/.../k8s_audit_rules.yaml` is the 0.6.0 plugin rules, `./rules/...` is
//!   `falco-legacy-tests/test/rules/...`.
//! - Loading: the current rule files must load and run: `falco_rules.yaml` with the HEAD
//!   `k8s_audit_rules.yaml` (replaying every trace without an input error), the GKE overlay on
//!   top of the GKE copy, and the incubating and sandbox syscall rules. Syscall rules compile
//!   for the `syscall` source; the ones using fields this engine lacks are listed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use kubesecops_runtime::{event, Alert, Matching, Priority, RuleLoader, Ruleset};
use serde_json::Value;

use super::{Score, Suite};

/// The goal, and the gate, is every case (see docs/conformance.md for the four cases that rely
/// on our defining a list that is appended to before it exists, which Falco refuses).
pub const SUITE: Suite = Suite { name: "falco-k8saudit", folder: "falco-k8saudit", goal_percent: 100.0, run };

const CASES: &str = "falco-legacy-tests/derived_k8s_audit_cases.json";
const TESTS_DIR: &str = "falco-legacy-tests";
const FALCO_RULES: &str = "falco-rules/rules/falco_rules.yaml";
const K8S_RULES_060: &str = "plugins-k8saudit-0.6.0/plugins/k8saudit/rules/k8s_audit_rules.yaml";
const K8S_RULES_HEAD: &str = "plugins-HEAD/plugins/k8saudit/rules/k8s_audit_rules.yaml";

fn run(folder: &Path) -> Result<Score> {
    let cases = legacy_cases(folder)?;
    let loading = loading_checks(folder)?;
    let filter = open_filter_checks(folder)?;
    println!(
        "falco-k8saudit: legacy cases {}/{}, loading checks {}/{}, open filter checks {}/{}",
        cases.passed, cases.total, loading.passed, loading.total, filter.passed, filter.total
    );
    Ok(Score {
        passed: cases.passed + loading.passed + filter.passed,
        total: cases.total + loading.total + filter.total,
    })
}

/// The sensor's kernel filter for opens, derived from Falco's syscall rule files, loses no
/// alert: every sample open a rule matches (opens of the paths the rules name, extended and
/// reached through `..`, in every mode, by several processes, on the host and in a container)
/// passes the filter. A rule set whose rules can match any open gets no filter, which passes.
fn open_filter_checks(folder: &Path) -> Result<Score> {
    use kubesecops_runtime::pathfilter::{check_opens, sample_paths, OpenInterest};
    let mut score = Score::default();
    let falco = folder.join(FALCO_RULES);
    let sets = [
        ("falco_rules.yaml", vec![falco.clone()]),
        (
            "falco_rules.yaml + falco-incubating_rules.yaml",
            vec![falco.clone(), folder.join("falco-rules/rules/falco-incubating_rules.yaml")],
        ),
        (
            "falco_rules.yaml + falco-sandbox_rules.yaml",
            vec![falco.clone(), folder.join("falco-rules/rules/falco-sandbox_rules.yaml")],
        ),
    ];
    for (name, files) in sets {
        score.total += 1;
        let rules = match load_rules(&files) {
            Ok(rules) => rules,
            Err(err) => {
                println!("  MISS open filter of {name}: {err:#}");
                continue;
            }
        };
        let interest = rules.open_interest();
        let shape = match &interest {
            OpenInterest::All { rule } => format!("every open (rule '{rule}' can match any path)"),
            OpenInterest::Paths(shapes) => {
                format!("{} prefix(es), {} suffix(es)", shapes.prefixes.len(), shapes.suffixes.len())
            }
        };
        let check = check_opens(&rules, &interest, &sample_paths(&rules));
        if check.missed.is_empty() {
            score.passed += 1;
            println!(
                "  ok   open filter of {name}: {shape}; {} sample opens, {} matched, {} kept in the kernel, none matched",
                check.opens, check.matched, check.filtered
            );
        } else {
            println!(
                "  MISS open filter of {name}: {shape}; matched opens it would drop: {:?}",
                check.missed
            );
        }
    }
    Ok(score)
}

/// Maps a rule path of the case file to the suite folder.
fn rule_path(folder: &Path, path: &str) -> Result<PathBuf> {
    if let Some(rest) = path.strip_prefix("./rules/") {
        return Ok(folder.join(TESTS_DIR).join("test/rules").join(rest));
    }
    if path.starts_with("BUILD_DIR/") {
        if path.ends_with("/falco_rules.yaml") {
            return Ok(folder.join(FALCO_RULES));
        }
        if path.ends_with("/k8s_audit_rules.yaml") {
            return Ok(folder.join(K8S_RULES_060));
        }
    }
    bail!("no mapping for rule path {path}")
}

fn load_rules(paths: &[PathBuf]) -> Result<Ruleset> {
    let mut loader = RuleLoader::new();
    for path in paths {
        loader.load_file(path)?;
    }
    Ok(loader.compile()?)
}

/// Replays a trace; returns the alerts and the number of input errors.
fn replay(rules: &Ruleset, trace: &Path) -> Result<(Vec<Alert>, usize)> {
    let text = std::fs::read_to_string(trace).with_context(|| format!("reading {}", trace.display()))?;
    let mut alerts = Vec::new();
    let mut errors = 0;
    for doc in event::documents(&text) {
        let Ok(value) = doc.value else {
            errors += 1;
            continue;
        };
        for event in event::events_in(&value) {
            match event {
                Ok(event) => {
                    rules.evaluate_into(&event, &mut alerts);
                }
                Err(_) => errors += 1,
            }
        }
    }
    Ok((alerts, errors))
}

fn legacy_cases(folder: &Path) -> Result<Score> {
    let path = folder.join(CASES);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let cases: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let cases = cases.as_array().context("the case file is not an array")?;
    let mut score = Score::default();
    let mut with_all = 0;
    for case in cases {
        score.total += 1;
        let name = case["name"].as_str().unwrap_or("?");
        match check_case(folder, case, Matching::First) {
            Ok(None) => score.passed += 1,
            Ok(Some(why)) => println!("  MISS {name}: {why}"),
            Err(err) => println!("  MISS {name}: {err:#}"),
        }
        if matches!(check_case(folder, case, Matching::All), Ok(None)) {
            with_all += 1;
        }
    }
    println!("falco-k8saudit legacy cases: {}/{}", score.passed, score.total);
    println!(
        "  (information: with rule_matching all instead of Falco's default first: {with_all}/{})",
        score.total
    );
    Ok(score)
}

/// `None` when the case passes, else why it does not.
fn check_case(folder: &Path, case: &Value, matching: Matching) -> Result<Option<String>> {
    let rule_files = case["rules_file"]
        .as_array()
        .context("rules_file is not a list")?
        .iter()
        .map(|p| rule_path(folder, p.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>>>()?;
    let trace = folder.join(TESTS_DIR).join(case["trace_file"].as_str().context("no trace_file")?);
    let rules = load_rules(&rule_files)?.with_matching(matching);
    let (alerts, errors) = replay(&rules, &trace)?;
    if errors > 0 {
        return Ok(Some(format!("{errors} input error(s) in the trace")));
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for alert in &alerts {
        *counts.entry(alert.rule.name.as_str()).or_default() += 1;
    }
    if case["detect"].as_bool() != Some(true) {
        return Ok((!alerts.is_empty()).then(|| format!("expected no alert, got {counts:?}")));
    }
    let mut problems = Vec::new();
    for expected in case["detect_counts"].as_array().into_iter().flatten() {
        for (rule, want) in expected.as_object().into_iter().flatten() {
            let got = counts.get(rule.as_str()).copied().unwrap_or(0);
            if Some(got as u64) != want.as_u64() {
                problems.push(format!("{rule}: {got} alert(s), expected {want}"));
            }
        }
    }
    if alerts.is_empty() {
        problems.push("no alert".into());
    }
    if let Some(level) = case["detect_level"].as_str() {
        let level = Priority::parse(level).with_context(|| format!("unknown detect_level {level}"))?;
        if !alerts.iter().any(|a| a.rule.priority == level) {
            problems.push(format!("no alert at priority {level}"));
        }
    }
    Ok((!problems.is_empty()).then(|| format!("{} (alerts: {counts:?})", problems.join("; "))))
}

fn loading_checks(folder: &Path) -> Result<Score> {
    let mut score = Score::default();
    let traces: Vec<PathBuf> = {
        let dir = folder.join(TESTS_DIR).join("test/trace_files/k8s_audit");
        let mut list: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        list.sort();
        list
    };
    let falco = folder.join(FALCO_RULES);
    let checks: Vec<(&str, Vec<PathBuf>, bool)> = vec![
        (
            "falco_rules.yaml + HEAD k8s_audit_rules.yaml, replaying every trace",
            vec![falco.clone(), folder.join(K8S_RULES_HEAD)],
            true,
        ),
        (
            // The GKE plugin's k8s_audit_rules.yaml is a symlink to the k8saudit one (stored as
            // its target path in the suite), so the overlay goes on top of that.
            "HEAD k8s_audit_rules.yaml with the k8saudit-gke overlay",
            vec![
                falco.clone(),
                folder.join(K8S_RULES_HEAD),
                folder.join("plugins-HEAD/plugins/k8saudit-gke/rules/k8s_audit_rules_gke.yaml"),
            ],
            true,
        ),
        (
            "falco-incubating_rules.yaml over falco_rules.yaml",
            vec![falco.clone(), folder.join("falco-rules/rules/falco-incubating_rules.yaml")],
            false,
        ),
        (
            "falco-sandbox_rules.yaml over falco_rules.yaml",
            vec![falco.clone(), folder.join("falco-rules/rules/falco-sandbox_rules.yaml")],
            false,
        ),
    ];
    for (name, files, replay_all) in checks {
        score.total += 1;
        let outcome = load_rules(&files).and_then(|rules| {
            let mut alerts = 0;
            if replay_all {
                for trace in &traces {
                    let (found, errors) = replay(&rules, trace)?;
                    if errors > 0 {
                        bail!("{errors} input error(s) in {}", trace.display());
                    }
                    alerts += found.len();
                }
            }
            Ok((rules, alerts))
        });
        match outcome {
            Ok((rules, alerts)) => {
                score.passed += 1;
                let stats = rules.stats();
                let skipped: usize = stats.skipped_by_source.values().sum();
                let replayed = if replay_all {
                    format!(", {alerts} alert(s) over {} traces", traces.len())
                } else {
                    String::new()
                };
                println!(
                    "  ok   {name}: {} k8s_audit rule(s), {} of {} syscall rule(s) compiled, {skipped} of other sources skipped{replayed}",
                    stats.audit_rules,
                    stats.syscall_rules,
                    stats.syscall_rules + stats.syscall_unsupported.len(),
                );
                for (rule, reason) in &stats.syscall_unsupported {
                    println!("         syscall rule not evaluated: {rule}: {reason}");
                }
            }
            Err(err) => println!("  MISS {name}: {err:#}"),
        }
    }
    Ok(score)
}
