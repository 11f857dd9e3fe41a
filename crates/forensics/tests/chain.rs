//! Tampering with an evidence directory is detected and located; exports select records.

use std::path::Path;

use kubesecops_forensics::{export, verify, AlertRecord, ContextEvent, EvidenceLog, ExportFilter};

const T0: i64 = 1_714_557_600_000_000_000;

fn write_log(dir: &Path, records: u64, segment_bytes: u64) {
    let (mut log, recovery) = EvidenceLog::open_with(dir, segment_bytes).unwrap();
    assert!(recovery.is_none());
    for i in 0..records {
        let event = format!(r#"{{"kind":"Event","auditID":"ev-{i}"}}"#);
        let context_event = format!(r#"{{"kind":"Event","auditID":"before-{i}"}}"#);
        let context = [ContextEvent { matched: "user", event_json: &context_event }];
        let rule =
            if i % 2 == 0 { "Secret read by an unexpected subject" } else { "Binding to cluster-admin" };
        let id = format!("ev-{i}");
        log.append(&AlertRecord {
            rule,
            priority: "Warning",
            time_ns: T0 + i as i64 * 1_000_000_000,
            audit_id: Some(&id),
            user: Some("eve"),
            object: Some("secrets/default/db"),
            output: "eve read \"db\"",
            event_json: &event,
            context: &context,
        })
        .unwrap();
        log.commit().unwrap();
    }
}

fn segment(dir: &Path, n: u32) -> std::path::PathBuf {
    dir.join(format!("chain-{n:06}.jsonl"))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn problems(dir: &Path) -> Vec<String> {
    verify(dir).unwrap().problems.iter().map(ToString::to_string).collect()
}

#[test]
fn an_intact_log_verifies_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 10, 1 << 20);
    let result = verify(dir.path()).unwrap();
    assert!(result.is_intact(), "{:?}", result.problems);
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    assert_eq!(result.records, 10);
    assert_eq!(result.head.as_ref().map(|h| h.0), Some(10));
    // Reopening continues the chain.
    write_log_more(dir.path(), 3);
    let result = verify(dir.path()).unwrap();
    assert!(result.is_intact(), "{:?}", result.problems);
    assert_eq!(result.records, 13);
}

fn write_log_more(dir: &Path, n: u64) {
    let (mut log, _) = EvidenceLog::open(dir).unwrap();
    for _ in 0..n {
        log.append(&AlertRecord {
            rule: "R",
            priority: "Notice",
            time_ns: T0,
            audit_id: None,
            user: None,
            object: None,
            output: "o",
            event_json: "{}",
            context: &[],
        })
        .unwrap();
    }
    log.commit().unwrap();
}

#[test]
fn an_edit_is_found_at_its_record() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 6, 1 << 20);
    let path = segment(dir.path(), 1);
    let mut all = lines(&path);
    all[3] = all[3].replace("eve read", "bob read");
    write_lines(&path, &all);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("chain-000001.jsonl:4 (record 4)") && found[0].contains("edited"), "{found:?}");
}

#[test]
fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 6, 1 << 20);
    let path = segment(dir.path(), 1);
    let mut all = lines(&path);
    let edited = all[2].replace("eve read", "bob read");
    let body = format!("{}}}", &edited[..edited.len() - 75]);
    let hash: String = Sha256::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    all[2] = format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1]);
    write_lines(&path, &all);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains(":4 (record 4)") && found[0].contains("prev does not match"), "{found:?}");
}

#[test]
fn a_deletion_is_found_where_the_gap_is() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 6, 1 << 20);
    let path = segment(dir.path(), 1);
    let mut all = lines(&path);
    all.remove(2);
    write_lines(&path, &all);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains(":3 (record 4)") && found[0].contains("record 3 is missing"), "{found:?}");
}

#[test]
fn reordering_is_found() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 6, 1 << 20);
    let path = segment(dir.path(), 1);
    let mut all = lines(&path);
    all.swap(1, 2);
    write_lines(&path, &all);
    let found = problems(dir.path());
    assert!(!found.is_empty());
    assert!(found[0].contains(":2 (record 3)"), "{found:?}");
    assert!(found.iter().any(|p| p.contains("out of order")), "{found:?}");
}

#[test]
fn truncating_the_end_is_found_against_the_head() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 6, 1 << 20);
    let path = segment(dir.path(), 1);
    let mut all = lines(&path);
    all.truncate(4);
    write_lines(&path, &all);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("records 5 to 6 were removed (truncated)"), "{found:?}");
    // The writer refuses to extend a truncated log.
    let err = EvidenceLog::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn a_missing_segment_is_found() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 30, 1024);
    assert!(segment(dir.path(), 3).exists(), "small segments roll over");
    assert!(verify(dir.path()).unwrap().is_intact());
    std::fs::remove_file(segment(dir.path(), 2)).unwrap();
    let found = problems(dir.path());
    assert!(found[0].contains("chain-000002.jsonl: segment missing"), "{found:?}");
    assert!(found[1].contains("chain-000003.jsonl:1") && found[1].contains("missing"), "{found:?}");
}

#[test]
fn a_torn_last_record_is_a_warning_and_recovered_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 4, 1 << 20);
    let path = segment(dir.path(), 1);
    let all = lines(&path);
    // A crash in the middle of writing record 5: half a line, no newline.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&all[3][..all[3].len() / 2]);
    std::fs::write(&path, text).unwrap();
    let result = verify(dir.path()).unwrap();
    assert!(result.is_intact(), "{:?}", result.problems);
    assert_eq!(result.warnings.len(), 1);
    assert!(result.warnings[0].to_string().contains(":5: incomplete last record"), "{}", result.warnings[0]);

    let (log, recovery) = EvidenceLog::open(dir.path()).unwrap();
    let recovery = recovery.expect("the torn record is recovered");
    assert_eq!(recovery.dropped_bytes as usize, all[3].len() / 2);
    assert_eq!(recovery.record.seq, 5, "the recovery is recorded in the chain");
    drop(log);
    let result = verify(dir.path()).unwrap();
    assert!(result.is_intact() && result.warnings.is_empty(), "{result:?}");
    assert!(lines(&path)[4].contains("\"kind\":\"recovery\""));
}

#[test]
fn a_damaged_complete_record_stops_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 3, 1 << 20);
    let path = segment(dir.path(), 1);
    let mut all = lines(&path);
    all[1] = all[1].replace("Warning", "Notice!");
    write_lines(&path, &all);
    let err = EvidenceLog::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("refusing"), "{err}");
}

#[test]
fn export_selects_by_rule_and_time() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 10, 1 << 20);
    let mut out = Vec::new();
    let filter =
        ExportFilter { since_ns: Some(T0 + 4_000_000_000), rules: vec!["Binding to cluster-admin".into()] };
    let summary = export(dir.path(), &filter, &mut out).unwrap();
    // Odd records are bindings; times T0+i s, so i in 5, 7, 9.
    assert_eq!(summary.records, 3);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["kind"], "kubesecops-evidence-bundle");
    assert_eq!(lines[0]["chain"]["intact"], true);
    assert_eq!(lines[0]["records"], 3);
    let ids: Vec<&str> = lines[1..].iter().map(|l| l["auditID"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ev-5", "ev-7", "ev-9"]);
    assert_eq!(lines[1]["context"][0]["event"]["auditID"], "before-5");
}
