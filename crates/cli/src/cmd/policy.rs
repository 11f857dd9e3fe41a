//! `kubesecops policy`: `test` runs `opa test`-style Rego tests, `verify` runs Gatekeeper
//! suites in the `gator verify` format.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use kubesecops_core::{Report, ReportError};
use kubesecops_policy::opatest::{run_tests, TestOptions};
use kubesecops_policy::verify::run_suites;
use kubesecops_policy::DEFAULT_TIMEOUT;

use crate::{output, Status};

/// Flags of `kubesecops policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

/// The `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the `test_*` rules of Rego modules, like `opa test`.
    Test(TestArgs),
    /// Run Gatekeeper suites (`suite.yaml`, the `gator verify` format).
    Verify(VerifyArgs),
}

/// Output of `policy test` and `policy verify`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ResultFormat {
    /// One line per test or case, then a summary.
    #[value(alias = "txt", alias = "text")]
    Table,
    /// The JSON envelope with `results`.
    Json,
}

/// Flags shared by both subcommands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: ResultFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Time limit of one rule evaluation, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT.as_millis() as u64)]
    pub timeout_ms: u64,
}

/// Flags of `policy test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directories or files with `.rego` modules (tests and the policies they test) and
    /// JSON/YAML data.
    #[arg(required = true, value_name = "DIR")]
    pub paths: Vec<PathBuf>,
    /// Run only tests whose `data.package.name` matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub run: Option<String>,
    /// Leave out files whose name matches this glob (`*`, `?`); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub ignore: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags of `policy verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// `suite.yaml` files or directories searched for them.
    #[arg(required = true, value_name = "SUITE")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs `policy test` or `policy verify`: exit 1 when a test or case fails, 2 when a file
/// could not be loaded.
pub fn run(args: PolicyArgs) -> Result<Status> {
    match args.command {
        PolicyCommand::Test(args) => test(args),
        PolicyCommand::Verify(args) => verify(args),
    }
}

fn test(args: TestArgs) -> Result<Status> {
    let filter = args.run.as_deref().map(regex::Regex::new).transpose().context("--run")?;
    let options =
        TestOptions { filter, ignore: args.ignore, timeout: Duration::from_millis(args.common.timeout_ms) };
    let run = run_tests(&args.paths, &options);
    let lines: Vec<(bool, String, Option<String>)> = run
        .results
        .iter()
        .map(|r| (r.pass, format!("{}.{}", r.package, r.name), r.message.clone()))
        .collect();
    let results = serde_json::to_value(&run.results)?;
    write_report(&args.common, "test", results, &lines, &run.errors)
}

fn verify(args: VerifyArgs) -> Result<Status> {
    let timeout = Duration::from_millis(args.common.timeout_ms);
    let run = run_suites(&args.paths, timeout);
    let lines: Vec<(bool, String, Option<String>)> = run
        .results
        .iter()
        .map(|r| (r.pass, format!("{}: {} / {}", r.suite, r.test, r.case), r.message.clone()))
        .collect();
    let results = serde_json::to_value(&run.results)?;
    write_report(&args.common, "case", results, &lines, &run.errors)
}

/// Writes the results; the status is 2 when files failed to load, 1 when an item failed.
fn write_report(
    common: &CommonArgs,
    noun: &str,
    results: serde_json::Value,
    lines: &[(bool, String, Option<String>)],
    errors: &[ReportError],
) -> Result<Status> {
    let failed = lines.iter().filter(|(pass, _, _)| !pass).count();
    let status = if !errors.is_empty() && lines.is_empty() {
        Status::InputErrors
    } else if failed > 0 || !errors.is_empty() {
        Status::Findings
    } else {
        Status::Clean
    };
    let mut out = output::open(common.output.as_deref())?;
    match common.format {
        ResultFormat::Json => {
            let report = Report::with_section("results", results, errors.to_vec());
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        ResultFormat::Table => {
            for (pass, name, message) in lines {
                match (pass, message) {
                    (true, _) => writeln!(out, "PASS {name}")?,
                    (false, Some(why)) => writeln!(out, "FAIL {name}: {why}")?,
                    (false, None) => writeln!(out, "FAIL {name}")?,
                }
            }
            for e in errors {
                match e.line {
                    Some(line) => writeln!(out, "error: {}:{line}: {}", e.path, e.message)?,
                    None => writeln!(out, "error: {}: {}", e.path, e.message)?,
                }
            }
            writeln!(out, "{} {noun}(s): {} passed, {failed} failed", lines.len(), lines.len() - failed)?;
        }
    }
    out.flush()?;
    Ok(status)
}
