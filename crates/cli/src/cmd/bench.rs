//! `kubesecops bench node`: the CIS node benchmark, with kube-bench benchmark folders
//! (`--config DIR`) or with the built-in checks.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use kubesecops_bench::audit::AuditRunner;
use kubesecops_bench::builtin::{run_builtin, NodeResult};
use kubesecops_bench::config::BenchConfig;
use kubesecops_bench::node::NodeView;
use kubesecops_bench::report::{builtin_as_controls, findings, kube_bench_json, results_of_controls};
use kubesecops_bench::runner::run_benchmark;
use kubesecops_bench::version::{choose_benchmark, detect_version};
use kubesecops_bench::Status as CheckStatus;
use kubesecops_core::{Report, ReportError};
use kubesecops_report::{render, Format, RenderConfig};

use crate::{output, Status};

/// Flags of `kubesecops bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Check this node's kubelet, API server, etcd and their files against the CIS
    /// Kubernetes Benchmark.
    Node(NodeArgs),
}

/// Output of `bench node`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BenchFormat {
    /// One line per check.
    #[value(alias = "txt", alias = "text")]
    Table,
    /// The JSON envelope with `results`, `findings` and `benchmark`.
    Json,
    /// SARIF of the FAIL and WARN findings.
    Sarif,
    /// JUnit of the FAIL and WARN findings.
    Junit,
    /// kube-bench's own JSON layout (`Controls`, `Totals`).
    KubeBenchJson,
}

/// Flags of `kubesecops bench node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// kube-bench `cfg` folder (config.yaml and benchmark folders); without it the built-in
    /// checks run.
    #[arg(long, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Benchmark folder to run (`cis-1.20`); default: mapped from the Kubernetes version.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub benchmark: Option<String>,
    /// Targets, comma-separated (master,node,etcd,controlplane,policies); default: those
    /// whose components run here.
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "config")]
    pub targets: Vec<String>,
    /// Root of an offline copy of a node (use with --ps).
    #[arg(long, value_name = "DIR", requires = "ps")]
    pub root: Option<PathBuf>,
    /// `ps -ef` (or one command line per line) listing of the offline copy.
    #[arg(long, value_name = "FILE", requires = "root")]
    pub ps: Option<PathBuf>,
    /// Kubernetes version of the node (`1.20` or `v1.20.2`) when it cannot be detected.
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Longest time one audit command may run, in seconds.
    #[arg(long, value_name = "S", default_value = "10")]
    pub audit_timeout: f64,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: BenchFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `bench`.
pub fn run(args: BenchArgs) -> Result<Status> {
    match args.command {
        BenchCommand::Node(a) => node(a),
    }
}

