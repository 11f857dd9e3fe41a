//! Forensic evidence for runtime alerts: an append-only, hash-chained log of the events behind
//! every alert, its verification and its export.
//!
//! # Layout of an evidence directory
//! - `chain-NNNNNN.jsonl`: the log, in segments of bounded size, numbered from 1. One record per
//!   line; each line is a JSON object whose last member is `"hash"`, the SHA-256 (hex) of the
//!   line's bytes without that member (the text up to `,"hash"` followed by `}`). Every record
//!   holds `seq` (1, 2, 3, ... across segments) and `prev`, the hash of the record before it
//!   (64 zeros for the first), so changing, removing or moving any record breaks the chain at
//!   that place.
//! - `HEAD.a`, `HEAD.b`: the last committed record (`seq` and `hash`), written alternately
//!   after every commit, each with its own checksum. A log shorter than its head has lost
//!   committed records (truncation), which the chain alone cannot show.
//!
//! # Durability
//! [`EvidenceLog::append`] writes a record with one `write` call; [`EvidenceLog::commit`]
//! `fsync`s the segment, then the head. An alert is acknowledged (HTTP response sent, alert
//! emitted) only after `commit` returns, so a crash (even `kill -9` or power loss after the
//! commit) never loses an acknowledged record. A crash during a write can leave a torn last
//! line (no final newline): it was never acknowledged; [`verify`] reports it as a warning and
//! [`EvidenceLog::open`] cuts it off and records the recovery in the chain itself.

mod log;
mod verify;
mod window;

pub use log::{AlertRecord, Appended, ContextEvent, EvidenceLog, Recovery, DEFAULT_SEGMENT_BYTES};
pub use verify::{export, verify, ExportFilter, ExportSummary, Problem, Verification};
pub use window::{EvidenceWindow, WindowLimits};

use std::path::PathBuf;

/// Errors of the evidence log.
#[derive(Debug, thiserror::Error)]
pub enum ForensicsError {
    /// A file could not be read, written or synced.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The log's last segment is damaged in a way a crash cannot explain (a complete record
    /// that does not verify): the writer refuses to extend it. Run `kubesecops forensics
    /// verify` to see where.
    #[error(
        "{path}: record at line {line} does not verify ({message}); refusing to append to a damaged log"
    )]
    Damaged {
        /// The segment.
        path: PathBuf,
        /// 1-based line of the bad record.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Not an evidence directory, or no records to read.
    #[error("{path}: {message}")]
    Invalid {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ForensicsError {
    let path = path.into();
    move |source| ForensicsError::Io { path, source }
}

/// The hash that precedes the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    out
}

/// Length of the `,"hash":"<64 hex>"}` suffix of a record line.
pub(crate) const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// Splits a record line (without its newline) into the hashed body (with its closing `}`
/// restored) and the stored hash; `None` when the line does not end in a hash member.
pub(crate) fn split_record(line: &str) -> Option<(String, &str)> {
    if line.len() < HASH_SUFFIX_LEN + 2 || !line.is_char_boundary(line.len() - HASH_SUFFIX_LEN) {
        return None;
    }
    let (head, suffix) = line.split_at(line.len() - HASH_SUFFIX_LEN);
    let hash = suffix.strip_prefix(",\"hash\":\"")?.strip_suffix("\"}")?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut body = String::with_capacity(head.len() + 1);
    body.push_str(head);
    body.push('}');
    Some((body, hash))
}

/// The segment file name of segment `n`.
pub(crate) fn segment_name(n: u32) -> String {
    format!("chain-{n:06}.jsonl")
}

/// The segment number of a file name, when it is one.
pub(crate) fn segment_number(name: &str) -> Option<u32> {
    name.strip_prefix("chain-")?.strip_suffix(".jsonl")?.parse().ok()
}

/// The segments of `dir`, sorted by number.
pub(crate) fn segments(dir: &std::path::Path) -> Result<Vec<(u32, PathBuf)>, ForensicsError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        if let Some(n) = entry.file_name().to_str().and_then(segment_number) {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
