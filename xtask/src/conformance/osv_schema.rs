//! osv-schema: the sample OSV records of the schema's tools (`tools/**/testdata`) read by
//! `kubesecops-vulndb` and evaluated consistently with themselves.
//!
//! Files with a top-level `id` and `modified` are OSV records (the other samples are the
//! converters' GHSA and CSAF inputs, not scored). Per record, one case for parsing, then one
//! case per check derived from the record itself: every `introduced` version (but `0`) and
//! `last_affected` version of an `ECOSYSTEM`/`SEMVER` range is affected, every `fixed` version
//! is not, and every version in `versions` is affected. Finally the records are imported into a
//! temporary store and each non-withdrawn record must be found again by one of its affected
//! versions, and a withdrawn record never (samples sharing an id count once, as stored).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kubesecops_vulndb::osv::{Affected, Record};
use kubesecops_vulndb::{import, parse_records, Store};
use serde_json::Value;

use super::{Score, Suite};

pub const SUITE: Suite = Suite { name: "osv-schema", folder: "osv-schema", goal_percent: 100.0, run };

/// Most failures listed; the rest are counted.
const MAX_LISTED: usize = 20;

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn is_osv(value: &Value) -> bool {
    value.get("id").is_some_and(Value::is_string) && value.get("modified").is_some()
}

/// A version of `affected` that its ranges or list should report as affected, if any.
fn affected_version(affected: &Affected) -> Option<String> {
    affected.versions.first().cloned().or_else(|| {
        affected
            .ranges
            .iter()
            .filter(|r| r.kind != "GIT")
            .flat_map(|r| &r.events)
            .find_map(|e| e.introduced.clone().filter(|v| v != "0").or_else(|| e.last_affected.clone()))
    })
}

fn run(folder: &Path) -> Result<Score> {
    let mut files = Vec::new();
    collect_json(&folder.join("tools"), &mut files)?;
    files.sort();
    let mut score = Score::default();
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String, score: &mut Score| {
        score.total += 1;
        if ok {
            score.passed += 1;
        } else {
            failures.push(what);
        }
    };
    let mut records: Vec<(PathBuf, Record)> = Vec::new();
    for path in &files {
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let value: Value =
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
        if !is_osv(&value) {
            continue;
        }
        let shown = path.strip_prefix(folder).unwrap_or(path).display().to_string();
        match parse_records(&bytes, &shown) {
            Ok(parsed) => {
                check(parsed.len() == 1, format!("{shown}: {} records", parsed.len()), &mut score);
                records.extend(parsed.into_iter().map(|r| (path.clone(), r)));
            }
            Err(err) => check(false, format!("{err}"), &mut score),
        }
    }
    for (path, record) in &records {
        let shown = path.strip_prefix(folder).unwrap_or(path).display();
        for affected in &record.affected {
            let name = affected.package.as_ref().map_or("?", |p| p.name.as_str());
            for range in affected.ranges.iter().filter(|r| r.kind != "GIT") {
                for event in &range.events {
                    let (version, want) = match (&event.introduced, &event.fixed, &event.last_affected) {
                        (Some(v), _, _) if v != "0" => (v, true),
                        (_, Some(v), _) => (v, false),
                        (_, _, Some(v)) => (v, true),
                        _ => continue,
                    };
                    let got = affected.evaluate(version).is_some();
                    check(
                        got == want,
                        format!("{shown}: {name} {version}: affected={got}, want {want}"),
                        &mut score,
                    );
                }
            }
            for version in &affected.versions {
                let got = affected.evaluate(version).is_some();
                check(got, format!("{shown}: {name} {version} listed but not affected"), &mut score);
            }
        }
    }
    // Round trip through a store.
    let store_dir = std::env::temp_dir().join(format!("kubesecops-osv-schema-{}", std::process::id()));
    let inputs: Vec<PathBuf> = records.iter().map(|(p, _)| p.clone()).collect();
    let result = import(&store_dir, &inputs).context("importing the sample records");
    let store = result.and_then(|_| Store::open(&store_dir).context("opening the store"));
    let round_trip = store.map(|store| {
        // Samples sharing an id (linter variants) keep one record, as the store does: the
        // later modification, or the later import when equal.
        let mut kept: std::collections::BTreeMap<&str, &Record> = std::collections::BTreeMap::new();
        for (_, record) in &records {
            if kept.get(record.id.as_str()).is_none_or(|old| old.modified <= record.modified) {
                kept.insert(&record.id, record);
            }
        }
        let mut cases = Vec::new();
        for record in kept.into_values() {
            let probe =
                record.affected.iter().find_map(|a| Some((a.package.as_ref()?, affected_version(a)?)));
            let Some((package, version)) = probe else { continue };
            let found = store
                .matches(&package.ecosystem, &package.name, &version)
                .map(|hits| hits.iter().any(|h| h.id == record.id))
                .unwrap_or(false);
            let want = record.withdrawn.is_none();
            cases.push((
                found == want,
                format!("store: {} via {} {}: found={found}", record.id, package.name, version),
            ));
        }
        cases
    });
    let _ = fs::remove_dir_all(&store_dir);
    for (ok, what) in round_trip? {
        check(ok, what, &mut score);
    }
    println!("osv-schema: {} OSV sample records", records.len());
    for failure in failures.iter().take(MAX_LISTED) {
        println!("  FAIL {failure}");
    }
    if failures.len() > MAX_LISTED {
        println!("  ... and {} more", failures.len() - MAX_LISTED);
    }
    Ok(score)
}
