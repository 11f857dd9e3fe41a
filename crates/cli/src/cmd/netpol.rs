//! `kubesecops netpol`: exact reachability under NetworkPolicies, AdminNetworkPolicies
//! and the BaselineAdminNetworkPolicy (netpol-analyzer's `list` and `diff`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use kubesecops_core::{Report, ReportError, SCHEMA_VERSION};
use kubesecops_netpol::output::{self, Direction, Filter};
use kubesecops_netpol::{connlist, diff, load, NetpolError, Reachability};

use crate::{output as out, Status};

/// Flags of `kubesecops netpol`.
#[derive(Debug, Args)]
pub struct NetpolArgs {
    #[command(subcommand)]
    pub command: NetpolCommand,
}

/// The `netpol` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetpolCommand {
    /// List every allowed connection between workloads, and between workloads and
    /// external address blocks, per protocol and port.
    Connlist(ConnlistArgs),
    /// Connections added, removed and changed from DIR1 to DIR2.
    Diff(DiffArgs),
    /// Probe cases (source, destination, port, expected verdict) that exercise every
    /// policy rule and every default deny, to prove the reachability in a cluster.
    TestPlan(TestPlanArgs),
}

/// Output of `netpol test-plan`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TestPlanFormat {
    /// The JSON envelope with `probes` and `uncovered`.
    Json,
    /// YAML with `probes` and `uncovered`.
    Yaml,
}

/// Flags of `kubesecops netpol test-plan`.
#[derive(Debug, Args)]
pub struct TestPlanArgs {
    /// Manifest files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "json")]
    pub format: TestPlanFormat,
    /// Write the plan to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output of `netpol connlist`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConnlistFormat {
    /// netpol-analyzer's `src => dst : conns` lines.
    #[value(alias = "text")]
    Txt,
    /// The JSON envelope with `connections`.
    Json,
    /// `src,dst,conn`.
    Csv,
    /// A Markdown table.
    Md,
    /// A Graphviz digraph.
    Dot,
}

/// `--focus-direction`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FocusDirection {
    /// Connections into the focus workloads.
    Ingress,
    /// Connections out of the focus workloads.
    Egress,
}

/// Flags of `kubesecops netpol connlist`.
#[derive(Debug, Args)]
pub struct ConnlistArgs {
    /// Manifest files or directories (searched recursively for .yaml, .yml, .json).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "txt")]
    pub format: ConnlistFormat,
    /// Write the output to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only connections of these workloads (`name` or `namespace/name`; repeatable or
    /// comma-separated; `ingress-controller` names the ingress controller).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub focus_workload: Vec<String>,
    /// With --focus-workload: only connections whose other end is one of these.
    #[arg(long, value_name = "NAME", value_delimiter = ',', requires = "focus_workload")]
    pub focus_workload_peer: Vec<String>,
    /// With --focus-workload: only connections into (ingress) or out of (egress) them.
    #[arg(long, value_enum, requires = "focus_workload")]
    pub focus_direction: Option<FocusDirection>,
    /// Also report what each workload is exposed to: external ranges, any pod of the
    /// cluster, and directions no policy protects (txt and json).
    #[arg(long)]
    pub exposure: bool,
    /// Instead of the list, explain each pair (allowed or not): which policies and rules
    /// decide each direction (txt and json; combine with --focus-workload on large inputs).
    #[arg(long)]
    pub explain: bool,
}

/// Output of `netpol diff`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    /// netpol-analyzer's `diff-type: ..., source: ..., destination: ...` lines.
    #[value(alias = "text")]
    Txt,
    /// The JSON envelope with `diff`.
    Json,
    /// `diff-type,source,destination,ref1,ref2,workloads-diff-info`.
    Csv,
    /// A Markdown table.
    Md,
}

/// Flags of `kubesecops netpol diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first version (ref1): a manifest file or directory.
    #[arg(value_name = "DIR1")]
    pub dir1: PathBuf,
    /// The second version (ref2).
    #[arg(value_name = "DIR2")]
    pub dir2: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "txt")]
    pub format: DiffFormat,
    /// Write the output to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs a `netpol` subcommand.
pub fn run(args: NetpolArgs) -> Result<Status> {
    match args.command {
        NetpolCommand::Connlist(a) => run_connlist(a),
        NetpolCommand::Diff(a) => run_diff(a),
        NetpolCommand::TestPlan(a) => run_test_plan(a),
    }
}

/// Reads and analyses inputs. `Err` carries the errors that prevent any result.
fn analyse(paths: &[PathBuf]) -> Result<(Reachability, Vec<ReportError>), Vec<ReportError>> {
    let input = load(paths);
    let mut errors = input.errors;
    match connlist(&input.objects) {
        Ok((reach, skipped)) => {
            errors.extend(skipped);
            Ok((reach, errors))
        }
        Err(NetpolError::Invalid(invalid)) => {
            errors.extend(invalid.iter().map(|e| e.to_report()));
            Err(errors)
        }
    }
}

fn print_errors(errors: &[ReportError]) {
    let mut stderr = std::io::stderr().lock();
    for e in errors {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(stderr, "kubesecops: error: {}{line}: {}", e.path, e.message);
    }
}

/// An envelope with errors only: the analysis could not run, so no `connections`.
fn error_report(errors: Vec<ReportError>) -> Report {
    Report { schema_version: SCHEMA_VERSION, findings: None, sections: Default::default(), errors }
}

