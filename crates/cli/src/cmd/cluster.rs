//! `kubesecops cluster`: the same rules on a live cluster (`scan`), and a file of what it
//! holds (`snapshot`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kubesecops_checks::engine::ignored_rules;
use kubesecops_checks::pss::{self, Level, Version};
use kubesecops_checks::{find_rule, Config, Engine, Index};
use kubesecops_cluster::{Cluster, ConnectOptions, ListSummary, Selection, SnapshotWriter};
use kubesecops_core::{Finding, Report, ReportError, Severity};
use kubesecops_k8s::Object;
use kubesecops_report::{render, Format, RenderConfig};

use crate::filter::{self, IgnoreFile};
use crate::metrics::MetricsArgs;
use crate::{output, Status};

/// Flags of `kubesecops cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// The `cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Scan every object of the cluster with the built-in rules, the Pod Security Standards
    /// and Rego policies, as it is listed.
    Scan(Box<ScanArgs>),
    /// Write every object (Secret values removed) to one file that `scan` and `rbac` read.
    Snapshot(SnapshotArgs),
}

/// How to reach the cluster (kubectl's flags).
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Requests per second at most.
    #[arg(long, default_value_t = 50.0, value_name = "QPS")]
    pub qps: f64,
    /// Timeout of each request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub request_timeout: u64,
}

impl ConnectArgs {
    /// Connects (nothing is requested yet).
    pub fn connect(&self) -> Result<Cluster> {
        let options = ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            qps: self.qps,
            timeout: Duration::from_secs(self.request_timeout.max(1)),
        };
        Ok(Cluster::connect(&options)?)
    }
}

/// Flags of `kubesecops cluster scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Only this namespace (namespaced resources; cluster-scoped ones are always read);
    /// repeatable.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Output format: table, json, sarif, junit.
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Report only these severities (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "SEVERITIES")]
    pub severity: Vec<Severity>,
    /// Skip a rule (id or alias of any tool); repeatable.
    #[arg(long, value_name = "ID")]
    pub skip: Vec<String>,
    /// Ignore file (default: .kubesecopsignore in the current directory, when present).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report: report only findings that are not in it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Pod Security Standards level for findings: privileged (off), baseline, restricted.
    #[arg(long, default_value = "restricted", value_name = "LEVEL")]
    pub pss_level: String,
    /// Pod Security Standards version: v1.N or latest.
    #[arg(long, default_value = "latest", value_name = "VERSION")]
    pub pss_version: String,
    /// A registry images may come from (enables the registry allowlist rule); repeatable.
    #[arg(long = "allowed-registry", value_name = "REGISTRY")]
    pub allowed_registries: Vec<String>,
    /// Rego policies (conftest style): a directory or file; repeatable.
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Data files (JSON or YAML) for the policies, loaded under `data`; repeatable.
    #[arg(long, value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Rego package whose `deny`/`violation`/`warn` rules are evaluated (default `main`);
    /// repeatable.
    #[arg(long, value_name = "PACKAGE")]
    pub rego_namespace: Vec<String>,
    /// A minisign public key (`minisign.pub`); with one, every `--policy` and `--data` file
    /// must carry a signature by one of the keys beside it (`FILE.minisig`); repeatable.
    #[arg(long, value_name = "FILE")]
    pub policy_key: Vec<PathBuf>,
    /// Objects per list request.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub page_size: u32,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Flags of `kubesecops cluster snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Only this namespace; repeatable.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// The snapshot file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Objects per list request.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub page_size: u32,
}

/// Runs `cluster scan` or `cluster snapshot`.
pub fn run(args: ClusterArgs) -> Result<Status> {
    match args.command {
        ClusterCommand::Scan(args) => scan(*args),
        ClusterCommand::Snapshot(args) => snapshot(args),
    }
}

/// Controllers whose owned objects repeat the owner's pod template: a Pod of a ReplicaSet,
/// a ReplicaSet of a Deployment, a Job of a CronJob. Their findings are the owner's.
const TEMPLATE_OWNERS: &[&str] =
    &["ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"];

fn owned_by_controller(obj: &Object) -> bool {
    obj.metadata().and_then(|m| m.get("ownerReferences")).map(|o| o.items()).unwrap_or_default().iter().any(
        |r| {
            r.get("controller").and_then(kubesecops_k8s::Node::as_bool) == Some(true)
                && r.get("kind")
                    .and_then(kubesecops_k8s::Node::as_str)
                    .is_some_and(|k| TEMPLATE_OWNERS.contains(&k))
        },
    )
}

fn summary_notices(summary: &ListSummary, path: &str) -> Vec<ReportError> {
    summary
        .gaps
        .iter()
        .map(|gap| {
            let scope = if gap.namespace.is_empty() {
                String::new()
            } else {
                format!(" in namespace {}", gap.namespace)
            };
            let code = gap.code.map(|c| format!(" (HTTP {c})")).unwrap_or_default();
            ReportError::at(path, None, format!("not seen: {}{scope}{code}: {}", gap.resource, gap.reason))
        })
        .collect()
}

