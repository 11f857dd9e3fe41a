//! `kubesecops dockerfile PATH...`: the Dockerfile rules (user, base image pinning and
//! allowlist, secrets in ENV/ARG, health check, ports, ADD, piped downloads, sudo).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Result;
use clap::Args;
use kubesecops_core::{Report, ReportError, Severity};
use kubesecops_image::compliance::{self, ComplianceConfig};
use kubesecops_image::dockerfile;
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_secrets::{builtin, Scanner};

use crate::metrics::MetricsArgs;
use crate::{output, Status};

/// Flags of `kubesecops dockerfile`.
#[derive(Debug, Args)]
pub struct DockerfileArgs {
    /// Dockerfiles (a directory means its `Dockerfile`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: table, json, sarif, junit.
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// An approved base image (`debian:12*`); repeatable. With any, other bases are reported.
    #[arg(long = "allowed-base", value_name = "IMAGE")]
    pub allowed_base: Vec<String>,
    /// Skip a rule (id); repeatable.
    #[arg(long, value_name = "ID")]
    pub skip: Vec<String>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Runs the rules and writes the report.
pub fn run(args: DockerfileArgs) -> Result<Status> {
    let metrics = args.metrics.start()?;
    let format = Format::from_str(&args.format).map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let scanner = Scanner::new(builtin::ruleset());
    let check = super::image::secret_check(&scanner);
    let settings = ComplianceConfig { allowed_base_images: args.allowed_base.clone() };
    let skipped: BTreeSet<String> = args.skip.iter().map(|s| s.trim().to_ascii_uppercase()).collect();
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for path in &args.paths {
        let file = if path.is_dir() { path.join("Dockerfile") } else { path.clone() };
        let shown = file.display().to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                errors.push(ReportError::at(shown, None, e.to_string()));
                continue;
            }
        };
        match dockerfile::parse(&text) {
            Ok(parsed) => findings.extend(compliance::check_dockerfile(&parsed, &shown, &settings, &check)),
            Err(e) => errors.push(ReportError::at(shown, u32::try_from(e.line).ok(), e.message)),
        }
    }
    findings.retain(|f| !skipped.contains(&f.rule.id.to_ascii_uppercase()));
    for error in &errors {
        let line = error.line.map(|l| format!(":{l}")).unwrap_or_default();
        eprintln!("kubesecops: error: {}{line}: {}", error.path, error.message);
    }
    let status = if !errors.is_empty() {
        Status::InputErrors
    } else if args.fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        Status::Findings
    } else {
        Status::Clean
    };
    let report = Report::with_findings(findings, errors);
    let mut out = output::open(args.output.as_deref())?;
    let lookup = |id: &str| compliance::find_rule(id);
    let mut config = RenderConfig::new(env!("CARGO_PKG_VERSION"));
    config.rule_lookup = Some(&lookup);
    config.color = output::stdout_is_terminal(args.output.as_deref());
    render(&report, format, &config, &mut out)?;
    out.flush()?;
    if let Some(metrics) = &metrics {
        metrics.publish("dockerfile", &report, status)?;
    }
    Ok(status)
}
