//! `kubesecops secrets`: secret detection in files, directories, standard input and git
//! history, with the built-in rules or a gitleaks configuration.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use kubesecops_core::{Finding, Report, ReportError, Severity};
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_secrets::{builtin, config, scan_history, scan_paths, Ruleset, Scanner, BINARY_SKIPPED};

use crate::filter::{self, Choices};
use crate::metrics::MetricsArgs;
use crate::{output, Status};

/// Flags of `kubesecops secrets`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Files, directories (recursive, honouring .gitignore, binary files skipped) or `-` for
    /// stdin; with `--git`, git repositories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan git history instead of files: the lines every commit added, on every branch
    /// (`git log --all`); findings carry the commit, author and date.
    #[arg(long)]
    pub git: bool,
    /// With `--git`, `git log` arguments replacing `--all` (a range such as `main..HEAD`,
    /// `--since=2024-01-01`), split at spaces.
    #[arg(long, value_name = "ARGS", requires = "git")]
    pub log_opts: Option<String>,
    /// A gitleaks configuration (TOML) to use instead of the built-in rules; `[extend]
    /// useDefault = true` in it adds the built-in rules.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format: table, json, sarif, junit.
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Skip a rule (id or gitleaks alias); repeatable.
    #[arg(long, value_name = "ID")]
    pub skip: Vec<String>,
    /// Ignore file (default: .kubesecopsignore in the current directory, when present). Besides
    /// `RULE [PATH-GLOB] [exp:DATE]` entries, a line may hold a finding's fingerprint.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report: report only findings that are not in it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// The ruleset: the gitleaks config when given, else the built-in rules; minus skipped rules.
fn ruleset(args: &SecretsArgs) -> Result<Ruleset> {
    let mut ruleset = match &args.config {
        Some(path) => config::load_file(path).map_err(|e| anyhow::anyhow!("--config: {e}"))?,
        None => builtin::ruleset(),
    };
    if !ruleset.notes.is_empty() {
        output::notices(&ruleset.notes);
    }
    for id in &args.skip {
        let before = ruleset.rules.len();
        ruleset.rules.retain(|rule| !rule.matches(id));
        if ruleset.rules.len() == before {
            eprintln!("kubesecops: note: --skip {id}: no rule has this id or alias");
        }
    }
    Ok(ruleset)
}

/// Runs the scan and writes the report.
pub fn run(args: SecretsArgs) -> Result<Status> {
    let metrics = args.metrics.start()?;
    let format = Format::from_str(&args.format).map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let scanner = Scanner::new(ruleset(&args)?);
    let mut findings: Vec<Finding> = Vec::new();
    let mut errors = Vec::new();
    let mut notices: Vec<ReportError> = Vec::new();
    let (mut inputs, mut bytes) = (0, 0);
    if args.git {
        let log_args: Vec<String> =
            args.log_opts.as_deref().unwrap_or("").split_whitespace().map(str::to_string).collect();
        for repo in &args.paths {
            match scan_history(&scanner, repo, &log_args) {
                Ok(history) => {
                    inputs += history.commits;
                    bytes += history.bytes;
                    for result in &history.results {
                        let vcs = Box::new((*result.commit).clone());
                        let short = &vcs.commit[..vcs.commit.len().min(12)];
                        let day = vcs.date.get(..10).unwrap_or(&vcs.date);
                        findings.extend(result.matches.iter().map(|m| {
                            let finding = scanner.finding(m, &result.path, None);
                            Finding {
                                // Table and JUnit show only the message: say the commit there too.
                                message: format!("{} (commit {short}, {day})", finding.message),
                                vcs: Some(vcs.clone()),
                                ..finding
                            }
                        }));
                    }
                }
                Err(err) => errors.push(ReportError::at(repo.display().to_string(), None, err.to_string())),
            }
        }
    } else {
        let output = scan_paths(&scanner, &args.paths);
        inputs = output.scanned;
        bytes = output.bytes;
        for file in &output.files {
            let path: &Arc<str> = &file.path;
            findings.extend(file.matches.iter().map(|m| scanner.finding(m, path, None)));
        }
        errors = output.errors;
        notices = output.skipped;
    }

    let choices = Choices {
        skip: Vec::new(),
        severities: Vec::new(),
        ignore_file: args.ignore_file.clone(),
        baseline: args.baseline.clone(),
    };
    choices.apply(&mut findings, &mut errors, &mut notices)?;
    let status = filter::exit_status(&errors, &findings, args.fail_on);
    let finding_count = findings.len();
    let mut report = Report::with_findings(findings, errors);
    if !notices.is_empty() {
        // Binary files can be many: one line on stderr, the list in the report.
        let binaries = notices.iter().filter(|n| n.message == BINARY_SKIPPED).count();
        let mut lines: Vec<String> = notices
            .iter()
            .filter(|n| n.message != BINARY_SKIPPED)
            .map(|n| format!("{}: {}", n.path, n.message))
            .collect();
        if binaries > 0 {
            lines.push(format!("{binaries} binary file(s) skipped (listed under \"notices\" in JSON)"));
        }
        output::notices(&lines);
        report.sections.insert("notices".to_string(), serde_json::to_value(&notices)?);
    }

    let mut out = output::open(args.output.as_deref())?;
    let lookup = |id: &str| builtin::find(id).map(|rule| &rule.meta);
    let mut config = RenderConfig::new(env!("CARGO_PKG_VERSION"));
    config.rule_lookup = Some(&lookup);
    config.color = output::stdout_is_terminal(args.output.as_deref());
    render(&report, format, &config, &mut out)?;
    out.flush()?;
    if let Some(metrics) = &metrics {
        metrics.publish("secrets", &report, status)?;
    }
    if std::io::stderr().is_terminal() {
        eprintln!(
            "kubesecops: {inputs} {}, {:.1} MB, {} rule(s): {finding_count} finding(s), {} error(s)",
            if args.git { "commit(s)" } else { "file(s)" },
            bytes as f64 / 1e6,
            scanner.rules().len(),
            report.errors.len()
        );
    }
    Ok(status)
}
