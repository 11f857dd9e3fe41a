//! History scanning against a real repository built with the git CLI.

use std::path::Path;
use std::process::Command;

use kubesecops_secrets::{builtin, scan_history, GitError, Scanner};

const TOKEN: &str = "ghp_FAKE0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p";

fn git(dir: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_secret_added_then_removed_is_reported_once_with_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
    std::fs::write(repo.join("README.md"), "# app\n\nnothing here\n").unwrap();
    git(repo, &["add", "."], "2024-01-01T00:00:00Z");
    git(repo, &["commit", "-q", "-m", "init"], "2024-01-01T10:00:00+00:00");

    std::fs::write(repo.join("README.md"), format!("# app\n\nnothing here\nexport GITHUB_TOKEN={TOKEN}\n"))
        .unwrap();
    git(repo, &["commit", "-q", "-am", "add token"], "2024-02-03T04:05:06+02:00");
    let added = git(repo, &["rev-parse", "HEAD"], "2024-02-03T04:05:06+02:00");

    std::fs::write(repo.join("README.md"), "# app\n\nnothing here\n").unwrap();
    git(repo, &["commit", "-q", "-am", "remove token"], "2024-02-04T00:00:00+00:00");
    assert!(!std::fs::read_to_string(repo.join("README.md")).unwrap().contains("ghp_"));

    let scanner = Scanner::new(builtin::ruleset());
    let out = scan_history(&scanner, repo, &[]).unwrap();
    assert_eq!(out.commits, 3);
    assert_eq!(out.results.len(), 1, "{:?}", out.results);
    let result = &out.results[0];
    assert_eq!(&*result.path, "README.md");
    assert_eq!(result.commit.commit, added);
    assert_eq!(result.commit.author, "Ada Lovelace <ada@example.com>");
    assert_eq!(result.commit.date, "2024-02-03T04:05:06+02:00");
    assert_eq!(result.matches.len(), 1);
    assert_eq!(result.matches[0].line, Some(4), "the line in the file at that commit");
    assert_eq!(result.matches[0].redacted, "ghp_****");
}

#[test]
fn commit_allowlists_and_ranges_apply() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
    std::fs::write(repo.join("a.env"), format!("GITHUB_TOKEN={TOKEN}\n")).unwrap();
    git(repo, &["add", "."], "2024-01-01T00:00:00Z");
    git(repo, &["commit", "-q", "-m", "one"], "2024-01-01T00:00:00Z");
    let first = git(repo, &["rev-parse", "HEAD"], "2024-01-01T00:00:00Z");
    std::fs::write(repo.join("b.env"), format!("GITHUB_TOKEN={TOKEN}\n")).unwrap();
    git(repo, &["add", "."], "2024-01-02T00:00:00Z");
    git(repo, &["commit", "-q", "-m", "two"], "2024-01-02T00:00:00Z");

    // Written after the commits: untracked, so not part of the history scanned.
    let config = repo.join("gitleaks.toml");
    std::fs::write(&config, format!("[extend]\nuseDefault = true\n[allowlist]\ncommits = [\"{first}\"]\n"))
        .unwrap();
    let ruleset = kubesecops_secrets::load_file(&config).unwrap();
    let out = scan_history(&Scanner::new(ruleset), repo, &[]).unwrap();
    let paths: Vec<&str> = out.results.iter().map(|r| &*r.path).collect();
    assert_eq!(paths, ["b.env"]);

    let scanner = Scanner::new(builtin::ruleset());
    let range = scan_history(&scanner, repo, &[format!("{first}..HEAD")]).unwrap();
    assert_eq!(range.commits, 1);
    assert_eq!(range.results.len(), 1);
}

#[test]
fn a_directory_that_is_not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let scanner = Scanner::new(builtin::ruleset());
    match scan_history(&scanner, dir.path(), &[]) {
        Err(GitError::Failed { message, .. }) => {
            assert!(message.contains("not a git repository"), "{message}")
        }
        other => panic!("expected a git failure, got {other:?}"),
    }
}
