//! A run's outcome as Prometheus metrics, in the text exposition format (version 0.0.4): what
//! node_exporter's textfile collector reads and a Pushgateway accepts, so CI and scheduled
//! scans can be graphed and alerted on like the in-cluster services.
//!
//! Every series carries the `command` label (`scan`, `image`, ...) and the run's own labels.
//! Counts by severity are written for every severity, zero included, so that "no finding" and
//! "no data" stay apart in queries; a run that failed before its findings (a report without
//! `findings`) writes none of the finding series, only the run's exit code, time and errors.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kubesecops_core::exposition::escape_label;
use kubesecops_core::{Report, Severity};

/// What is known of a run beyond its report.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// The subcommand (`scan`, `image`, `secrets`, ...): the `command` label.
    pub command: &'a str,
    /// Labels added to every series (`--metrics-label NAME=VALUE`), names already valid.
    pub labels: &'a [(String, String)],
    /// The exit code the run ends with.
    pub exit_code: u8,
    /// Wall-clock time of the run.
    pub duration: Duration,
    /// When the run ended.
    pub finished: SystemTime,
}

/// Whether `name` is a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__…`,
/// which Prometheus reserves).
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// Writes the metrics of `report` and `run` to `out`.
pub fn render(report: &Report, run: &Run<'_>, out: &mut impl Write) -> io::Result<()> {
    let mut common = format!("command=\"{}\"", escape_label(run.command));
    for (name, value) in run.labels {
        common.push_str(&format!(",{name}=\"{}\"", escape_label(value)));
    }
    let findings = report.findings.as_deref().unwrap_or_default();
    let mut by_rule: BTreeMap<(&str, Severity), u64> = BTreeMap::new();
    let mut by_severity: BTreeMap<Severity, u64> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    let mut by_namespace: BTreeMap<(&str, Severity), u64> = BTreeMap::new();
    for finding in findings {
        *by_rule.entry((finding.rule.id.as_str(), finding.severity)).or_default() += 1;
        *by_severity.entry(finding.severity).or_default() += 1;
        if let Some(namespace) =
            finding.object.as_deref().map(|o| o.namespace.as_str()).filter(|n| !n.is_empty())
        {
            *by_namespace.entry((namespace, finding.severity)).or_default() += 1;
        }
    }

    // A run that failed before it had findings (`findings` absent) writes no finding series:
    // zeros would read as a clean result.
    if report.findings.is_some() {
        header(out, "kubesecops_findings", "Findings of the last run, by rule and severity.")?;
        for ((rule, severity), count) in &by_rule {
            writeln!(
                out,
                "kubesecops_findings{{{common},rule=\"{}\",severity=\"{severity}\"}} {count}",
                escape_label(rule)
            )?;
        }
        header(
            out,
            "kubesecops_findings_by_severity",
            "Findings of the last run by severity, zero included.",
        )?;
        for (severity, count) in &by_severity {
            writeln!(out, "kubesecops_findings_by_severity{{{common},severity=\"{severity}\"}} {count}")?;
        }
        header(
            out,
            "kubesecops_findings_by_namespace",
            "Findings of the last run on namespaced objects, by namespace and severity.",
        )?;
        for ((namespace, severity), count) in &by_namespace {
            writeln!(
                out,
                "kubesecops_findings_by_namespace{{{common},namespace=\"{}\",severity=\"{severity}\"}} {count}",
                escape_label(namespace)
            )?;
        }
    }
    header(out, "kubesecops_input_errors", "Inputs the last run could not read or parse.")?;
    writeln!(out, "kubesecops_input_errors{{{common}}} {}", report.errors.len())?;
    let database = report.sections.get("database");
    if let Some(age) = database.and_then(|d| d.get("ageSeconds")).and_then(|a| a.as_u64()) {
        header(
            out,
            "kubesecops_vulndb_age_seconds",
            "Age of the vulnerability database the last run matched against.",
        )?;
        writeln!(out, "kubesecops_vulndb_age_seconds{{{common}}} {age}")?;
    }
    header(
        out,
        "kubesecops_last_run_exit_code",
        "Exit code of the last run: 0 clean, 1 findings at or above --fail-on, 2 errors.",
    )?;
    writeln!(out, "kubesecops_last_run_exit_code{{{common}}} {}", run.exit_code)?;
    header(out, "kubesecops_last_run_duration_seconds", "Wall-clock duration of the last run.")?;
    writeln!(out, "kubesecops_last_run_duration_seconds{{{common}}} {:.3}", run.duration.as_secs_f64())?;
    header(
        out,
        "kubesecops_last_run_timestamp_seconds",
        "When the last run ended (Unix time): alert when it is too old.",
    )?;
    let finished = run.finished.duration_since(UNIX_EPOCH).unwrap_or_default();
    writeln!(out, "kubesecops_last_run_timestamp_seconds{{{common}}} {:.3}", finished.as_secs_f64())
}

