//! `kubesecops forensics`: checking and exporting the evidence `runtime serve --evidence DIR`
//! keeps.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kubesecops_forensics::{export, verify, ExportFilter};
use kubesecops_runtime::time::parse_rfc3339;

use crate::{output, Status};

/// Flags of `kubesecops forensics`.
#[derive(Debug, Args)]
pub struct ForensicsArgs {
    #[command(subcommand)]
    pub command: ForensicsCommand,
}

/// The `forensics` subcommands.
#[derive(Debug, Subcommand)]
pub enum ForensicsCommand {
    /// Verify an evidence directory: every record's hash, the chain's order and links, and its
    /// end against the committed head. Exit 1 when something was edited, deleted, truncated
    /// or reordered (each place is named: file, line, record number).
    Verify(VerifyArgs),
    /// Write a bundle of alert records (JSON lines: a header with the verification result,
    /// then the records as stored, hashes included).
    Export(ExportArgs),
}

/// Flags of `kubesecops forensics verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The evidence directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Flags of `kubesecops forensics export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The evidence directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Only alerts whose event time is at or after T: an RFC 3339 time
    /// (2024-05-01T10:00:00Z) or an age (90s, 30m, 12h, 7d).
    #[arg(long, value_name = "T", value_parser = parse_since)]
    pub since: Option<i64>,
    /// Only alerts of this rule; repeat for several.
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Write the bundle to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// An RFC 3339 time or an age before now, as nanoseconds since the epoch.
fn parse_since(text: &str) -> Result<i64, String> {
    if let Some(ns) = parse_rfc3339(text) {
        return Ok(ns);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    let count: i64 = number.parse().unwrap_or(-1);
    if seconds == 0 || count < 0 {
        return Err(format!("{text:?} is neither an RFC 3339 time nor an age like 30m, 12h or 7d"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Ok(now - count.saturating_mul(seconds).saturating_mul(1_000_000_000))
}

/// Runs a `forensics` subcommand.
pub fn run(args: ForensicsArgs) -> Result<Status> {
    match args.command {
        ForensicsCommand::Verify(args) => run_verify(args),
        ForensicsCommand::Export(args) => run_export(args),
    }
}

fn run_verify(args: VerifyArgs) -> Result<Status> {
    let result = verify(&args.dir)?;
    let mut stdout = std::io::stdout().lock();
    for problem in &result.problems {
        writeln!(stdout, "TAMPERED {problem}")?;
    }
    for warning in &result.warnings {
        writeln!(stdout, "warning  {warning}")?;
    }
    let head = match &result.head {
        Some((seq, hash)) => format!("committed head: record {seq} ({})", &hash[..hash.len().min(16)]),
        None => "no committed head".to_string(),
    };
    writeln!(
        stdout,
        "{}: {} record(s) in {} segment(s); {head}; {}",
        args.dir.display(),
        result.records,
        result.segments,
        if result.is_intact() {
            "chain intact".to_string()
        } else {
            format!("{} problem(s)", result.problems.len())
        }
    )?;
    Ok(if result.is_intact() { Status::Clean } else { Status::Findings })
}

fn run_export(args: ExportArgs) -> Result<Status> {
    let filter = ExportFilter { since_ns: args.since, rules: args.rules };
    let mut out = output::open(args.output.as_deref())?;
    let summary = export(&args.dir, &filter, &mut out).context("export")?;
    out.flush()?;
    eprintln!(
        "kubesecops: exported {} alert record(s) from {} ({})",
        summary.records,
        args.dir.display(),
        if summary.verification.is_intact() {
            "chain intact".to_string()
        } else {
            format!(
                "chain has {} problem(s): run `kubesecops forensics verify`",
                summary.verification.problems.len()
            )
        }
    );
    Ok(if summary.verification.is_intact() { Status::Clean } else { Status::Findings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_and_ages() {
        assert_eq!(parse_since("2024-05-01T10:00:00Z"), Ok(1_714_557_600_000_000_000));
        let hour_ago = parse_since("1h").unwrap();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
        assert!((now - hour_ago - 3_600_000_000_000).abs() < 5_000_000_000);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("5w").is_err());
    }
}
