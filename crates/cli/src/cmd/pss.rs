//! `kubesecops pss`: the Pod Security Standards verdict for every pod, as the admission
//! controller would give it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use kubesecops_checks::pss::{self, Level, Version};
use kubesecops_core::Report;
use kubesecops_k8s::{discover, load_source, LoadOptions};
use rayon::prelude::*;

use crate::{output, Status};

/// Output of `pss`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PssFormat {
    /// One line per pod.
    #[value(alias = "txt", alias = "text")]
    Table,
    /// The JSON envelope with `results`.
    Json,
}

/// Flags of `kubesecops pss`.
#[derive(Debug, Args)]
pub struct PssArgs {
    /// Files, directories or `-` for stdin.
    #[arg(required = true, value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    /// Level to enforce: baseline or restricted (privileged allows everything).
    #[arg(long, default_value = "restricted")]
    pub level: Level,
    /// Version of the standard: v1.N or latest.
    #[arg(long, default_value = "latest")]
    pub version: Version,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: PssFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Evaluates every pod; exit 1 when any pod is denied, 2 when an input could not be read.
pub fn run(args: PssArgs) -> Result<Status> {
    let (sources, mut errors) = discover(&args.paths);
    let per_source: Vec<_> = sources
        .par_iter()
        .map(|source| {
            let loaded = load_source(source, &LoadOptions::default());
            let results: Vec<_> = loaded
                .objects
                .iter()
                .filter_map(|obj| pss::evaluate_object(obj, args.level, args.version))
                .collect();
            (results, loaded.errors)
        })
        .collect();
    let mut results = Vec::new();
    for (r, e) in per_source {
        results.extend(r);
        errors.extend(e);
    }
    let denied = results.iter().filter(|r| !r.allowed).count();
    let status = if !errors.is_empty() {
        Status::InputErrors
    } else if denied > 0 {
        Status::Findings
    } else {
        Status::Clean
    };
    let mut out = output::open(args.output.as_deref())?;
    match args.format {
        PssFormat::Json => {
            let report = Report::with_section("results", serde_json::to_value(&results)?, errors);
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        PssFormat::Table => {
            for r in &results {
                let verdict = if r.allowed { "allowed" } else { "DENIED" };
                write!(out, "{}: {} {verdict}", r.path, r.name)?;
                let checks: Vec<&str> = r.violations.iter().map(|v| v.check).collect();
                if !checks.is_empty() {
                    write!(out, " ({})", checks.join(", "))?;
                }
                writeln!(out)?;
                for v in &r.violations {
                    writeln!(out, "    {}: {}", v.check, v.message)?;
                }
            }
            writeln!(out, "{} pod(s): {} allowed, {denied} denied", results.len(), results.len() - denied)?;
            for e in &errors {
                match e.line {
                    Some(line) => writeln!(out, "error: {}:{line}: {}", e.path, e.message)?,
                    None => writeln!(out, "error: {}: {}", e.path, e.message)?,
                }
            }
        }
    }
    out.flush()?;
    Ok(status)
}
