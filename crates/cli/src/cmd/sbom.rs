//! `kubesecops sbom PATH`: the vulnerabilities of the packages an SBOM (CycloneDX or SPDX
//! JSON) lists, matched against the local database.

use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result};
use clap::Args;
use kubesecops_core::{Report, Severity};
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_sbom::{cyclonedx, spdx, WriteOptions};
use kubesecops_vulndb::{match_packages, parse_severity_list, vulnerability_findings, FindingOptions};

use crate::metrics::MetricsArgs;
use crate::{output, Status};

/// Flags of `kubesecops sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// A CycloneDX or SPDX JSON document.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Vulnerability database directory (default: the user's cache directory).
    #[arg(long, value_name = "DIR", env = "KUBESECOPS_DB")]
    pub db: Option<PathBuf>,
    /// Report only these severities, comma-separated (`HIGH,CRITICAL`).
    #[arg(long, value_name = "LIST")]
    pub severity: Option<String>,
    /// Leave out vulnerabilities that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Output format: table, json, sarif, junit, or cyclonedx / spdx (the SBOM again, with
    /// the vulnerabilities found in CycloneDX).
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Output formats of `sbom`: the shared report or an SBOM.
#[derive(Debug)]
enum SbomFormat {
    Report(Format),
    CycloneDx,
    Spdx,
}

fn parse_format(text: &str) -> Result<SbomFormat> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "cyclonedx" => SbomFormat::CycloneDx,
        "spdx" | "spdx-json" => SbomFormat::Spdx,
        other => SbomFormat::Report(
            Format::from_str(other).map_err(|e| anyhow::anyhow!("--format: {e} (or cyclonedx, spdx)"))?,
        ),
    })
}

/// Runs the scan and writes the report.
pub fn run(args: SbomArgs) -> Result<Status> {
    let metrics = args.metrics.start()?;
    let format = parse_format(&args.format)?;
    let severities = match &args.severity {
        Some(list) => parse_severity_list(list).map_err(|e| anyhow::anyhow!("--severity: {e}"))?,
        None => Vec::new(),
    };
    let shown = args.path.display().to_string();
    let bytes = std::fs::read(&args.path).with_context(|| format!("{shown}: cannot read"))?;
    let mut sbom = kubesecops_sbom::read(&bytes, &shown)?;
    let (store, status) = super::db::open_for_scan(args.db.as_deref())?;

    let refs = sbom.package_refs();
    let matches = match_packages(&store, refs.iter().copied())?;
    let options =
        FindingOptions { target: &shown, ignore_unfixed: args.ignore_unfixed, severities: &severities };
    let findings = vulnerability_findings(&refs, &matches, &options);

    // Packages a distribution's advisories cannot be matched to without the release.
    let unreleased: Vec<String> = sbom
        .packages
        .iter()
        .filter(|p| matches!(p.ecosystem.as_str(), "Debian" | "Ubuntu" | "Alpine"))
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    if !unreleased.is_empty() {
        output::notices(&[format!(
            "{shown}: {} distribution package(s) name no release (no `distro` qualifier or operating-system \
             component), so no distribution advisory can match them: {}",
            unreleased.len(),
            unreleased.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )]);
    }
    let exit = if args.fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        Status::Findings
    } else {
        Status::Clean
    };
    let kept_matches: Vec<_> = matches.into_iter().filter(|m| options.keeps(m)).collect();
    let mut out = output::open(args.output.as_deref())?;
    // Built for every format: metrics count its findings whatever the output.
    let mut report = Report::with_findings(findings, Vec::new());
    super::db::attach_status(&mut report, &status)?;
    match format {
        SbomFormat::CycloneDx | SbomFormat::Spdx => {
            sbom.set_vulnerabilities(&kept_matches);
            let options = WriteOptions::now(env!("CARGO_PKG_VERSION"));
            let document = match format {
                SbomFormat::CycloneDx => cyclonedx::write(&sbom, &options),
                _ => spdx::write(&sbom, &options),
            };
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        SbomFormat::Report(format) => {
            report.sections.insert("packages".to_string(), serde_json::Value::from(sbom.packages.len()));
            let config = RenderConfig::new(env!("CARGO_PKG_VERSION"));
            render(&report, format, &config, &mut out)?;
        }
    }
    out.flush()?;
    if let Some(metrics) = &metrics {
        metrics.publish("sbom", &report, exit)?;
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_include_sboms() {
        assert!(matches!(parse_format("CycloneDX").unwrap(), SbomFormat::CycloneDx));
        assert!(matches!(parse_format("spdx").unwrap(), SbomFormat::Spdx));
        assert!(matches!(parse_format("json").unwrap(), SbomFormat::Report(Format::Json)));
        assert!(parse_format("yaml").unwrap_err().to_string().contains("cyclonedx"));
    }
}
