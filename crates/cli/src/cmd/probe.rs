//! `kubesecops probe`: what an attacker on the network (or in a pod) reaches of the
//! cluster's components. TLS certificates are not verified: neither does an attacker.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use kubesecops_core::{fingerprint, Finding, Location, Report, RuleRef};
use kubesecops_probe::{parse_ports, parse_targets, pod_context_from, probe, ProbeOptions, DEFAULT_PORTS};
use kubesecops_report::{render, Format, RenderConfig};

use crate::{output, Status};

/// Output of `probe`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProbeFormat {
    /// Services and findings, one per line.
    #[value(alias = "txt", alias = "text")]
    Table,
    /// The JSON envelope with `findings`, `services` and `probeFindings`.
    Json,
    /// SARIF.
    Sarif,
    /// JUnit.
    Junit,
}

/// Flags of `kubesecops probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Hosts (`10.0.0.5`, `node:10250`, `[::1]:2379`) or an explicit IPv4 CIDR (at most 256
    /// addresses). Nothing else is touched.
    #[arg(value_name = "TARGET", required_unless_present = "from_pod")]
    pub targets: Vec<String>,
    /// Ports to probe on targets given without one (comma list, ranges allowed).
    #[arg(long, value_name = "LIST")]
    pub ports: Option<String>,
    /// Also run active probes: kubelet `/run` (runs `id` in a container) and `/exec`.
    #[arg(long)]
    pub active: bool,
    /// Time limit of one request, in seconds.
    #[arg(long, value_name = "S", default_value = "2")]
    pub timeout: f64,
    /// Time limit of the whole run, in seconds.
    #[arg(long, value_name = "S", default_value = "30")]
    pub deadline: f64,
    /// In-pod mode: the API server with the mounted service-account token, the cloud
    /// metadata address and the node's kubelet.
    #[arg(long)]
    pub from_pod: bool,
    /// Service-account folder for --from-pod.
    #[arg(long, value_name = "DIR", default_value = "/var/run/secrets/kubernetes.io/serviceaccount")]
    pub sa_dir: PathBuf,
    /// Cloud metadata address (`host:port`) for --from-pod.
    #[arg(long, value_name = "ADDR", env = "KSO_PROBE_METADATA", default_value = "169.254.169.254:80")]
    pub metadata: String,
    /// The node's address for --from-pod (else `HOST_IP`/`NODE_IP`).
    #[arg(long, value_name = "HOST")]
    pub node: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: ProbeFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `probe`: exit 1 when anything was found, 2 on bad input.
pub fn run(args: ProbeArgs) -> Result<Status> {
    let seconds = |v: f64, name: &str| -> Result<Duration> {
        if !(v > 0.0 && v <= 3600.0) {
            bail!("--{name} must be between 0 and 3600 seconds");
        }
        Ok(Duration::from_secs_f64(v))
    };
    let targets = parse_targets(&args.targets)?;
    let ports = match &args.ports {
        Some(list) => parse_ports(list).map_err(anyhow::Error::msg)?,
        None => DEFAULT_PORTS.to_vec(),
    };
    let pod =
        args.from_pod.then(|| pod_context_from(&args.sa_dir, Some(args.metadata.clone()), args.node.clone()));
    let options = ProbeOptions {
        ports,
        active: args.active,
        timeout: seconds(args.timeout, "timeout")?,
        deadline: seconds(args.deadline, "deadline")?,
        pod,
    };
    let result = probe(&targets, &options);
    let findings: Vec<Finding> = result
        .findings
        .iter()
        .map(|f| {
            let mut aliases: Vec<String> = f.kube_hunter.iter().cloned().collect();
            aliases.push(format!("ATT&CK:{}", f.mitre));
            let path: Arc<str> = f.target.as_str().into();
            Finding {
                rule: Arc::new(RuleRef { id: f.id.clone(), aliases, title: f.title.clone() }),
                severity: f.severity,
                message: format!("{}: {}", f.title, f.evidence),
                fingerprint: fingerprint(&f.id, &path, None, &f.title),
                location: Location { path, line: None, column: None },
                object: None,
                vcs: None,
                package: None,
                fixed_version: None,
            }
        })
        .collect();
    for u in &result.unfinished {
        eprintln!("kubesecops: note: deadline reached before {u} was fully probed");
    }
    let status = if findings.is_empty() { Status::Clean } else { Status::Findings };
    let mut out = output::open(args.output.as_deref())?;
    match args.format {
        ProbeFormat::Table => {
            for s in &result.services {
                writeln!(out, "service  {} {} ({}) {}", s.address, s.kind, s.scheme, s.detail)?;
            }
            for f in &result.findings {
                let kh = f.kube_hunter.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
                writeln!(out, "{:<8} {} [{}{kh}] {}", f.severity.as_str(), f.id, f.mitre, f.title)?;
                writeln!(out, "         {} — {}", f.target, f.evidence)?;
            }
            writeln!(
                out,
                "{} service(s), {} finding(s) in {} ms{}",
                result.services.len(),
                result.findings.len(),
                result.elapsed_ms,
                if result.unfinished.is_empty() {
                    String::new()
                } else {
                    format!(", {} unfinished", result.unfinished.len())
                }
            )?;
        }
        format => {
            let mut report = Report::with_findings(findings, Vec::new());
            report.sections.insert("services".into(), serde_json::to_value(&result.services)?);
            report.sections.insert("probeFindings".into(), serde_json::to_value(&result.findings)?);
            report.sections.insert("unfinished".into(), serde_json::to_value(&result.unfinished)?);
            report.sections.insert("elapsedMs".into(), result.elapsed_ms.into());
            let format = match format {
                ProbeFormat::Sarif => Format::Sarif,
                ProbeFormat::Junit => Format::Junit,
                _ => Format::Json,
            };
            render(&report, format, &RenderConfig::new(env!("CARGO_PKG_VERSION")), &mut out)?;
        }
    }
    out.flush()?;
    Ok(status)
}