fn run_connlist(args: ConnlistArgs) -> Result<Status> {
    let mut w = out::open(args.output.as_deref())?;
    let (reach, errors) = match analyse(&args.paths) {
        Ok(r) => r,
        Err(errors) => {
            print_errors(&errors);
            if let ConnlistFormat::Json = args.format {
                serde_json::to_writer_pretty(&mut w, &error_report(errors))?;
                writeln!(w)?;
                w.flush()?;
            }
            return Ok(Status::InputErrors);
        }
    };
    let filter = Filter {
        focus_workloads: args.focus_workload,
        focus_workload_peers: args.focus_workload_peer,
        focus_direction: args.focus_direction.map(|d| match d {
            FocusDirection::Ingress => Direction::Ingress,
            FocusDirection::Egress => Direction::Egress,
        }),
    };
    let notices: Vec<String> = filter
        .unknown_workloads(&reach)
        .into_iter()
        .map(|f| format!("workload {f:?} is not in the input"))
        .chain(reach.resources.warnings.iter().map(ToString::to_string))
        .chain(reach.warnings.iter().cloned())
        .collect();
    out::notices(&notices);
    let text_or_json = matches!(args.format, ConnlistFormat::Txt | ConnlistFormat::Json);
    if (args.explain || args.exposure) && !text_or_json {
        out::notices(&["--explain and --exposure are written in the txt and json formats only".to_string()]);
    }
    let explanations = match args.explain && text_or_json {
        true => Some(reach.explain(&output::explain_pairs(&reach, &filter))?),
        false => None,
    };
    let exposure = match args.exposure && text_or_json {
        true => Some(reach.exposure()?),
        false => None,
    };
    let lines = output::lines(&reach, &filter);
    match args.format {
        ConnlistFormat::Txt => {
            let mut text = match &explanations {
                Some(e) => output::explain_txt(e),
                None => output::txt(&reach, &lines),
            };
            if let Some(exposure) = &exposure {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&output::exposure_txt(exposure));
            }
            w.write_all(text.as_bytes())?
        }
        ConnlistFormat::Csv => w.write_all(output::csv(&reach, &lines).as_bytes())?,
        ConnlistFormat::Md => w.write_all(output::md(&reach, &lines).as_bytes())?,
        ConnlistFormat::Dot => w.write_all(output::dot(&reach, &lines).as_bytes())?,
        ConnlistFormat::Json => {
            let mut report =
                Report::with_section("connections", output::json_connections(&reach, &lines), errors.clone());
            if let Some(e) = &explanations {
                report.sections.insert("explanations".to_string(), serde_json::to_value(e)?);
            }
            if let Some(e) = &exposure {
                report.sections.insert("exposure".to_string(), serde_json::to_value(e)?);
            }
            serde_json::to_writer_pretty(&mut w, &report)?;
            writeln!(w)?;
        }
    }
    w.flush()?;
    if !matches!(args.format, ConnlistFormat::Json) {
        print_errors(&errors);
    }
    Ok(if errors.is_empty() { Status::Clean } else { Status::InputErrors })
}

fn run_diff(args: DiffArgs) -> Result<Status> {
    let mut w = out::open(args.output.as_deref())?;
    let first = analyse(std::slice::from_ref(&args.dir1));
    let second = analyse(std::slice::from_ref(&args.dir2));
    let ((ref1, e1), (ref2, e2)) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let mut errors = Vec::new();
            for r in [a, b] {
                match r {
                    Ok((_, e)) | Err(e) => errors.extend(e),
                }
            }
            print_errors(&errors);
            if let DiffFormat::Json = args.format {
                serde_json::to_writer_pretty(&mut w, &error_report(errors))?;
                writeln!(w)?;
                w.flush()?;
            }
            return Ok(Status::InputErrors);
        }
    };
    let errors: Vec<ReportError> = e1.into_iter().chain(e2).collect();
    let lines = diff::diff(&ref1, &ref2);
    match args.format {
        DiffFormat::Txt => w.write_all(diff::txt(&lines).as_bytes())?,
        DiffFormat::Csv => w.write_all(diff::csv(&lines).as_bytes())?,
        DiffFormat::Md => w.write_all(diff::md(&lines).as_bytes())?,
        DiffFormat::Json => {
            let report = Report::with_section("diff", serde_json::to_value(&lines)?, errors.clone());
            serde_json::to_writer_pretty(&mut w, &report)?;
            writeln!(w)?;
        }
    }
    w.flush()?;
    if !matches!(args.format, DiffFormat::Json) {
        print_errors(&errors);
    }
    Ok(if errors.is_empty() { Status::Clean } else { Status::InputErrors })
}

fn run_test_plan(args: TestPlanArgs) -> Result<Status> {
    let mut w = out::open(args.output.as_deref())?;
    let (reach, errors) = match analyse(&args.paths) {
        Ok(r) => r,
        Err(errors) => {
            print_errors(&errors);
            if let TestPlanFormat::Json = args.format {
                serde_json::to_writer_pretty(&mut w, &error_report(errors))?;
                writeln!(w)?;
                w.flush()?;
            }
            return Ok(Status::InputErrors);
        }
    };
    let plan = reach.test_plan()?;
    match args.format {
        TestPlanFormat::Yaml => {
            w.write_all(kubesecops_netpol::engine::test_plan_yaml(&plan).as_bytes())?;
            print_errors(&errors);
        }
        TestPlanFormat::Json => {
            let mut report =
                Report::with_section("probes", serde_json::to_value(&plan.probes)?, errors.clone());
            report.sections.insert("uncovered".to_string(), serde_json::to_value(&plan.uncovered)?);
            serde_json::to_writer_pretty(&mut w, &report)?;
            writeln!(w)?;
        }
    }
    w.flush()?;
    Ok(if errors.is_empty() { Status::Clean } else { Status::InputErrors })
}
