//! Scanning git history: the lines every commit added.
//!
//! Like gitleaks, this runs `git log -p -U0` and reads its patch output rather than the
//! object store: git already knows how to walk every branch, follow packs and compute diffs.
//! Each (commit, file) pair becomes one text of the lines the commit added, scanned like a
//! file, and each match's line is mapped back to its line in the file at that commit.
//! Removed lines are never scanned: a secret added in one commit and removed in the next is
//! reported once, for the commit that added it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use kubesecops_core::Vcs;
use rayon::prelude::*;

use crate::scanner::{Input, Scanner, SecretMatch};

/// The marker that starts each commit header in the log output; the record separator
/// character never begins a patch line.
const COMMIT_MARKER: &str = "\u{1e}kso-commit ";

/// Texts are scanned in batches of about this many bytes, so memory stays bounded on long
/// histories while every batch is still scanned in parallel.
const BATCH_BYTES: usize = 32 << 20;

/// Why history could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program could not be started.
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// Reading git's output failed.
    #[error("reading git log output: {0}")]
    Read(#[source] std::io::Error),
    /// git exited with an error (not a repository, bad revision, ...).
    #[error("{repo}: git log failed: {message}")]
    Failed {
        /// The repository path given.
        repo: String,
        /// git's own error message.
        message: String,
    },
}

/// The secrets one commit added to one file.
#[derive(Debug, Clone)]
pub struct HistoryResult {
    /// The file's path inside the repository, as git prints it.
    pub path: Arc<str>,
    /// The commit that added the lines.
    pub commit: Arc<Vcs>,
    /// What was found; lines are lines of the file at that commit.
    pub matches: Vec<SecretMatch>,
}

/// Everything a history scan gave.
#[derive(Debug, Default)]
pub struct HistoryOutput {
    /// (commit, file) pairs with at least one finding, in log order (newest commit first).
    pub results: Vec<HistoryResult>,
    /// Commits read.
    pub commits: usize,
    /// Bytes of added lines scanned.
    pub bytes: u64,
}

/// The added lines of one file in one commit.
#[derive(Debug)]
struct Patch {
    path: String,
    commit: Arc<Vcs>,
    /// Added lines joined with `\n`.
    text: String,
    /// The file line of each line of `text`.
    lines: Vec<u32>,
}

/// Reads `git log -p` output and builds patches.
#[derive(Default)]
struct PatchReader {
    commit: Option<Arc<Vcs>>,
    current: Option<Patch>,
    /// Next new-file line number in the current hunk.
    next_line: u32,
    commits: usize,
}

impl PatchReader {
    /// Feeds one line of log output; returns a finished patch when this line ends one.
    fn line(&mut self, line: &str) -> Option<Patch> {
        if let Some(header) = line.strip_prefix(COMMIT_MARKER) {
            let done = self.current.take();
            let mut parts = header.splitn(3, '\t');
            let commit = parts.next().unwrap_or_default().to_string();
            let author = parts.next().unwrap_or_default().to_string();
            let date = parts.next().unwrap_or_default().to_string();
            self.commit = Some(Arc::new(Vcs { commit, author, date }));
            self.commits += 1;
            return done;
        }
        if line.starts_with("diff --git ") {
            return self.current.take();
        }
        if let Some(path) = line.strip_prefix("+++ ") {
            // `+++ /dev/null` is a deleted file: nothing was added.
            let path = unquote(path);
            let path = path.strip_prefix("b/").filter(|_| path != "/dev/null");
            let done = self.current.take();
            if let (Some(path), Some(commit)) = (path, &self.commit) {
                self.current = Some(Patch {
                    path: path.to_string(),
                    commit: Arc::clone(commit),
                    text: String::new(),
                    lines: Vec::new(),
                });
            }
            return done;
        }
        if let Some(hunk) = line.strip_prefix("@@ ") {
            // `@@ -a,b +c,d @@`: added lines start at line c of the new file.
            self.next_line = hunk
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|range| range.split(',').next()?.parse().ok())
                .unwrap_or(0);
            return None;
        }
        if let (Some(added), Some(patch)) = (line.strip_prefix('+'), self.current.as_mut()) {
            if !patch.lines.is_empty() {
                patch.text.push('\n');
            }
            patch.text.push_str(added);
            patch.lines.push(self.next_line);
            self.next_line += 1;
        }
        None
    }
}

