//! `kubesecops runtime`: Falco-compatible detection on Kubernetes audit events.
//!
//! `replay` evaluates rule files over recorded events (JSON lines of `Event`s or `EventList`
//! documents) and prints one JSON object per alert per line. `serve` is the audit webhook
//! backend (and audit log follower) with alert outputs, metrics and evidence. Both use the
//! built-in rules when no `--rules` file is given.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use std::str::FromStr;
use std::sync::Arc;

use kubesecops_core::{fingerprint, Finding, Location, ObjectRef, Report, ReportError, RuleRef, Severity};
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_runtime::{builtin, event, Alert, AuditEvent, Matching, Priority, RuleLoader, Ruleset};
use kubesecops_runtime_serve::{follow::StartAt, outputs::WebhookPolicy, ServeConfig};
use kubesecops_trust::TrustedKeys;

use crate::{output, Status};

/// Flags of `kubesecops runtime`.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    #[command(subcommand)]
    pub command: RuntimeCommand,
}

/// The `runtime` subcommands.
#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Evaluate Falco rules over recorded audit events (JSON lines of Events, or EventList
    /// documents; `-` for stdin), or over syscall captures with `--source syscall`. Alerts go
    /// to stdout as JSON lines, a summary to stderr.
    Replay(ReplayArgs),
    /// Serve the Kubernetes audit webhook (POST /k8s-audit), follow an audit log file,
    /// expose /metrics and /healthz; alerts to stdout, a file and webhooks.
    Serve(ServeArgs),
    /// Watch this node's system calls with eBPF (root or CAP_BPF+CAP_PERFMON; built with
    /// `--features ebpf`) and evaluate Falco syscall rules; alerts to stdout as JSON lines.
    Sensor(super::runtime_syscall::SensorArgs),
}

/// Which rules fire when several match one event.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RuleMatching {
    /// The first matching rule in load order (Falco's default).
    First,
    /// Every matching rule.
    All,
}

/// The event source a replay reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventSource {
    /// Kubernetes audit events.
    #[value(name = "k8s_audit", alias = "k8s-audit")]
    K8sAudit,
    /// Syscall captures (`runtime sensor --capture`), JSON lines of SyscallEvent.
    Syscall,
}

