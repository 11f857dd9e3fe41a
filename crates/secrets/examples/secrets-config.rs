//! Loads a gitleaks config and scans paths with it through the calls `kubesecops secrets
//! --config CONFIG PATH...` makes (`load_file`, `Scanner::new`, `scan_paths`), without the
//! CLI's report, so that the memory and time a config costs can be measured on a small build:
//! `cargo run --release -p kubesecops-secrets --example secrets-config -- CONFIG PATH...`.
//! Prints the number of rules, files scanned and matches; a config error goes to stderr with
//! exit code 2. Used by `scripts/bench-gitleaks-config.sh`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use kubesecops_secrets::{load_file, scan_paths, Scanner};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((config, paths)) = args.split_first() else {
        eprintln!("usage: secrets-config CONFIG PATH...");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let ruleset = match load_file(Path::new(config)) {
        Ok(ruleset) => ruleset,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let rules = ruleset.rules.len();
    let loaded = started.elapsed();
    let scanner = Scanner::new(ruleset);
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let output = scan_paths(&scanner, &paths);
    let matches: usize = output.files.iter().map(|f| f.matches.len()).sum();
    println!(
        "{rules} rules loaded in {:.3} s; {} files, {} bytes scanned; {matches} matches; {:.3} s in all",
        loaded.as_secs_f64(),
        output.scanned,
        output.bytes,
        started.elapsed().as_secs_f64()
    );
    for error in &output.errors {
        eprintln!("{}: {}", error.path, error.message);
    }
    ExitCode::SUCCESS
}
