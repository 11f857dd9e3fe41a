//! A writer killed with SIGKILL in the middle of its stream loses no acknowledged record and
//! leaves a chain that verifies, and reopening it continues the chain.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kubesecops_forensics::{verify, EvidenceLog};

/// Runs the helper until it acknowledged at least `acks` records, then kills it (SIGKILL).
fn run_and_kill(dir: &std::path::Path, acks: usize) -> Vec<(u64, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidence-crash-writer"))
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the helper starts");
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut acked = Vec::new();
    let started = Instant::now();
    let mut line = String::new();
    while acked.len() < acks {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the helper stopped early");
        acked.push(parse_ack(&line));
        assert!(started.elapsed() < Duration::from_secs(120), "the helper is too slow");
    }
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    child.wait().unwrap();
    // Acknowledgements already printed before the kill count too.
    for line in reader.lines() {
        acked.push(parse_ack(&line.unwrap()));
    }
    acked
}

fn parse_ack(line: &str) -> (u64, String) {
    let mut parts = line.split_whitespace();
    assert_eq!(parts.next(), Some("ack"), "{line}");
    (parts.next().unwrap().parse().unwrap(), parts.next().unwrap().to_string())
}

/// Every (seq, hash) of the records in the directory, in order.
fn records(dir: &std::path::Path) -> Vec<(u64, String)> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("chain-"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            out.push((value["seq"].as_u64().unwrap(), value["hash"].as_str().unwrap().to_string()));
        }
    }
    out
}

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut total_acked = 0;
    for (round, acks) in [150usize, 40, 90].into_iter().enumerate() {
        let acked = run_and_kill(dir.path(), acks);
        assert!(acked.len() >= acks);
        let result = verify(dir.path()).unwrap();
        assert!(result.is_intact(), "round {round}: {:?}", result.problems);
        let stored = records(dir.path());
        for (seq, hash) in &acked {
            let found = stored.iter().find(|(s, _)| s == seq);
            assert_eq!(
                found.map(|(_, h)| h),
                Some(hash),
                "round {round}: acknowledged record {seq} lost or changed"
            );
        }
        total_acked += acked.len();
        // Reopening (what the next round's writer does) recovers any torn tail.
        let (log, _) = EvidenceLog::open(dir.path()).unwrap();
        assert!(log.last().unwrap().seq as usize >= total_acked);
        drop(log);
        let result = verify(dir.path()).unwrap();
        assert!(result.is_intact() && result.warnings.is_empty(), "round {round}: {result:?}");
    }
}
