//! Writing the evidence log: records, segments, commits and crash recovery.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kubesecops_runtime::time::format_rfc3339_nanos;

use crate::{io_err, now_ns, segment_name, segments, sha256_hex, ForensicsError, GENESIS};

/// Default size after which a new segment is started (64 MiB).
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// One event preceding an alert, kept as context.
#[derive(Debug, Clone)]
pub struct ContextEvent<'a> {
    /// Why it was kept: `user`, `object` or `user+object` (shared with the triggering event).
    pub matched: &'a str,
    /// The event as compact JSON (valid JSON: it is embedded as is).
    pub event_json: &'a str,
}

/// What is kept for one alert.
#[derive(Debug, Clone)]
pub struct AlertRecord<'a> {
    /// The rule that fired.
    pub rule: &'a str,
    /// Its priority.
    pub priority: &'a str,
    /// The event time, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The event's `auditID`.
    pub audit_id: Option<&'a str>,
    /// The user of the event.
    pub user: Option<&'a str>,
    /// The object of the event (`resource/namespace/name[/subresource]`).
    pub object: Option<&'a str>,
    /// The rendered alert output.
    pub output: &'a str,
    /// The triggering event as compact JSON (valid JSON: it is embedded as is).
    pub event_json: &'a str,
    /// Preceding events of the same user or object, oldest first.
    pub context: &'a [ContextEvent<'a>],
}

/// A record as written: its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Sequence number (1-based, across segments).
    pub seq: u64,
    /// The record's hash.
    pub hash: String,
}

/// What [`EvidenceLog::open`] repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The segment whose torn tail was cut.
    pub segment: PathBuf,
    /// Bytes removed (an incomplete last record, never acknowledged).
    pub dropped_bytes: u64,
    /// The recovery record appended to the chain.
    pub record: Appended,
}

/// The writer of an evidence directory. One writer per directory at a time.
#[derive(Debug)]
pub struct EvidenceLog {
    dir: PathBuf,
    file: File,
    segment: u32,
    segment_bytes: u64,
    max_segment_bytes: u64,
    seq: u64,
    last_hash: String,
    committed_seq: u64,
    head: HeadWriter,
}

/// The state found at the end of the log.
struct Tail {
    segment: u32,
    /// Length of the segment up to its last complete line.
    valid_len: u64,
    /// Bytes after it (a torn record).
    torn: u64,
    seq: u64,
    hash: String,
}

impl EvidenceLog {
    /// Opens (creating it if needed) the evidence directory `dir` for appending, recovering
    /// from a torn last record; returns the writer and what was recovered.
    pub fn open(dir: &Path) -> Result<(EvidenceLog, Option<Recovery>), ForensicsError> {
        EvidenceLog::open_with(dir, DEFAULT_SEGMENT_BYTES)
    }