fn scan(args: ScanArgs) -> Result<Status> {
    let metrics = args.metrics.start()?;
    let format = Format::from_str(&args.format).map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let level: Level = args.pss_level.parse().map_err(|e| anyhow::anyhow!("--pss-level: {e}"))?;
    let version: Version = args.pss_version.parse().map_err(|e| anyhow::anyhow!("--pss-version: {e}"))?;
    let pss_setting = (level != Level::Privileged).then_some((level, version));
    let skip = &args.skip;
    let config = Config { allowed_registries: args.allowed_registries.clone(), ..Config::default() };
    let engine = Engine::new(config, |meta| !skip.iter().any(|id| meta.matches(id)));
    let mut errors = Vec::new();
    let (policies, policy_errors) =
        super::scan::load_policy_set(&args.policy, &args.data, &args.rego_namespace, &args.policy_key);
    errors.extend(policy_errors);
    let cluster = args.connect.connect()?;
    let path: Arc<str> = Arc::from(cluster.location_path());
    let mut findings: Vec<Finding> = Vec::new();
    let mut index = Index::default();
    let summary =
        cluster.stream(&Selection::All, &args.namespaces, args.page_size.max(1), |_, mut value| {
            kubesecops_cluster::redact(&mut value);
            let Some(obj) = kubesecops_cluster::to_object(&path, &value) else { return };
            drop(value);
            // Objects a controller owns repeat their owner's template: only the identity their
            // pods run as (for RBAC paths) is kept of them.
            if owned_by_controller(&obj) {
                index.rbac.add(&obj);
                return;
            }
            index.add(&obj);
            engine.check_object(&obj, &mut findings);
            if let Some((level, version)) = pss_setting {
                let ignored = ignored_rules(&obj);
                findings.extend(
                    pss::findings(&obj, level, version)
                        .into_iter()
                        .filter(|f| !ignored.iter().any(|id| filter::rule_matches(&f.rule, id))),
                );
            }
            if let Some(set) = &policies {
                let (f, e) = set.evaluate(&obj);
                findings.extend(f);
                errors.extend(e);
            }
        })?;
    engine.check_index(&index, &mut findings);
    drop(index);
    // Live objects have no lines.
    for finding in &mut findings {
        if finding.location.path == path {
            finding.location.line = None;
            finding.location.column = None;
        }
    }
    findings.retain(|f| !skip.iter().any(|id| filter::rule_matches(&f.rule, id)));
    if !args.severity.is_empty() {
        findings.retain(|f| args.severity.contains(&f.severity));
    }
    let (ignore_path, explicit) = match &args.ignore_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(".kubesecopsignore"), false),
    };
    let (ignore, ignore_errors) = IgnoreFile::load(&ignore_path, explicit);
    errors.extend(ignore_errors);
    let today = filter::today();
    findings.retain(|f| !ignore.covers(f, today));
    if let Some(baseline) = &args.baseline {
        let known: HashSet<String> = filter::load_baseline(baseline)?;
        findings.retain(|f| !known.contains(&f.fingerprint));
    }

    let gaps = summary_notices(&summary, &path);
    output::notices(&gaps.iter().map(|g| format!("{}: {}", g.path, g.message)).collect::<Vec<_>>());
    let status = if !errors.is_empty() {
        Status::InputErrors
    } else if args.fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        Status::Findings
    } else {
        Status::Clean
    };
    let finding_count = findings.len();
    let mut report = Report::with_findings(findings, errors);
    report.sections.insert(
        "cluster".to_string(),
        serde_json::json!({
            "context": summary.context,
            "partial": summary.partial(),
            "resources": summary.resources,
            "objects": summary.objects,
            "gaps": summary.gaps,
        }),
    );
    let mut out = output::open(args.output.as_deref())?;
    let lookup = |id: &str| {
        find_rule(id)
            .map(|def| def.meta)
            .or_else(|| pss::check_metas().iter().copied().find(|m| m.matches(id)))
    };
    let render_config = RenderConfig {
        rule_lookup: Some(&lookup),
        color: output::stdout_is_terminal(args.output.as_deref()),
        ..RenderConfig::new(env!("CARGO_PKG_VERSION"))
    };
    render(&report, format, &render_config, &mut out)?;
    out.flush()?;
    if let Some(metrics) = &metrics {
        metrics.publish("cluster", &report, status)?;
    }
    let partial = if summary.partial() {
        format!(", PARTIAL: {} resource list(s) not seen", summary.gaps.len())
    } else {
        String::new()
    };
    eprintln!(
        "kubesecops: cluster {}: {} resource(s), {} object(s), {} rule(s): {finding_count} finding(s){partial}",
        summary.context,
        summary.resources,
        summary.objects,
        engine.rule_count(),
    );
    Ok(status)
}

fn snapshot(args: SnapshotArgs) -> Result<Status> {
    let cluster = args.connect.connect()?;
    let mut writer = SnapshotWriter::create(&args.output)?;
    let mut write_error = None;
    let summary = cluster.stream(&Selection::All, &args.namespaces, args.page_size.max(1), |_, value| {
        if write_error.is_none() {
            if let Err(e) = writer.write(value) {
                write_error = Some(e);
            }
        }
    })?;
    if let Some(e) = write_error {
        return Err(e).context("cluster snapshot");
    }
    let count = writer.finish(&summary)?;
    let path = cluster.location_path();
    let gaps = summary_notices(&summary, &path);
    output::notices(&gaps.iter().map(|g| format!("{}: {}", g.path, g.message)).collect::<Vec<_>>());
    eprintln!(
        "kubesecops: snapshot of {}: {count} object(s) of {} resource(s) written to {}{}",
        summary.context,
        summary.resources,
        args.output.display(),
        if summary.partial() { " (PARTIAL: see the notes above)" } else { "" }
    );
    Ok(Status::Clean)
}
