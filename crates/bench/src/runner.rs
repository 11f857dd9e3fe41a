//! Running a kube-bench benchmark folder on a node: find the components, substitute the
//! `$variables`, run the audit commands and evaluate the tests.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::audit::AuditRunner;
use crate::config::{BenchConfig, FILE_KINDS};
use crate::controls::{read, Check, Controls};
use crate::evaluate::{AuditOutputs, Status};
use crate::node::NodeView;
use crate::BenchError;

/// The result of one check, with everything kube-bench's JSON shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// Check id (`4.2.1`).
    pub id: String,
    /// Title.
    pub text: String,
    /// Verdict.
    pub status: Status,
    /// Scored checks fail, unscored ones warn.
    pub scored: bool,
    /// `manual`, `skip` or empty.
    pub kind: String,
    /// The audit command after substitution.
    pub audit: String,
    /// The config audit command.
    pub audit_config: String,
    /// The environment audit command.
    pub audit_env: String,
    /// How to fix it.
    pub remediation: String,
    /// The output the tests were decided on.
    pub actual_value: String,
    /// The expectation in kube-bench's words.
    pub expected_result: String,
    /// Why the check could not be evaluated normally.
    pub reason: String,
    /// `use_multiple_values`.
    pub use_multiple_values: bool,
}

/// The results of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    /// Group id.
    pub id: String,
    /// Title.
    pub text: String,
    /// Check results.
    pub checks: Vec<CheckResult>,
}

/// The results of one controls file (one target).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlsResult {
    /// Section id.
    pub id: String,
    /// Benchmark version written in the file.
    pub version: String,
    /// Kubernetes version detected (or given), when known.
    pub detected_version: Option<String>,
    /// Title.
    pub text: String,
    /// Target type.
    pub node_type: String,
    /// Group results.
    pub groups: Vec<GroupResult>,
}

/// Replaces `$<name><suffix>` by its value in `text`; multi-word values are single-quoted.
/// Longer names go first so that one name that prefixes another cannot clip it.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = text.to_string();
    for name in names {
        let value = &vars[name];
        if value.is_empty() {
            continue;
        }
        let value =
            if value.split_whitespace().count() > 1 { format!("'{value}'") } else { value.to_string() };
        out = out.replace(&format!("${name}"), &value);
    }
    out
}

/// The variables of a target: `$<component>bin` for the program found running (else the
/// component name), and `$<component>conf`/`svc`/`kubeconfig`/`cafile`/`datadir` for the
/// first candidate file that exists (else the default, else the component name).
/// Also returns the binaries substituted, for the default environment audit.
pub fn variables(
    config: &BenchConfig,
    target: &str,
    node: &NodeView,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut vars = BTreeMap::new();
    let mut bins_found = Vec::new();
    for component in config.components(target) {
        if !component.bins.is_empty() {
            let candidates: Vec<&str> = component.bins.iter().map(String::as_str).collect();
            let bin = match node.find(&candidates) {
                Some((bin, _)) => {
                    bins_found.push(bin.to_string());
                    bin.to_string()
                }
                None => component.name.clone(),
            };
            vars.insert(format!("{}bin", component.name), bin);
        }
        for (suffix, _, _) in FILE_KINDS {
            let (candidates, default) = &component.files[*suffix];
            let found = candidates.iter().find(|c| node.host_path(c).exists()).cloned();
            let value = found.or_else(|| default.clone()).unwrap_or_else(|| component.name.clone());
            // Offline copies: audits read the copy, not this machine's files.
            vars.insert(format!("{}{suffix}", component.name), node.host_path(&value).display().to_string());
        }
    }
    (vars, bins_found)
}

/// Runs the targets of a benchmark. A target whose file is missing or broken is an error;
/// the other targets still run.
pub fn run_benchmark(
    config: &BenchConfig,
    benchmark: &str,
    targets: &[String],
    node: &NodeView,
    runner: &AuditRunner,
    detected_version: Option<&str>,
) -> (Vec<ControlsResult>, Vec<BenchError>) {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for target in targets {
        let path = config.benchmark_dir(benchmark).join(format!("{target}.yaml"));
        match run_target(config, target, &path, node, runner, detected_version) {
            Ok(r) => results.push(r),
            Err(e) => errors.push(e),
        }
    }
    (results, errors)
}

