//! Development tasks for kubesecops, run as `cargo xtask <task>` (an alias in
//! `.cargo/config.toml` for `cargo run -p xtask --`).
//!
//! Tasks:
//! - `conformance [--suites DIR]`: scores kubesecops against the external test suites in
//!   DIR (default: `../shared/suites` beside the repository), one line per suite and per
//!   part, and exits non-zero when a suite scores below its goal.

mod conformance;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask conformance [--suites DIR]

  conformance   score kubesecops against the external suites
                (default DIR: ../shared/suites beside the repository;
                with CI=true a missing DIR is an error)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("conformance") => {
            let mut suites_dir = None;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--suites" => {
                        suites_dir = Some(PathBuf::from(args.next().context("--suites needs a directory")?));
                    }
                    "-h" | "--help" => {
                        println!("{USAGE}");
                        return Ok(ExitCode::SUCCESS);
                    }
                    other => bail!("unknown argument {other:?}\n{USAGE}"),
                }
            }
            let suites_dir = suites_dir.unwrap_or_else(conformance::default_suites_dir);
            conformance::run(&suites_dir)
        }
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
    }
}
