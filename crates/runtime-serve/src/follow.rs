//! Following an audit log file like `tail -F`: new complete lines are sent to the evaluator;
//! the file may be rotated (renamed or removed and created again) or truncated.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::metrics::{Metrics, Source};
use crate::pipeline::Batch;

/// Largest chunk sent as one batch.
const CHUNK: usize = 1 << 20;

/// Where following starts in a file that exists when following begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// At its end: only lines written from now on (`tail -F -n 0`).
    End,
    /// At its beginning.
    Beginning,
}

/// The followed file and the reader's place in it.
pub struct Follower {
    path: PathBuf,
    poll: Duration,
    file: Option<(File, u64, u64)>,
    offset: u64,
    partial: Vec<u8>,
    metrics: Arc<Metrics>,
}

impl Follower {
    /// Starts following `path`; when it exists its current end (or beginning) is the start.
    /// Files appearing later, after a rotation, are read from their beginning.
    pub fn new(path: &Path, start: StartAt, poll: Duration, metrics: Arc<Metrics>) -> Follower {
        let mut follower =
            Follower { path: path.to_path_buf(), poll, file: None, offset: 0, partial: Vec::new(), metrics };
        if follower.reopen() && start == StartAt::End {
            if let Some((file, _, _)) = &mut follower.file {
                follower.offset = file.seek(SeekFrom::End(0)).unwrap_or(0);
            }
        }
        follower
    }

    /// Opens the path afresh; false when it does not exist (yet).
    fn reopen(&mut self) -> bool {
        match File::open(&self.path).and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok((file, meta)) => {
                self.file = Some((file, meta.dev(), meta.ino()));
                self.offset = 0;
                true
            }
            Err(_) => {
                self.file = None;
                false
            }
        }
    }

    /// Reads what was appended since the last call: complete lines only (a line still being
    /// written waits for its newline).
    fn read_new(&mut self) -> Vec<u8> {
        let Some((file, _, _)) = &mut self.file else { return Vec::new() };
        let mut data = std::mem::take(&mut self.partial);
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            self.partial = data;
            return Vec::new();
        }
        let read = file.take(CHUNK as u64).read_to_end(&mut data).unwrap_or(0);
        self.offset += read as u64;
        match data.iter().rposition(|&b| b == b'\n') {
            Some(end) => {
                self.partial = data.split_off(end + 1);
                data
            }
            None => {
                self.partial = data;
                Vec::new()
            }
        }
    }

    /// What happened to the path since it was opened.
    fn check(&mut self) -> Change {
        let current = std::fs::metadata(&self.path).ok();
        match (&self.file, current) {
            (None, Some(_)) => Change::Appeared,
            (Some((file, dev, ino)), Some(meta)) => {
                if meta.dev() != *dev || meta.ino() != *ino {
                    Change::Rotated
                } else if file.metadata().map(|m| m.len()).unwrap_or(0) < self.offset {
                    Change::Truncated
                } else {
                    Change::None
                }
            }
            // Removed and not yet created again: keep the old handle until it is.
            (_, None) => Change::None,
        }
    }

    fn send(&self, queue: &mpsc::Sender<Batch>, data: Vec<u8>) -> bool {
        self.metrics.queue_depth.fetch_add(1, Relaxed);
        queue
            .blocking_send(Batch { source: Source::Follow, body: data.into(), reply: None, stop: false })
            .is_ok()
    }

    /// Reads new lines until `stop`, handing them to the evaluator (waiting when its queue is
    /// full: a followed file is never dropped from).
    pub fn run(mut self, queue: mpsc::Sender<Batch>, stop: Arc<AtomicBool>) {
        while !stop.load(Relaxed) {
            let data = self.read_new();
            if !data.is_empty() {
                if !self.send(&queue, data) {
                    return;
                }
                continue;
            }
            match self.check() {
                Change::None => std::thread::sleep(self.poll),
                Change::Appeared => {
                    self.reopen();
                }
                Change::Truncated => {
                    self.metrics.follow_truncations.fetch_add(1, Relaxed);
                    self.offset = 0;
                    self.partial.clear();
                }
                Change::Rotated => {
                    self.metrics.follow_rotations.fetch_add(1, Relaxed);
                    // Lines written to the old file just before it was replaced come first.
                    loop {
                        let data = self.read_new();
                        if data.is_empty() {
                            break;
                        }
                        if !self.send(&queue, data) {
                            return;
                        }
                    }
                    if !self.partial.is_empty() {
                        // The old file ended without a newline: its last line is complete now.
                        let mut last = std::mem::take(&mut self.partial);
                        last.push(b'\n');
                        if !self.send(&queue, last) {
                            return;
                        }
                    }
                    self.reopen();
                }
            }
        }
    }
}

enum Change {
    None,
    Appeared,
    Rotated,
    Truncated,
}