    /// Like [`EvidenceLog::open`], starting a new segment after `max_segment_bytes`.
    pub fn open_with(
        dir: &Path,
        max_segment_bytes: u64,
    ) -> Result<(EvidenceLog, Option<Recovery>), ForensicsError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tail = read_tail(dir)?;
        let head = HeadWriter::open(dir)?;
        if let Some((head_seq, _)) = head.best() {
            if head_seq > tail.seq {
                return Err(ForensicsError::Damaged {
                    path: dir.join(segment_name(tail.segment)),
                    line: 0,
                    message: format!(
                        "the log ends at record {} but record {head_seq} was committed (truncated)",
                        tail.seq
                    ),
                });
            }
        }
        let path = dir.join(segment_name(tail.segment));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if tail.torn > 0 {
            file.set_len(tail.valid_len).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        let mut log = EvidenceLog {
            dir: dir.to_path_buf(),
            file,
            segment: tail.segment,
            segment_bytes: tail.valid_len,
            max_segment_bytes: max_segment_bytes.max(1),
            seq: tail.seq,
            last_hash: tail.hash,
            committed_seq: tail.seq,
            head,
        };
        log.file.seek(SeekFrom::End(0)).map_err(io_err(&path))?;
        sync_dir(dir)?;
        let recovery = if tail.torn > 0 {
            let note = format!(
                r#""kind":"recovery","segment":{},"dropped_bytes":{},"note":"an incomplete last record (a crash during a write; never acknowledged) was removed when the log was reopened""#,
                serde_json::Value::from(segment_name(tail.segment)),
                tail.torn
            );
            let record = log.append_body(&note)?;
            log.commit()?;
            Some(Recovery { segment: path, dropped_bytes: tail.torn, record })
        } else {
            None
        };
        Ok((log, recovery))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last record written (committed or not), or `None` for an empty log.
    pub fn last(&self) -> Option<Appended> {
        (self.seq > 0).then(|| Appended { seq: self.seq, hash: self.last_hash.clone() })
    }

    /// Appends the record of one alert. It is durable once [`EvidenceLog::commit`] returns.
    pub fn append(&mut self, record: &AlertRecord<'_>) -> Result<Appended, ForensicsError> {
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        let opt = |s: Option<&str>| s.map_or_else(|| "null".to_string(), quote);
        let mut body = String::with_capacity(
            256 + record.event_json.len()
                + record.context.iter().map(|c| c.event_json.len() + 24).sum::<usize>(),
        );
        body.push_str(&format!(
            r#""kind":"alert","rule":{},"priority":{},"time":"{}","auditID":{},"user":{},"object":{},"output":{},"event":"#,
            quote(record.rule),
            quote(record.priority),
            format_rfc3339_nanos(record.time_ns),
            opt(record.audit_id),
            opt(record.user),
            opt(record.object),
            quote(record.output),
        ));
        body.push_str(record.event_json);
        body.push_str(r#","context":["#);
        for (i, context) in record.context.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(r#"{"match":"#);
            body.push_str(&quote(context.matched));
            body.push_str(r#","event":"#);
            body.push_str(context.event_json);
            body.push('}');
        }
        body.push(']');
        self.append_body(&body)
    }

    /// Appends a record whose members after `seq`, `prev` and `recorded` are `members`.
    fn append_body(&mut self, members: &str) -> Result<Appended, ForensicsError> {
        let seq = self.seq + 1;
        let mut line = format!(
            r#"{{"seq":{seq},"prev":"{}","recorded":"{}","#,
            self.last_hash,
            format_rfc3339_nanos(now_ns())
        );
        line.push_str(members);
        line.push('}');
        let hash = sha256_hex(line.as_bytes());
        line.pop();
        line.push_str(",\"hash\":\"");
        line.push_str(&hash);
        line.push_str("\"}\n");
        if self.segment_bytes > 0 && self.segment_bytes + line.len() as u64 > self.max_segment_bytes {
            self.next_segment()?;
        }
        let path = self.segment_path();
        // One write call per record, so a crash leaves at most one incomplete record, last.
        self.file.write_all(line.as_bytes()).map_err(io_err(&path))?;
        self.segment_bytes += line.len() as u64;
        self.seq = seq;
        self.last_hash.clone_from(&hash);
        Ok(Appended { seq, hash })
    }

    fn segment_path(&self) -> PathBuf {
        self.dir.join(segment_name(self.segment))
    }

    fn next_segment(&mut self) -> Result<(), ForensicsError> {
        let old = self.segment_path();
        self.file.sync_data().map_err(io_err(&old))?;
        self.segment += 1;
        let path = self.segment_path();
        self.file = OpenOptions::new().create_new(true).append(true).open(&path).map_err(io_err(&path))?;
        self.segment_bytes = 0;
        sync_dir(&self.dir)
    }

    /// Makes every appended record durable: syncs the segment, then the head. Call it before
    /// acknowledging the alerts of those records.
    pub fn commit(&mut self) -> Result<(), ForensicsError> {
        if self.committed_seq == self.seq {
            return Ok(());
        }
        let path = self.segment_path();
        self.file.sync_data().map_err(io_err(&path))?;
        self.head.write(self.seq, &self.last_hash)?;
        self.committed_seq = self.seq;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), ForensicsError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// Finds the end of the chain: the last segment's last complete record, checking that the
/// segment's complete records verify and link.
fn read_tail(dir: &Path) -> Result<Tail, ForensicsError> {
    let segs = segments(dir)?;
    let Some(&(last_number, ref last_path)) = segs.last() else {
        return Ok(Tail { segment: 1, valid_len: 0, torn: 0, seq: 0, hash: GENESIS.to_string() });
    };
    let mut bytes = Vec::new();
    File::open(last_path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(io_err(last_path))?;
    let valid_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let torn = (bytes.len() - valid_len) as u64;
    let damaged =
        |line: usize, message: String| ForensicsError::Damaged { path: last_path.clone(), line, message };
    let text = std::str::from_utf8(&bytes[..valid_len]).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        damaged(line, "not UTF-8".into())
    })?;
    let mut last: Option<(u64, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let (seq, prev, hash) = crate::verify::check_line(line).map_err(|m| damaged(index + 1, m))?;
        if let Some((last_seq, last_hash)) = &last {
            if seq != last_seq + 1 || prev != *last_hash {
                return Err(damaged(index + 1, format!("does not follow record {last_seq}")));
            }
        }
        last = Some((seq, hash));
    }
    let (seq, hash) =
        match last {
            Some(found) => found,
            // An empty last segment: the chain ends in the segment before it.
            None if segs.len() > 1 => {
                let prev = &segs[segs.len() - 2].1;
                let text = std::fs::read_to_string(prev).map_err(io_err(prev))?;
                let line = text.lines().last().ok_or_else(|| ForensicsError::Invalid {
                    path: prev.clone(),
                    message: "empty segment before the last one".into(),
                })?;
                let (seq, _, hash) = crate::verify::check_line(line).map_err(|m| {
                    ForensicsError::Damaged { path: prev.clone(), line: text.lines().count(), message: m }
                })?;
                (seq, hash)
            }
            None => (0, GENESIS.to_string()),
        };
    Ok(Tail { segment: last_number, valid_len: valid_len as u64, torn, seq, hash })
}

/// The two head slots, written alternately so that a torn head write leaves the other intact.
#[derive(Debug)]
struct HeadWriter {
    paths: [PathBuf; 2],
    state: [Option<(u64, String)>; 2],
}

/// The text of a head slot: `kubesecops-evidence-head 1 <seq> <hash> <check>`, where `check`
/// is the SHA-256 of the text before it.
pub(crate) fn head_text(seq: u64, hash: &str) -> String {
    let text = format!("kubesecops-evidence-head 1 {seq} {hash}");
    let check = sha256_hex(text.as_bytes());
    format!("{text} {check}\n")
}

/// Reads a head slot; `None` when absent, torn or not a head.
pub(crate) fn read_head(path: &Path) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.strip_suffix('\n')?;
    let (body, check) = line.rsplit_once(' ')?;
    if sha256_hex(body.as_bytes()) != check {
        return None;
    }
    let mut parts = body.split(' ');
    if parts.next()? != "kubesecops-evidence-head" || parts.next()? != "1" {
        return None;
    }
    let seq = parts.next()?.parse().ok()?;
    let hash = parts.next()?.to_string();
    Some((seq, hash))
}

/// The head with the highest sequence number among the slots of `dir`.
pub(crate) fn best_head(dir: &Path) -> Option<(u64, String)> {
    [dir.join("HEAD.a"), dir.join("HEAD.b")].iter().filter_map(|p| read_head(p)).max_by_key(|(seq, _)| *seq)
}

impl HeadWriter {
    fn open(dir: &Path) -> Result<HeadWriter, ForensicsError> {
        let paths = [dir.join("HEAD.a"), dir.join("HEAD.b")];
        let state = [read_head(&paths[0]), read_head(&paths[1])];
        Ok(HeadWriter { paths, state })
    }

    fn best(&self) -> Option<(u64, String)> {
        self.state.iter().flatten().max_by_key(|(seq, _)| *seq).cloned()
    }

    fn write(&mut self, seq: u64, hash: &str) -> Result<(), ForensicsError> {
        // Overwrite the older slot; the newer one stays valid until this write is synced.
        let slot = match (&self.state[0], &self.state[1]) {
            (None, _) => 0,
            (Some(_), None) => 1,
            (Some((a, _)), Some((b, _))) => usize::from(a > b),
        };
        let path = &self.paths[slot];
        let created = !path.exists();
        let mut file =
            OpenOptions::new().create(true).write(true).truncate(false).open(path).map_err(io_err(path))?;
        let text = head_text(seq, hash);
        file.write_all(text.as_bytes()).map_err(io_err(path))?;
        file.set_len(text.len() as u64).map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))?;
        if created {
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
        }
        self.state[slot] = Some((seq, hash.to_string()));
        Ok(())
    }
}
