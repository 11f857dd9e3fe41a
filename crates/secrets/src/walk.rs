//! Scanning files, directories and standard input in parallel.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use kubesecops_core::ReportError;
use rayon::prelude::*;

use crate::scanner::{Input, Scanner, SecretMatch};

/// The notice of a binary file that was not scanned.
pub const BINARY_SKIPPED: &str = "binary file skipped";

/// How many leading bytes are inspected to decide that a file is binary.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// One input of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, reported as `-`.
    Stdin,
}

impl Target {
    /// The path findings report.
    pub fn display(&self) -> String {
        match self {
            Target::File(p) => p.display().to_string(),
            Target::Stdin => "-".to_string(),
        }
    }
}

/// The secrets of one input.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The path as reported.
    pub path: Arc<str>,
    /// What was found, in rule order.
    pub matches: Vec<SecretMatch>,
}

/// Everything a scan of several inputs gave.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// Inputs with at least one finding.
    pub files: Vec<FileResult>,
    /// Inputs that could not be read.
    pub errors: Vec<ReportError>,
    /// Inputs skipped on purpose (binary content), said so users know.
    pub skipped: Vec<ReportError>,
    /// Number of inputs scanned.
    pub scanned: usize,
    /// Bytes scanned.
    pub bytes: u64,
}

/// Expands user paths: `-` is standard input, a directory is walked recursively honouring
/// `.gitignore` and `.ignore` (hidden files such as `.env` are included; `.git` is not).
pub fn discover(paths: &[PathBuf]) -> (Vec<Target>, Vec<ReportError>) {
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            targets.push(Target::Stdin);
        } else if path.is_dir() {
            let walker = ignore::WalkBuilder::new(path)
                .hidden(false)
                .require_git(false)
                .filter_entry(|entry| entry.file_name() != ".git")
                .sort_by_file_name(|a, b| a.cmp(b))
                .build();
            for entry in walker {
                match entry {
                    Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                        targets.push(Target::File(entry.into_path()));
                    }
                    Ok(_) => {}
                    Err(err) => {
                        errors.push(ReportError::at(path.display().to_string(), None, err.to_string()))
                    }
                }
            }
        } else if path.is_file() {
            targets.push(Target::File(path.clone()));
        } else {
            errors.push(ReportError::at(path.display().to_string(), None, "no such file or directory"));
        }
    }
    (targets, errors)
}

/// True when the bytes look binary: a NUL byte in the first 8 KiB, as git decides.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_LEN)].contains(&0)
}

enum Outcome {
    Scanned(FileResult, u64),
    Skipped(ReportError),
    Failed(ReportError),
}

fn scan_target(scanner: &Scanner, target: &Target) -> Outcome {
    let label = target.display();
    if let Target::File(path) = target {
        if scanner.skips_file(path) {
            return Outcome::Skipped(ReportError::at(
                label,
                None,
                "the rules' own config file is not scanned",
            ));
        }
    }
    let bytes = match target {
        Target::File(path) => std::fs::read(path),
        Target::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
        }
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(err) => return Outcome::Failed(ReportError::at(label, None, format!("cannot read: {err}"))),
    };
    let path: Arc<str> = Arc::from(label.as_str());
    if is_binary(&bytes) {
        // Path-only rules still apply to binary files (key stores, certificates).
        let matches = scanner.scan(&Input::new(&path, ""));
        if matches.is_empty() {
            return Outcome::Skipped(ReportError::at(label, None, BINARY_SKIPPED));
        }
        return Outcome::Scanned(FileResult { path, matches }, 0);
    }
    let text = String::from_utf8_lossy(&bytes);
    let matches = scanner.scan(&Input::new(&path, &text));
    Outcome::Scanned(FileResult { path, matches }, bytes.len() as u64)
}

/// Scans every target in parallel. Results are in target order.
pub fn scan_targets(scanner: &Scanner, targets: &[Target]) -> ScanOutput {
    let outcomes: Vec<Outcome> = targets.par_iter().map(|t| scan_target(scanner, t)).collect();
    let mut out = ScanOutput::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Scanned(result, bytes) => {
                out.scanned += 1;
                out.bytes += bytes;
                if !result.matches.is_empty() {
                    out.files.push(result);
                }
            }
            Outcome::Skipped(notice) => out.skipped.push(notice),
            Outcome::Failed(err) => out.errors.push(err),
        }
    }
    out
}

/// Discovers and scans `paths`.
pub fn scan_paths(scanner: &Scanner, paths: &[PathBuf]) -> ScanOutput {
    let (targets, errors) = discover(paths);
    let mut out = scan_targets(scanner, &targets);
    out.errors.splice(0..0, errors);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    const TOKEN: &str = "GITHUB_TOKEN=ghp_FAKE0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p\n";

    #[test]
    fn directories_honour_gitignore_include_dotfiles_and_skip_git_and_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join(".env"), TOKEN).unwrap();
        std::fs::write(root.join("ignored.txt"), TOKEN).unwrap();
        std::fs::write(root.join(".git/config"), TOKEN).unwrap();
        std::fs::write(root.join("src/clean.rs"), "fn main() {}\n").unwrap();
        let mut binary = b"\x00\x01\x02".to_vec();
        binary.extend_from_slice(TOKEN.as_bytes());
        std::fs::write(root.join("src/blob.bin"), binary).unwrap();

        let scanner = Scanner::new(builtin::ruleset());
        let out = scan_paths(&scanner, &[root.to_path_buf(), root.join("missing")]);
        let with_findings: Vec<&str> = out.files.iter().map(|f| f.path.as_ref()).collect();
        assert_eq!(with_findings.len(), 1, "{with_findings:?}");
        assert!(with_findings[0].ends_with(".env"));
        assert_eq!(out.skipped.len(), 1);
        assert!(out.skipped[0].path.ends_with("blob.bin"));
        assert_eq!(out.errors.len(), 1);
        assert!(out.errors[0].path.ends_with("missing"));
        assert_eq!(out.scanned, 3, ".gitignore, .env, src/clean.rs");
    }

    #[test]
    fn the_config_file_is_not_scanned() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gitleaks.toml");
        let text = "[[rules]]\nid = 'pat'\nregex = 'ghp_[0-9A-Za-z]{36}'\n# ghp_FAKE0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p\n";
        std::fs::write(&config, text).unwrap();
        std::fs::write(dir.path().join("app.env"), TOKEN).unwrap();
        let scanner = Scanner::new(crate::config::load_file(&config).unwrap());
        let out = scan_paths(&scanner, &[dir.path().to_path_buf()]);
        assert_eq!(out.files.len(), 1);
        assert!(out.files[0].path.ends_with("app.env"));
        assert!(out.skipped.iter().any(|n| n.path.ends_with("gitleaks.toml")));
    }

    #[test]
    fn binary_detection() {
        assert!(is_binary(b"ab\x00cd"));
        assert!(!is_binary("naïve text\n".as_bytes()));
    }
}