fn run_target(
    config: &BenchConfig,
    target: &str,
    path: &Path,
    node: &NodeView,
    runner: &AuditRunner,
    detected_version: Option<&str>,
) -> Result<ControlsResult, BenchError> {
    let text = read(path)?;
    let (vars, bins) = variables(config, target, node);
    let controls = Controls::parse(path, &substitute(&text, &vars))?;
    let groups = controls
        .groups
        .iter()
        .map(|g| GroupResult {
            id: g.id.clone(),
            text: g.text.clone(),
            checks: g.checks.iter().map(|c| run_check(c, g.kind == "skip", &bins, runner)).collect(),
        })
        .collect();
    Ok(ControlsResult {
        id: controls.id,
        version: controls.version,
        detected_version: detected_version.map(str::to_string),
        text: controls.text,
        node_type: controls.node_type,
        groups,
    })
}

/// Runs one check's audits and evaluates it.
pub fn run_check(check: &Check, group_skipped: bool, bins: &[String], runner: &AuditRunner) -> CheckResult {
    let mut check = check.clone();
    if group_skipped {
        check.kind = "skip".into();
    }
    // kube-bench reads a test's `env` from the component's environment when the check names
    // no `audit_env` and exactly one program was found.
    let wants_env = check.tests.as_ref().is_some_and(|t| t.items.iter().any(|i| !i.env.is_empty()));
    if wants_env && check.audit_env.is_empty() {
        let bin = if bins.len() == 1 { bins[0].as_str() } else { "" };
        check.audit_env =
            format!("cat \"/proc/$(/bin/ps -C {bin} -o pid= | tr -d ' ')/environ\" | tr '\\0' '\\n'");
    }
    let mut result = CheckResult {
        id: check.id.clone(),
        text: check.text.clone(),
        status: Status::Warn,
        scored: check.scored,
        kind: check.kind.clone(),
        audit: check.audit.clone(),
        audit_config: check.audit_config.clone(),
        audit_env: check.audit_env.clone(),
        remediation: check.remediation.clone(),
        actual_value: String::new(),
        expected_result: String::new(),
        reason: String::new(),
        use_multiple_values: check.use_multiple_values,
    };
    if let Some((status, reason)) = check.static_status(false) {
        result.status = status;
        result.reason = reason.into();
        return result;
    }
    let failed = if check.scored { Status::Fail } else { Status::Warn };
    let outputs = match run_audits(&check, runner) {
        Ok(o) => o,
        Err(reason) => {
            result.status = failed;
            result.reason = reason;
            return result;
        }
    };
    match check.execute(&outputs) {
        Ok(outcome) => {
            result.status = if outcome.pass { Status::Pass } else { failed };
            result.actual_value = outcome.actual;
            result.expected_result = outcome.expected;
        }
        Err(reason) => {
            result.status = failed;
            result.reason = reason;
        }
    }
    result
}

fn run_audits(check: &Check, runner: &AuditRunner) -> Result<AuditOutputs, String> {
    let env = runner.run(&check.audit_env).map_err(|e| e.to_string())?;
    let audit = runner.run(&check.audit).map_err(|e| e.to_string())?;
    let config = match runner.run(&check.audit_config) {
        Ok(out) => out,
        // A missing config file is fine when the command line (or environment) said enough.
        Err(e)
            if (e.error == "exit status 127" || e.output.contains("No such file or directory"))
                && (!env.is_empty() || !audit.is_empty()) =>
        {
            String::new()
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(AuditOutputs { audit, config, env })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_quotes_multi_word_values() {
        let mut vars = BTreeMap::new();
        vars.insert("kubeletbin".to_string(), "hyperkube kubelet".to_string());
        vars.insert("kubeletconf".to_string(), "/var/lib/kubelet/config.yaml".to_string());
        vars.insert("kubelet".to_string(), String::new());
        assert_eq!(
            substitute("ps -fC $kubeletbin; cat $kubeletconf", &vars),
            "ps -fC 'hyperkube kubelet'; cat /var/lib/kubelet/config.yaml"
        );
    }
}
