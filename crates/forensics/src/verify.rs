//! Verifying an evidence directory and exporting bundles from it.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use kubesecops_runtime::time::{format_rfc3339_nanos, parse_rfc3339};

use crate::log::best_head;
use crate::{io_err, now_ns, segment_name, segments, sha256_hex, split_record, ForensicsError, GENESIS};

/// Something wrong (or worth telling) at one place of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The segment file (or the directory, for problems of the whole log).
    pub file: PathBuf,
    /// 1-based line in the file, 0 when the problem is not at a line.
    pub line: usize,
    /// The record's sequence number, when known.
    pub seq: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(seq) = self.seq {
            write!(f, " (record {seq})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Segments read.
    pub segments: usize,
    /// Records read.
    pub records: u64,
    /// The last record's sequence number and hash.
    pub last: Option<(u64, String)>,
    /// The committed head, when a head file is readable.
    pub head: Option<(u64, String)>,
    /// Tampering or damage: edits, deletions, truncation, reordering.
    pub problems: Vec<Problem>,
    /// Not damage: a torn last record (crash during a write), a missing head.
    pub warnings: Vec<Problem>,
}

impl Verification {
    /// True when no problem was found (warnings allowed).
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks one record line: its hash matches its content; returns `(seq, prev, hash)`.
pub(crate) fn check_line(line: &str) -> Result<(u64, String, String), String> {
    let (body, hash) = split_record(line).ok_or("not a record (no hash at the end of the line)")?;
    let value: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("not a JSON record: {e}"))?;
    let seq = value.get("seq").and_then(serde_json::Value::as_u64).ok_or("record without seq")?;
    let prev = value.get("prev").and_then(serde_json::Value::as_str).ok_or("record without prev")?;
    if sha256_hex(body.as_bytes()) != hash {
        return Err("its content does not match its hash (the record was edited)".into());
    }
    Ok((seq, prev.to_string(), hash.to_string()))
}

/// The seq and hash a damaged line still shows, to resume checking after it.
fn salvage(line: &str) -> (Option<u64>, Option<String>) {
    let hash = split_record(line).map(|(_, h)| h.to_string());
    let seq = line
        .strip_prefix("{\"seq\":")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    (seq, hash)
}

/// Verifies every segment of `dir` in order: each record's hash, the sequence numbers, the
/// links between records and segments, and the log's end against the committed head.
pub fn verify(dir: &Path) -> Result<Verification, ForensicsError> {
    let mut out = Verification::default();
    let segs = segments(dir)?;
    if segs.is_empty() {
        return Err(ForensicsError::Invalid {
            path: dir.to_path_buf(),
            message: "no evidence segments (chain-NNNNNN.jsonl) here".into(),
        });
    }
    let mut expected_seq = 1u64;
    let mut prev_hash = GENESIS.to_string();
    let mut hashes: Vec<(u64, String)> = Vec::new();
    let mut last_path = dir.to_path_buf();
    for (position, (number, path)) in segs.iter().enumerate() {
        let wanted = position as u32 + 1;
        if *number != wanted {
            out.problems.push(Problem {
                file: dir.join(segment_name(wanted)),
                line: 0,
                seq: None,
                message: format!("segment missing (next present: {})", segment_name(*number)),
            });
        }
        out.segments += 1;
        last_path.clone_from(path);
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = String::from_utf8_lossy(&bytes[..complete]);
        let is_last = position + 1 == segs.len();
        for (index, line) in text.lines().enumerate() {
            let at = |seq: Option<u64>, message: String| Problem {
                file: path.clone(),
                line: index + 1,
                seq,
                message,
            };
            out.records += 1;
            let (seq, prev, hash) = match check_line(line) {
                Ok(found) => found,
                Err(message) => {
                    let (seq, hash) = salvage(line);
                    out.problems.push(at(seq, message));
                    expected_seq = seq.unwrap_or(expected_seq) + 1;
                    if let Some(hash) = hash {
                        prev_hash = hash;
                    }
                    continue;
                }
            };
            if seq > expected_seq {
                let missing = if seq == expected_seq + 1 {
                    format!("record {expected_seq} is missing before this one (deleted)")
                } else {
                    format!("records {expected_seq} to {} are missing before this one (deleted)", seq - 1)
                };
                out.problems.push(at(Some(seq), missing));
            } else if seq < expected_seq {
                out.problems.push(at(
                    Some(seq),
                    format!(
                        "out of order: record {} was expected here (reordered or duplicated)",
                        expected_seq
                    ),
                ));
            } else if prev != prev_hash {
                let what = if seq == 1 {
                    "the start of the chain".to_string()
                } else {
                    format!("record {}", seq - 1)
                };
                out.problems.push(at(
                    Some(seq),
                    format!("its prev does not match the hash of {what} (a record before it was edited, removed or moved)"),
                ));
            }
            hashes.push((seq, hash.clone()));
            prev_hash = hash;
            expected_seq = seq + 1;
            out.last = Some((seq, prev_hash.clone()));
        }
        if complete < bytes.len() {
            let torn = Problem {
                file: path.clone(),
                line: text.lines().count() + 1,
                seq: None,
                message: format!(
                    "incomplete last record ({} bytes, no newline): a crash during a write, never acknowledged; \
                     the writer removes it when it reopens the log",
                    bytes.len() - complete
                ),
            };
            if is_last {
                out.warnings.push(torn);
            } else {
                out.problems.push(torn);
            }
        }
    }
    out.head = best_head(dir);
    let last_seq = out.last.as_ref().map_or(0, |(seq, _)| *seq);
    match &out.head {
        None if last_seq > 0 => out.warnings.push(Problem {
            file: dir.join("HEAD.a"),
            line: 0,
            seq: None,
            message: "no readable head: a truncation of the log's end cannot be detected".into(),
        }),
        None => {}
        Some((head_seq, _)) if *head_seq > last_seq => out.problems.push(Problem {
            file: last_path.clone(),
            line: 0,
            seq: Some(last_seq + 1),
            message: format!(
                "the log ends at record {last_seq} but record {head_seq} was committed: records {} to {head_seq} were removed (truncated)",
                last_seq + 1
            ),
        }),
        Some((head_seq, head_hash)) => {
            if let Ok(i) = hashes.binary_search_by_key(head_seq, |(s, _)| *s) {
                if hashes[i].1 != *head_hash {
                    out.problems.push(Problem {
                        file: dir.join("HEAD.a"),
                        line: 0,
                        seq: Some(*head_seq),
                        message: "the committed head's hash differs from the record's hash (rewritten)".into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Which alert records [`export`] selects.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only alerts whose event time is at or after this (nanoseconds since the epoch).
    pub since_ns: Option<i64>,
    /// Only alerts of these rules (any of them; all rules when empty).
    pub rules: Vec<String>,
}

/// What [`export`] wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// Alert records written to the bundle.
    pub records: usize,
    /// The verification of the directory, done before exporting.
    pub verification: Verification,
}

/// Writes a bundle of the alert records of `dir` that pass `filter` to `out`: JSON lines, a
/// header (source, filters, verification result, head) then the selected records exactly as
/// they are in the log, so each record's hash can still be checked.
pub fn export(
    dir: &Path,
    filter: &ExportFilter,
    out: &mut dyn Write,
) -> Result<ExportSummary, ForensicsError> {
    let verification = verify(dir)?;
    let mut selected: Vec<String> = Vec::new();
    for (_, path) in segments(dir)? {
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        for line in text.lines() {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if value.get("kind").and_then(serde_json::Value::as_str) != Some("alert") {
                continue;
            }
            let rule = value.get("rule").and_then(serde_json::Value::as_str).unwrap_or("");
            if !filter.rules.is_empty() && !filter.rules.iter().any(|r| r == rule) {
                continue;
            }
            if let Some(since) = filter.since_ns {
                let time = value.get("time").and_then(serde_json::Value::as_str).and_then(parse_rfc3339);
                if time.is_none_or(|t| t < since) {
                    continue;
                }
            }
            selected.push(line.to_string());
        }
    }
    let header = serde_json::json!({
        "kind": "kubesecops-evidence-bundle",
        "version": 1,
        "source": dir.display().to_string(),
        "exported": format_rfc3339_nanos(now_ns()),
        "filter": {
            "since": filter.since_ns.map(format_rfc3339_nanos),
            "rules": filter.rules,
        },
        "records": selected.len(),
        "chain": {
            "records": verification.records,
            "last": verification.last.as_ref().map(|(seq, hash)| serde_json::json!({"seq": seq, "hash": hash})),
            "head": verification.head.as_ref().map(|(seq, hash)| serde_json::json!({"seq": seq, "hash": hash})),
            "intact": verification.is_intact(),
            "problems": verification.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
    });
    let bundle = Path::new("<bundle>");
    let mut write = || -> std::io::Result<()> {
        writeln!(out, "{header}")?;
        for line in &selected {
            writeln!(out, "{line}")?;
        }
        out.flush()
    };
    write().map_err(io_err(bundle))?;
    Ok(ExportSummary { records: selected.len(), verification })
}