fn header(out: &mut impl Write, name: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_core::{Finding, Location, ObjectRef, ReportError, RuleRef};

    use super::*;

    fn finding(rule: &str, severity: Severity, namespace: Option<&str>) -> Finding {
        Finding {
            rule: Arc::new(RuleRef { id: rule.to_string(), aliases: Vec::new(), title: String::new() }),
            severity,
            message: "message".to_string(),
            location: Location { path: "a.yaml".into(), line: Some(1), column: Some(1) },
            object: namespace.map(|n| {
                Arc::new(ObjectRef {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    namespace: n.into(),
                    name: "p".into(),
                })
            }),
            fingerprint: String::new(),
            vcs: None,
            package: None,
            fixed_version: None,
        }
    }

    fn text(report: &Report, labels: &[(String, String)]) -> String {
        let run = Run {
            command: "scan",
            labels,
            exit_code: 1,
            duration: Duration::from_millis(1500),
            finished: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        };
        let mut out = Vec::new();
        render(report, &run, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn counts_by_rule_severity_and_namespace_with_every_severity_present() {
        let report = Report::with_findings(
            vec![
                finding("KSO-C001", Severity::High, Some("prod")),
                finding("KSO-C001", Severity::High, Some("prod")),
                finding("KSO-C002", Severity::Low, Some("dev")),
                finding("KSO-S001", Severity::Critical, None),
            ],
            vec![ReportError::at("bad.yaml", Some(3), "not YAML")],
        );
        let text = text(&report, &[("repo".to_string(), "a\"b".to_string())]);
        let c = r#"command="scan",repo="a\"b""#;
        for line in [
            format!("kubesecops_findings{{{c},rule=\"KSO-C001\",severity=\"HIGH\"}} 2"),
            format!("kubesecops_findings{{{c},rule=\"KSO-C002\",severity=\"LOW\"}} 1"),
            format!("kubesecops_findings_by_severity{{{c},severity=\"MEDIUM\"}} 0"),
            format!("kubesecops_findings_by_severity{{{c},severity=\"CRITICAL\"}} 1"),
            format!("kubesecops_findings_by_namespace{{{c},namespace=\"prod\",severity=\"HIGH\"}} 2"),
            format!("kubesecops_input_errors{{{c}}} 1"),
            format!("kubesecops_last_run_exit_code{{{c}}} 1"),
            format!("kubesecops_last_run_duration_seconds{{{c}}} 1.500"),
            format!("kubesecops_last_run_timestamp_seconds{{{c}}} 1800000000.000"),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        // A finding without a namespace is in no namespace series.
        assert_eq!(
            text.lines().filter(|l| l.starts_with("kubesecops_findings_by_namespace{")).count(),
            2,
            "{text}"
        );
        // Every series has one HELP and one TYPE line.
        assert_eq!(text.matches("# TYPE ").count(), 7, "{text}");
    }

    #[test]
    fn a_run_that_failed_before_its_findings_writes_no_finding_series() {
        let report = Report {
            schema_version: kubesecops_core::SCHEMA_VERSION,
            findings: None,
            sections: Default::default(),
            errors: vec![ReportError::at("scan", None, "--policy-key k.pub: cannot read")],
        };
        let text = text(&report, &[]);
        assert!(!text.contains("kubesecops_findings"), "{text}");
        assert!(text.lines().any(|l| l == r#"kubesecops_input_errors{command="scan"} 1"#), "{text}");
        assert!(text.lines().any(|l| l == r#"kubesecops_last_run_exit_code{command="scan"} 1"#), "{text}");
    }

    #[test]
    fn the_database_age_is_a_series_when_the_report_has_one() {
        let mut report = Report::with_findings(Vec::new(), Vec::new());
        assert!(!text(&report, &[]).contains("kubesecops_vulndb_age_seconds"));
        report.sections.insert("database".to_string(), serde_json::json!({"ageSeconds": 86400}));
        assert!(text(&report, &[])
            .lines()
            .any(|l| l == r#"kubesecops_vulndb_age_seconds{command="scan"} 86400"#));
    }

    #[test]
    fn the_scans_dashboard_names_only_rendered_metrics() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/grafana/kubesecops-scans.json");
        let dashboard = std::fs::read_to_string(path).unwrap();
        let mut report = Report::with_findings(vec![finding("R", Severity::Low, Some("n"))], Vec::new());
        report.sections.insert("database".to_string(), serde_json::json!({"ageSeconds": 1}));
        let rendered = text(&report, &[]);
        let mut used = 0;
        for (start, _) in dashboard.match_indices("kubesecops_") {
            let tail = &dashboard[start..];
            let name =
                &tail[..tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len())];
            assert!(rendered.contains(&format!("# TYPE {name} gauge")), "{name} is not rendered");
            used += 1;
        }
        assert!(used >= 10, "{used}");
    }

    #[test]
    fn label_names_follow_prometheus() {
        assert!(is_label_name("repo") && is_label_name("_x9"));
        assert!(
            !is_label_name("9x") && !is_label_name("a-b") && !is_label_name("__name") && !is_label_name("")
        );
    }
}
