//! Reports: node results as the shared envelope's `results` plus `findings`, and kube-bench's
//! own JSON layout (`{"Controls": [...], "Totals": {...}}`) for dashboards that read it.

use std::sync::Arc;

use kubesecops_core::{fingerprint, Finding, Location, RuleRef, Severity};
use serde_json::{json, Value};

use crate::builtin::NodeResult;
use crate::evaluate::Status;
use crate::runner::{CheckResult, ControlsResult};

/// kube-bench results as node results (one per check).
pub fn results_of_controls(controls: &[ControlsResult]) -> Vec<NodeResult> {
    let mut out = Vec::new();
    for c in controls {
        for g in &c.groups {
            for check in &g.checks {
                let mut message = check.expected_result.clone();
                if !check.reason.is_empty() {
                    if !message.is_empty() {
                        message.push_str("; ");
                    }
                    message.push_str(&check.reason);
                }
                out.push(NodeResult {
                    id: check.id.clone(),
                    title: check.text.clone(),
                    status: check.status,
                    cis: check.id.clone(),
                    aliases: vec![format!("kube-bench:{}:{}", c.version, check.id)],
                    severity: if check.scored { Severity::Medium } else { Severity::Low },
                    component: c.node_type.clone(),
                    message,
                    remediation: if check.status == Status::Pass {
                        String::new()
                    } else {
                        check.remediation.clone()
                    },
                    path: None,
                    line: None,
                });
            }
        }
    }
    out
}

/// Findings for FAIL and WARN results (WARN at LOW severity: it needs a look, it is not a
/// known weakness).
pub fn findings(results: &[NodeResult]) -> Vec<Finding> {
    results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn))
        .map(|r| {
            let rule =
                Arc::new(RuleRef { id: r.id.clone(), aliases: r.aliases.clone(), title: r.title.clone() });
            let path: Arc<str> = match &r.path {
                Some(p) => p.as_str().into(),
                None => format!("node://{}", r.component).into(),
            };
            Finding {
                severity: if r.status == Status::Fail { r.severity } else { Severity::Low },
                message: format!("{}: {}", r.status.as_str(), r.message),
                fingerprint: fingerprint(&r.id, &path, None, &r.message),
                location: Location { path, line: r.line, column: None },
                object: None,
                rule,
                vcs: None,
                package: None,
                fixed_version: None,
            }
        })
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Tally {
    pass: usize,
    fail: usize,
    warn: usize,
    info: usize,
}

impl Tally {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Warn => self.warn += 1,
            Status::Info => self.info += 1,
        }
    }
}

fn check_json(c: &CheckResult) -> Value {
    json!({
        "test_number": c.id,
        "test_desc": c.text,
        "audit": c.audit,
        "AuditEnv": c.audit_env,
        "AuditConfig": c.audit_config,
        "type": c.kind,
        "remediation": c.remediation,
        "test_info": [c.remediation],
        "status": c.status.as_str(),
        "actual_value": c.actual_value,
        "scored": c.scored,
        "IsMultiple": c.use_multiple_values,
        "expected_result": c.expected_result,
        "reason": c.reason,
    })
}

/// kube-bench's JSON: one entry per controls file with per-group and total counts.
pub fn kube_bench_json(controls: &[ControlsResult]) -> Value {
    let mut totals = Tally::default();
    let mut out = Vec::new();
    for c in controls {
        let mut summary = Tally::default();
        let groups: Vec<Value> = c
            .groups
            .iter()
            .map(|g| {
                let mut t = Tally::default();
                g.checks.iter().for_each(|ch| t.add(ch.status));
                summary.pass += t.pass;
                summary.fail += t.fail;
                summary.warn += t.warn;
                summary.info += t.info;
                json!({
                    "section": g.id, "type": "", "pass": t.pass, "fail": t.fail, "warn": t.warn, "info": t.info,
                    "desc": g.text, "results": g.checks.iter().map(check_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        totals.pass += summary.pass;
        totals.fail += summary.fail;
        totals.warn += summary.warn;
        totals.info += summary.info;
        let mut entry = json!({
            "id": c.id, "version": c.version, "text": c.text, "node_type": c.node_type, "tests": groups,
            "total_pass": summary.pass, "total_fail": summary.fail, "total_warn": summary.warn,
            "total_info": summary.info,
        });
        if let Some(v) = &c.detected_version {
            entry["detected_version"] = json!(v);
        }
        out.push(entry);
    }
    json!({
        "Controls": out,
        "Totals": {"total_pass": totals.pass, "total_fail": totals.fail, "total_warn": totals.warn, "total_info": totals.info},
    })
}

/// Built-in results in kube-bench's layout: one controls entry, one group per component.
pub fn builtin_as_controls(results: &[NodeResult], detected_version: Option<String>) -> ControlsResult {
    let mut groups: Vec<crate::runner::GroupResult> = Vec::new();
    for r in results {
        let check = CheckResult {
            id: r.id.clone(),
            text: r.title.clone(),
            status: r.status,
            scored: true,
            kind: String::new(),
            audit: String::new(),
            audit_config: String::new(),
            audit_env: String::new(),
            remediation: r.remediation.clone(),
            actual_value: r.message.clone(),
            expected_result: format!("CIS {}", r.cis),
            reason: String::new(),
            use_multiple_values: false,
        };
        match groups.iter_mut().find(|g| g.id == r.component) {
            Some(g) => g.checks.push(check),
            None => groups.push(crate::runner::GroupResult {
                id: r.component.clone(),
                text: r.component.clone(),
                checks: vec![check],
            }),
        }
    }
    ControlsResult {
        id: "KSO".into(),
        version: "kubesecops-builtin".into(),
        detected_version,
        text: "kubesecops built-in node checks".into(),
        node_type: "node".into(),
        groups,
    }
}