/// Undoes git's C-style quoting of unusual paths (`"dir/\303\251.txt"`).
fn unquote(path: &str) -> String {
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return path.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&next @ b'0'..=b'7') = chars.peek() {
                        value = value * 8 + u32::from(next - b'0');
                        chars.next();
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn scan_patch(scanner: &Scanner, patch: &Patch) -> Option<HistoryResult> {
    let input = Input { path: &patch.path, content: &patch.text, commit: Some(&patch.commit.commit) };
    let mut matches = scanner.scan(&input);
    if matches.is_empty() {
        return None;
    }
    let real_line = |line: u32| patch.lines.get(line as usize - 1).copied().unwrap_or(line);
    for m in &mut matches {
        m.line = m.line.map(real_line);
        m.end_line = m.end_line.map(real_line);
    }
    Some(HistoryResult { path: Arc::from(patch.path.as_str()), commit: Arc::clone(&patch.commit), matches })
}

fn scan_batch(scanner: &Scanner, batch: &mut Vec<Patch>, out: &mut HistoryOutput) {
    out.bytes += batch.iter().map(|p| p.text.len() as u64).sum::<u64>();
    let found: Vec<HistoryResult> = batch.par_iter().filter_map(|p| scan_patch(scanner, p)).collect();
    out.results.extend(found);
    batch.clear();
}

/// Scans the lines added by every commit reachable from any ref of the repository at
/// `repo` (`git log --all`). `log_args` are extra `git log` arguments (a revision range,
/// `--since=...`), placed before the defaults' end.
pub fn scan_history(scanner: &Scanner, repo: &Path, log_args: &[String]) -> Result<HistoryOutput, GitError> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(repo)
        .args(["-c", "core.quotePath=true", "log", "-p", "-U0", "--no-color", "--no-ext-diff"])
        .args(["--no-textconv", "--full-history"])
        .arg(format!("--format={COMMIT_MARKER}%H%x09%an <%ae>%x09%aI"));
    if log_args.is_empty() {
        command.arg("--all");
    } else {
        command.args(log_args);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(GitError::Spawn)?;
    let stdout = child.stdout.take().expect("stdout is piped");
    // Read stderr on its own thread so a chatty git cannot block on a full pipe.
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });

    let mut reader = PatchReader::default();
    let mut out = HistoryOutput::default();
    let mut batch: Vec<Patch> = Vec::new();
    let mut batch_bytes = 0;
    let mut buffer = Vec::new();
    let mut stdout = BufReader::with_capacity(1 << 20, stdout);
    loop {
        buffer.clear();
        let read = stdout.read_until(b'\n', &mut buffer).map_err(GitError::Read)?;
        if read == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(patch) = reader.line(line) {
            batch_bytes += patch.text.len();
            batch.push(patch);
            if batch_bytes >= BATCH_BYTES {
                scan_batch(scanner, &mut batch, &mut out);
                batch_bytes = 0;
            }
        }
    }
    if let Some(patch) = reader.current.take() {
        batch.push(patch);
    }
    scan_batch(scanner, &mut batch, &mut out);
    out.commits = reader.commits;

    let status = child.wait().map_err(GitError::Read)?;
    let stderr = stderr_reader.join().unwrap_or_default();
    if !status.success() {
        let message = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("unknown error").to_string();
        return Err(GitError::Failed { repo: repo.display().to_string(), message });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_keep_added_lines_with_their_file_lines() {
        let log = [
            "\u{1e}kso-commit abc\tAda <ada@example.com>\t2024-05-01T12:00:00+02:00",
            "",
            "diff --git a/app.env b/app.env",
            "index 000..111 100644",
            "--- a/app.env",
            "+++ b/app.env",
            "@@ -3,0 +4,2 @@ header",
            "+A=1",
            "+B=2",
            "@@ -10 +12 @@",
            "-old",
            "+C=3",
            "diff --git a/gone.txt b/gone.txt",
            "--- a/gone.txt",
            "+++ /dev/null",
            "@@ -1 +0,0 @@",
            "-removed",
            "\u{1e}kso-commit def\tBo <bo@example.com>\t2024-05-02T12:00:00+00:00",
            "diff --git a/\"sp ace\" b/\"sp ace\"",
            "+++ \"b/caf\\303\\251.txt\"",
            "@@ -0,0 +1 @@",
            "+x",
        ];
        let mut reader = PatchReader::default();
        let mut patches: Vec<Patch> = log.iter().filter_map(|l| reader.line(l)).collect();
        patches.extend(reader.current.take());
        assert_eq!(reader.commits, 2);
        assert_eq!(patches.len(), 2);
        assert_eq!(patches[0].path, "app.env");
        assert_eq!(patches[0].text, "A=1\nB=2\nC=3");
        assert_eq!(patches[0].lines, [4, 5, 12]);
        assert_eq!(patches[0].commit.commit, "abc");
        assert_eq!(patches[0].commit.author, "Ada <ada@example.com>");
        assert_eq!(patches[1].commit.date, "2024-05-02T12:00:00+00:00");
        assert_eq!(patches[1].lines, [1]);
        assert_eq!(patches[1].path, "café.txt");
    }

    #[test]
    fn quoted_paths_are_unquoted() {
        assert_eq!(unquote("\"b/caf\\303\\251.txt\"").strip_prefix("b/"), Some("café.txt"));
        assert_eq!(unquote("plain.txt"), "plain.txt");
        assert_eq!(unquote("\"a\\tb\""), "a\tb");
    }
}