fn node(args: NodeArgs) -> Result<Status> {
    if !(args.audit_timeout > 0.0 && args.audit_timeout < 3600.0) {
        bail!("--audit-timeout must be between 0 and 3600 seconds");
    }
    let view = match (&args.root, &args.ps) {
        (Some(root), Some(ps)) => NodeView::offline(root, ps)?,
        _ => NodeView::live(),
    };
    let detection = detect_version(&view, args.kube_version.as_deref());
    let detected = detection.version.as_ref().map(|v| v.git_version.clone());
    let mut errors: Vec<ReportError> = Vec::new();
    let mut notes = Vec::new();
    let (results, controls, benchmark_info) = match &args.config {
        None => {
            let results = run_builtin(&view, detection.version.as_ref());
            let controls = vec![builtin_as_controls(&results, detected.clone())];
            let info = serde_json::json!({
                "name": "kubesecops-builtin",
                "numbering": "CIS Kubernetes Benchmark v1.10.0 (kube-bench cis-1.10) unless an alias says otherwise",
                "kubernetesVersion": detected, "versionSource": detection.source,
            });
            if detection.version.is_none() {
                notes.push(format!("Kubernetes version unknown: {}", detection.source));
            }
            (results, controls, info)
        }
        Some(dir) => {
            let base = BenchConfig::load(dir)?;
            let choice = choose_benchmark(&base, args.benchmark.as_deref(), &detection)?;
            if detection.version.is_none() && args.benchmark.is_none() {
                notes.push(choice.reason.clone());
            }
            let config = base.for_benchmark(&choice.benchmark)?;
            let available = config.targets(&choice.benchmark);
            let targets = if args.targets.is_empty() {
                default_targets(&available, &view)
            } else {
                args.targets.clone()
            };
            for t in &targets {
                if !available.is_empty() && !available.contains(t) {
                    bail!(
                        "target {t:?} is not a target of {} (it has: {})",
                        choice.benchmark,
                        available.join(", ")
                    );
                }
            }
            let runner = AuditRunner {
                timeout: Duration::from_secs_f64(args.audit_timeout),
                ps_file: view.ps_file.clone(),
            };
            let (controls, errs) =
                run_benchmark(&config, &choice.benchmark, &targets, &view, &runner, detected.as_deref());
            for e in errs {
                let (path, line) = e.location();
                errors.push(ReportError::at(path, line, e.to_string()));
            }
            let info = serde_json::json!({
                "name": choice.benchmark, "reason": choice.reason, "targets": targets,
                "kubernetesVersion": detected, "versionSource": detection.source,
            });
            (results_of_controls(&controls), controls, info)
        }
    };
    output::notices(&notes);
    let failed = results.iter().any(|r| r.status == CheckStatus::Fail);
    let status = if !errors.is_empty() {
        Status::InputErrors
    } else if failed {
        Status::Findings
    } else {
        Status::Clean
    };
    let mut out = output::open(args.output.as_deref())?;
    match args.format {
        BenchFormat::KubeBenchJson => {
            serde_json::to_writer_pretty(&mut out, &kube_bench_json(&controls))?;
            writeln!(out)?;
        }
        BenchFormat::Table => table(&mut out, &results, &benchmark_info, &errors)?,
        format => {
            let mut report = Report::with_findings(findings(&results), errors);
            report.sections.insert("results".into(), serde_json::to_value(&results)?);
            report.sections.insert("benchmark".into(), benchmark_info);
            let format = match format {
                BenchFormat::Sarif => Format::Sarif,
                BenchFormat::Junit => Format::Junit,
                _ => Format::Json,
            };
            render(&report, format, &RenderConfig::new(env!("CARGO_PKG_VERSION")), &mut out)?;
        }
    }
    out.flush()?;
    Ok(status)
}

/// kube-bench runs the master checks on nodes running an API server, and so on.
fn default_targets(available: &[String], view: &NodeView) -> Vec<String> {
    let running = |bins: &[&str]| view.find(bins).is_some();
    available
        .iter()
        .filter(|t| match t.as_str() {
            "master" | "controlplane" => {
                running(&["kube-apiserver", "hyperkube apiserver", "hyperkube kube-apiserver"])
            }
            "node" => running(&["kubelet", "hyperkube kubelet"]),
            "etcd" => running(&["etcd"]),
            _ => true,
        })
        .cloned()
        .collect()
}

fn table(
    out: &mut dyn Write,
    results: &[NodeResult],
    info: &serde_json::Value,
    errors: &[ReportError],
) -> Result<()> {
    let text = |k: &str| info.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    writeln!(out, "benchmark: {}", text("name"))?;
    match info.get("kubernetesVersion").and_then(|v| v.as_str()) {
        Some(v) => writeln!(out, "kubernetes: {v} ({})", text("versionSource"))?,
        None => writeln!(out, "kubernetes: UNKNOWN ({})", text("versionSource"))?,
    }
    if !text("reason").is_empty() {
        writeln!(out, "chosen because: {}", text("reason"))?;
    }
    let mut counts = [0usize; 4];
    for r in results {
        counts[r.status as usize] += 1;
        write!(out, "[{}] {}", r.status.as_str(), r.id)?;
        if r.cis != r.id && !r.cis.is_empty() {
            write!(out, " (CIS {})", r.cis)?;
        }
        writeln!(out, " {}", r.title)?;
        if r.status != CheckStatus::Pass && !r.message.is_empty() {
            writeln!(out, "       {}", r.message)?;
        }
    }
    writeln!(out, "{} PASS, {} FAIL, {} WARN, {} INFO", counts[0], counts[1], counts[2], counts[3])?;
    for e in errors {
        match e.line {
            Some(line) => writeln!(out, "error: {}:{line}: {}", e.path, e.message)?,
            None => writeln!(out, "error: {}: {}", e.path, e.message)?,
        }
    }
    Ok(())
}
