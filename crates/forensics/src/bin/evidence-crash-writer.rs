//! Test helper for the crash test (`tests/crash.rs`): appends alert records to the evidence
//! directory given as argument, commits each one, then prints `ack SEQ HASH` (only after the
//! commit returned, as `runtime serve` acknowledges only committed alerts), until killed.

use std::io::Write;
use std::path::PathBuf;

use kubesecops_forensics::{AlertRecord, ContextEvent, EvidenceLog};

fn main() {
    let dir = PathBuf::from(std::env::args_os().nth(1).expect("usage: evidence-crash-writer DIR"));
    // Small segments, so that the kill also lands around segment changes.
    let (mut log, recovery) = EvidenceLog::open_with(&dir, 64 * 1024).expect("open the evidence log");
    if let Some(recovery) = recovery {
        eprintln!("recovered: {} bytes dropped", recovery.dropped_bytes);
    }
    let padding = "x".repeat(2000);
    let context_json = format!(r#"{{"kind":"Event","auditID":"ctx","note":"{padding}"}}"#);
    let context = [ContextEvent { matched: "user", event_json: &context_json }];
    let stdout = std::io::stdout();
    for i in 0u64.. {
        let event =
            format!(r#"{{"kind":"Event","auditID":"ev-{i}","stageTimestamp":"2024-05-01T10:00:00Z"}}"#);
        let audit_id = format!("ev-{i}");
        let record = AlertRecord {
            rule: "Crash test",
            priority: "Warning",
            time_ns: 1_714_557_600_000_000_000 + i as i64,
            audit_id: Some(&audit_id),
            user: Some("eve"),
            object: Some("pods/default/web"),
            output: "crash test record",
            event_json: &event,
            context: &context,
        };
        let appended = log.append(&record).expect("append");
        log.commit().expect("commit");
        let mut out = stdout.lock();
        writeln!(out, "ack {} {}", appended.seq, appended.hash).expect("stdout");
        out.flush().expect("stdout");
    }
}
