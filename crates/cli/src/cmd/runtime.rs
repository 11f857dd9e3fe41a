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
use kubesecops_runtime::{builtin, event, Matching, Priority, RuleLoader, Ruleset};
use kubesecops_runtime_serve::{follow::StartAt, outputs::WebhookPolicy, ServeConfig};

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
fn load_rules(files: &[PathBuf], with_builtin: bool) -> Result<Ruleset> {
    let mut loader = if files.is_empty() || with_builtin { builtin::loader() } else { RuleLoader::new() };
    for file in files {
        loader.load_file(file)?;
    }
    Ok(loader.compile()?)
}

pub(crate) fn matching(value: RuleMatching) -> Matching {
    match value {
        RuleMatching::First => Matching::First,
        RuleMatching::All => Matching::All,
    }
}

fn serve(args: ServeArgs) -> Result<Status> {
    let rules = load_rules(&args.rules, args.builtin)?.with_matching(matching(args.rule_matching));
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

fn replay(args: ReplayArgs) -> Result<Status> {
    if args.source == EventSource::Syscall {
        return super::runtime_syscall::replay(
            &args.rules,
            &args.events,
            matching(args.rule_matching),
            args.min_priority,
            args.output.as_deref(),
        );
    }
    let rules = load_rules(&args.rules, false)?.with_matching(matching(args.rule_matching));
    let notices: Vec<String> = rules.notices().iter().map(ToString::to_string).collect();
    output::notices(&notices);

    let mut out = output::open(args.output.as_deref())?;
    let mut errors: Vec<String> = Vec::new();
    let mut events = 0usize;
    let mut per_rule: BTreeMap<(Priority, String), usize> = BTreeMap::new();
    let mut alerts = Vec::new();
    for path in &args.events {
        let text = match read_input(path) {
            Ok(text) => text,
            Err(err) => {
                errors.push(format!("{err:#}"));
                continue;
            }
        };
        let name = display(path);
        for doc in event::documents(&text) {
            let value = match doc.value {
                Ok(value) => value,
                Err(err) => {
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
                        errors.push(format!("{name}:{}{which}: {err}", doc.line));
                        continue;
                    }
                };
                events += 1;
                alerts.clear();
                rules.evaluate_into(&event, &mut alerts);
                for alert in alerts.iter().filter(|a| a.rule.priority <= args.min_priority) {
                    writeln!(out, "{}", kubesecops_runtime_serve::alert_json(alert))?;
                    *per_rule.entry((alert.rule.priority, alert.rule.name.clone())).or_default() += 1;
                }
            }
        }
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
    for ((priority, rule), count) in &per_rule {
        writeln!(stderr, "  {count:>6}  {priority:<13} {rule}")?;
    }
    for error in &errors {
        writeln!(stderr, "kubesecops: error: {error}")?;
    }
    Ok(if !errors.is_empty() {
        Status::InputErrors
    } else if total > 0 {
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
            events: vec![input],
            rule_matching: RuleMatching::First,
            min_priority: Priority::Debug,
            output: Some(out.clone()),
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
            events: vec![input],
            rule_matching: RuleMatching::First,
            min_priority: Priority::Debug,
            output: Some(out.clone()),
        };
        assert_eq!(replay(args).unwrap(), Status::Findings);
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(out).unwrap().trim()).unwrap();
        assert_eq!(line["rule"], "Secret read by an unexpected subject");
        assert_eq!(line["priority"], "Warning");
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