/// Flags of `kubesecops runtime replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The kind of events: Kubernetes audit events, or syscall captures.
    #[arg(long, value_enum, default_value = "k8s_audit")]
    pub source: EventSource,
    /// A Falco rules file; repeat the flag for several, later files amend earlier ones.
    /// Without it, the built-in rules (docs/runtime-rules).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// A minisign public key; with one, every --rules file must carry a signature by one of
    /// the keys beside it (`FILE.minisig`), or the command stops; repeatable.
    #[arg(long, value_name = "FILE")]
    pub rules_key: Vec<PathBuf>,
    /// Audit event files, `-` for stdin.
    #[arg(required = true, value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
    /// Which rules fire when several match one event.
    #[arg(long, value_enum, default_value = "first")]
    pub rule_matching: RuleMatching,
    /// Only report alerts of this priority or more severe (emergency ... debug).
    #[arg(long, value_name = "PRIORITY", value_parser = parse_priority, default_value = "debug")]
    pub min_priority: Priority,
    /// Write alerts to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Instead of JSON lines, the shared report: table, json, sarif or junit (one finding
    /// per alert, at the event's file and line).
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Flags of `kubesecops runtime serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (the API server's audit webhook points at
    /// http(s)://ADDR/k8s-audit).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9765")]
    pub listen: std::net::SocketAddr,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A Falco rules file; repeat the flag for several. Without it, the built-in rules.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// A minisign public key; with one, every --rules file must carry a signature by one of
    /// the keys beside it (`FILE.minisig`), or the command stops; repeatable.
    #[arg(long, value_name = "FILE")]
    pub rules_key: Vec<PathBuf>,
    /// Also load the built-in rules (before the --rules files).
    #[arg(long)]
    pub builtin: bool,
    /// Follow an audit log file (JSON lines) like `tail -F`: rotation and truncation are
    /// survived; starts at the file's end.
    #[arg(long, value_name = "FILE")]
    pub follow: Option<PathBuf>,
    /// Read the followed file from its beginning instead of its end.
    #[arg(long, requires = "follow")]
    pub follow_from_start: bool,
    /// Keep each alert's event and the preceding events of the same user and object in a
    /// hash-chained log in DIR, synced before the alert is acknowledged.
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,
    /// Append alerts (JSON lines) to FILE.
    #[arg(long, value_name = "FILE")]
    pub alert_file: Option<PathBuf>,
    /// POST each alert (JSON) to URL; repeat for several. Retried with backoff; a bounded
    /// queue per URL, drops counted in /metrics.
    #[arg(long, value_name = "URL")]
    pub alert_webhook: Vec<String>,
    /// Do not print alerts on standard output.
    #[arg(long)]
    pub no_stdout: bool,
    /// Which rules fire when several match one event.
    #[arg(long, value_enum, default_value = "first")]
    pub rule_matching: RuleMatching,
    /// Batches the evaluator queue holds before webhook requests wait (then 503).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub queue: usize,
    /// Alerts each webhook output queues before dropping.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub webhook_queue: usize,
}

pub(crate) fn parse_priority(text: &str) -> Result<Priority, String> {
    Priority::parse(text).ok_or_else(|| {
        format!("unknown priority {text:?} (emergency, alert, critical, error, warning, notice, info, debug)")
    })
}

/// Runs a `runtime` subcommand.
pub fn run(args: RuntimeArgs) -> Result<Status> {
    match args.command {
        RuntimeCommand::Replay(args) => replay(args),
        RuntimeCommand::Serve(args) => serve(args),
        RuntimeCommand::Sensor(args) => super::runtime_syscall::sensor(args),
    }
}

/// The rules: the files in order, or the built-in rules when there is none (or with
/// `builtin`, the built-in rules first).
fn load_rules(files: &[PathBuf], keys: &[PathBuf], with_builtin: bool) -> Result<Ruleset> {
    let mut loader = if files.is_empty() || with_builtin { builtin::loader() } else { RuleLoader::new() };
    load_rule_files(&mut loader, files, keys)?;
    Ok(loader.compile()?)
}

/// Loads rule files in order; with `--rules-key`s, each file's text is read through its
/// signature check (`FILE.minisig`) and an unsigned or changed file stops the command.
pub(crate) fn load_rule_files(loader: &mut RuleLoader, files: &[PathBuf], keys: &[PathBuf]) -> Result<()> {
    if keys.is_empty() {
        for file in files {
            loader.load_file(file)?;
        }
        return Ok(());
    }
    let trusted = TrustedKeys::load(keys).context("--rules-key")?;
    for file in files {
        let text = trusted.read_verified_text(file)?;
        loader.load_str(&file.display().to_string(), &text)?;
    }
    Ok(())
}

pub(crate) fn matching(value: RuleMatching) -> Matching {
    match value {
        RuleMatching::First => Matching::First,
        RuleMatching::All => Matching::All,
    }
}

fn serve(args: ServeArgs) -> Result<Status> {
    let rules =
        load_rules(&args.rules, &args.rules_key, args.builtin)?.with_matching(matching(args.rule_matching));
    let notices: Vec<String> = rules.notices().iter().map(ToString::to_string).collect();
    output::notices(&notices);
    let stats = rules.stats().clone();
    let mut config = ServeConfig::new(args.listen);
    config.tls = args.tls_cert.zip(args.tls_key);
    config.follow = args.follow;
    config.follow_start = if args.follow_from_start { StartAt::Beginning } else { StartAt::End };
    config.evidence = args.evidence;
    config.stdout = !args.no_stdout;
    config.alert_file = args.alert_file;
    config.webhooks = args.alert_webhook;
    config.webhook_policy = WebhookPolicy { queue: args.webhook_queue, ..WebhookPolicy::default() };
    config.queue_batches = args.queue;
    let https = config.tls.is_some();
    let summary = kubesecops_runtime_serve::run_until_signal(config, rules, |addr| {
        eprintln!(
            "kubesecops: runtime serve listening on {}://{addr} (POST /k8s-audit, GET /metrics, GET /healthz); {} k8s_audit rule(s), {} disabled",
            if https { "https" } else { "http" },
            stats.audit_rules,
            stats.disabled
        );
    })?;
    for line in summary {
        eprintln!("kubesecops: {line}");
    }
    Ok(Status::Clean)
}

/// The text of an input file, `-` for standard input.
pub(crate) fn read_input(path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).context("-: cannot read standard input")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    }
    String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", display(path)))
}

/// How an input path is shown in messages.
pub(crate) fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The report severity of a Falco priority.
fn severity(priority: Priority) -> Severity {
    match priority {
        Priority::Emergency | Priority::Alert | Priority::Critical => Severity::Critical,
        Priority::Error => Severity::High,
        Priority::Warning => Severity::Medium,
        _ => Severity::Low,
    }
}

/// One alert as a finding of the shared report, located at the event's document.
fn alert_finding(alert: &Alert, event: &AuditEvent<'_>, path: &str, line: u32) -> Finding {
    let id = builtin::rule_id(&alert.rule.tags).unwrap_or(&alert.rule.name).to_string();
    let text = |pointer: &str| event.json().pointer(pointer).and_then(|v| v.as_str()).map(|v| v.into_owned());
    let object = text("/objectRef/resource").map(|resource| {
        let group = text("/objectRef/apiGroup").unwrap_or_default();
        let version = text("/objectRef/apiVersion").unwrap_or_default();
        Arc::new(ObjectRef {
            api_version: if group.is_empty() { version } else { format!("{group}/{version}") },
            kind: resource,
            namespace: text("/objectRef/namespace").unwrap_or_default(),
            name: text("/objectRef/name").unwrap_or_default(),
        })
    });
    let key = alert.audit_id.clone().unwrap_or_else(|| line.to_string());
    Finding {
        rule: Arc::new(RuleRef { id: id.clone(), aliases: Vec::new(), title: alert.rule.name.clone() }),
        severity: severity(alert.rule.priority),
        message: alert.output.clone(),
        location: Location { path: path.into(), line: Some(line), column: None },
        fingerprint: fingerprint(&id, path, object.as_deref(), &key),
        object,
        vcs: None,
        package: None,
        fixed_version: None,
    }
}

fn replay(args: ReplayArgs) -> Result<Status> {
    if args.source == EventSource::Syscall {
        if args.format.is_some() {
            anyhow::bail!(
                "--format gives the shared report for audit events only; syscall alerts are JSON lines"
            );
        }
        return super::runtime_syscall::replay(
            &args.rules,
            &args.rules_key,
            &args.events,
            matching(args.rule_matching),
            args.min_priority,
            args.output.as_deref(),
        );
    }
    let format = match &args.format {
        Some(text) => Some(Format::from_str(text).map_err(|e| anyhow::anyhow!("--format: {e}"))?),
        None => None,
    };
    let rules = load_rules(&args.rules, &args.rules_key, false)?.with_matching(matching(args.rule_matching));
    let notices: Vec<String> = rules.notices().iter().map(ToString::to_string).collect();
    output::notices(&notices);

    let mut out = output::open(args.output.as_deref())?;
    let mut errors: Vec<String> = Vec::new();
    let mut report_errors: Vec<ReportError> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut events = 0usize;
    let mut per_rule: BTreeMap<(Priority, String), usize> = BTreeMap::new();
    let mut alerts = Vec::new();
    for path in &args.events {
        let text = match read_input(path) {
            Ok(text) => text,
            Err(err) => {
                report_errors.push(ReportError::at(display(path), None, format!("{err:#}")));
                errors.push(format!("{err:#}"));
                continue;
            }
        };
        let name = display(path);
        for doc in event::documents(&text) {
            let value = match doc.value {
                Ok(value) => value,
                Err(err) => {
                    let message = format!("invalid JSON (column {}): {}", err.column, err.message);
                    report_errors.push(ReportError::at(name.clone(), Some(err.line as u32), message));
                    errors.push(format!("{name}:{}:{}: invalid JSON: {}", err.line, err.column, err.message));
                    continue;
                }
            };
            let items = event::events_in(&value);
            let several = items.len() > 1;
            for (index, item) in items.into_iter().enumerate() {
                let event = match item {
                    Ok(event) => event,
                    Err(err) => {
                        let which = if several { format!(" (item {})", index + 1) } else { String::new() };
                        report_errors.push(ReportError::at(
                            name.clone(),
                            Some(doc.line as u32),
                            format!("{err}{which}"),
                        ));
                        errors.push(format!("{name}:{}{which}: {err}", doc.line));
                        continue;
                    }
                };
                events += 1;
                alerts.clear();
                rules.evaluate_into(&event, &mut alerts);
                for alert in alerts.iter().filter(|a| a.rule.priority <= args.min_priority) {
                    if format.is_some() {
                        findings.push(alert_finding(alert, &event, &name, doc.line as u32));
                    } else {
                        writeln!(out, "{}", kubesecops_runtime_serve::alert_json(alert))?;
                    }
                    *per_rule.entry((alert.rule.priority, alert.rule.name.clone())).or_default() += 1;
                }
            }
        }
    }
    if let Some(format) = format {
        let report = Report::with_findings(findings, report_errors);
        let mut config = RenderConfig::new(env!("CARGO_PKG_VERSION"));
        config.color = output::stdout_is_terminal(args.output.as_deref());
        render(&report, format, &config, &mut out)?;
    }
    out.flush()?;

    let total: usize = per_rule.values().sum();
    let mut stderr = std::io::stderr().lock();
    let stats = rules.stats();
    let skipped: usize = stats.skipped_by_source.values().sum();
    writeln!(
        stderr,
        "kubesecops: {events} event(s), {total} alert(s); {} k8s_audit rule(s) ({} disabled), {skipped} rule(s) of other sources skipped",
        stats.audit_rules, stats.disabled
    )?;
    replay_summary(&mut stderr, &per_rule, &errors)
}

/// The end of every replay: alerts per rule and the input errors on stderr (after the
/// source's own totals line), then the exit status.
pub(crate) fn replay_summary(
    stderr: &mut impl Write,
    per_rule: &BTreeMap<(Priority, String), usize>,
    errors: &[String],
) -> Result<Status> {
    for ((priority, rule), count) in per_rule {
        writeln!(stderr, "  {count:>6}  {priority:<13} {rule}")?;
    }
    for error in errors {
        writeln!(stderr, "kubesecops: error: {error}")?;
    }
    Ok(if !errors.is_empty() {
        Status::InputErrors
    } else if per_rule.values().any(|&count| count > 0) {
        Status::Findings
    } else {
        Status::Clean
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "
- macro: kevt
  condition: jevt.value[/stage] in (ResponseComplete)
- rule: Secret read
  desc: a secret was read
  condition: kevt and ka.target.resource=secrets and ka.verb=get
  output: secret %ka.target.name read by %ka.user.name
  priority: NOTICE
  source: k8s_audit
  tags: [k8s]
";

    fn event(verb: &str, id: &str) -> String {
        format!(
            r#"{{"kind":"Event","auditID":"{id}","stage":"ResponseComplete","stageTimestamp":"2024-01-02T03:04:05.5Z","verb":"{verb}","user":{{"username":"eve"}},"objectRef":{{"resource":"secrets","name":"db"}}}}"#
        )
    }

    fn replay_files(events: &str) -> (Status, String) {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.yaml");
        let input = dir.path().join("events.jsonl");
        let out = dir.path().join("alerts.jsonl");
        std::fs::write(&rules, RULES).unwrap();
        std::fs::write(&input, events).unwrap();
        let args = ReplayArgs {
            source: EventSource::K8sAudit,
            rules: vec![rules],
            rules_key: Vec::new(),
            events: vec![input],
            rule_matching: RuleMatching::First,
            min_priority: Priority::Debug,
            output: Some(out.clone()),
            format: None,
        };
        let status = replay(args).unwrap();
        (status, std::fs::read_to_string(out).unwrap())
    }

    #[test]
    fn alerts_are_json_lines() {
        let events = format!("{}\n{}\n", event("get", "a"), event("list", "b"));
        let (status, out) = replay_files(&events);
        assert_eq!(status, Status::Findings);
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "rule": "Secret read",
                "priority": "Notice",
                "time": "2024-01-02T03:04:05.500000000Z",
                "output": "secret db read by eve",
                "source": "k8s_audit",
                "tags": ["k8s"],
                "auditID": "a"
            })
        );
    }

    #[test]
    fn bad_input_is_an_input_error_after_the_rest() {
        let events = format!("{{\"kind\":\"Pod\"}}\nnot json\n{}\n", event("get", "c"));
        let (status, out) = replay_files(&events);
        assert_eq!(status, Status::InputErrors);
        assert_eq!(out.lines().count(), 1, "the valid event is still evaluated");
    }

    #[test]
    fn without_rules_the_builtin_rules_apply() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("events.jsonl");
        let out = dir.path().join("alerts.jsonl");
        // eve reads a secret: "Secret read by an unexpected subject" (the default rules), not the
        // test's own rule file.
        std::fs::write(
            &input,
            event("get", "b1").replace(r#""stage""#, r#""responseStatus":{"code":200},"stage""#),
        )
        .unwrap();
        let args = ReplayArgs {
            source: EventSource::K8sAudit,
            rules: Vec::new(),
            rules_key: Vec::new(),
            events: vec![input],
            rule_matching: RuleMatching::First,
            min_priority: Priority::Debug,
            output: Some(out.clone()),
            format: None,
        };
        assert_eq!(replay(args).unwrap(), Status::Findings);
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(out).unwrap().trim()).unwrap();
        assert_eq!(line["rule"], "Secret read by an unexpected subject");
        assert_eq!(line["priority"], "Warning");
    }

    #[test]
    fn report_formats_give_one_finding_per_alert_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.yaml");
        let input = dir.path().join("events.jsonl");
        std::fs::write(&rules, RULES).unwrap();
        let events = format!("{}\nnot json\n{}\n", event("list", "a"), event("get", "b"));
        std::fs::write(&input, events).unwrap();
        let run = |format: &str| {
            let out = dir.path().join(format!("report.{format}"));
            let args = ReplayArgs {
                source: EventSource::K8sAudit,
                rules: vec![rules.clone()],
                rules_key: Vec::new(),
                events: vec![input.clone()],
                rule_matching: RuleMatching::First,
                min_priority: Priority::Debug,
                output: Some(out.clone()),
                format: Some(format.to_string()),
            };
            (replay(args).unwrap(), std::fs::read_to_string(out).unwrap())
        };
        let (status, text) = run("json");
        assert_eq!(status, Status::InputErrors, "the bad line is an error after the rest is read");
        let report: serde_json::Value = serde_json::from_str(&text).unwrap();
        let findings = report["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{report:#}");
        assert_eq!(findings[0]["rule"]["id"], "Secret read");
        assert_eq!(findings[0]["severity"], "LOW");
        assert_eq!(findings[0]["message"], "secret db read by eve");
        assert_eq!(findings[0]["location"]["line"], 3);
        assert_eq!(findings[0]["object"]["name"], "db");
        assert_eq!(report["errors"][0]["line"], 2);
        let (_, sarif) = run("sarif");
        let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        let result = &sarif["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "Secret read");
        assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
    }

    #[test]
    fn event_list_documents_are_read() {
        let list = format!(
            "{{\"kind\":\"EventList\",\n \"items\": [\n{},\n{}]}}\n",
            event("get", "x"),
            event("get", "y")
        );
        let (status, out) = replay_files(&list);
        assert_eq!(status, Status::Findings);
        assert_eq!(out.lines().count(), 2);
    }
}
