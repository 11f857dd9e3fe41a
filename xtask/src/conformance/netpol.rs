//! netpol-analyzer: `kubesecops netpol connlist` against netpol-analyzer's own test data.
//!
//! Two parts:
//! - `INDEX_plain_connlist.tsv` pairs each scenario folder with netpol-analyzer's expected
//!   text output. A case passes when the set of lines we print equals the set of lines of
//!   that file (order-insensitive, exact text). This part is the suite's score (goal 98%).
//! - Every scenario folder whose name contains `bad` (each leaf folder of it) must be
//!   rejected with an error that names a file and line. Printed as a detail line.
//! - `test_outputs/diff/diff_between_<new>_and_<old>.txt` for which both folders are in
//!   `tests/`: `netpol diff old new` must print the same set of lines. Printed as a detail
//!   line.
//! - `test_outputs/connlist/<scenario>_exposure_output.txt` for which `tests/<scenario>` is a
//!   folder (plain `--exposure` runs, no focus or explain options): `netpol connlist
//!   --exposure` must print the same set of lines. Printed as a detail line, not in the
//!   score: the 98% goal is about the plain connlist cases.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kubesecops_netpol::{connlist, diff, load, output, NetpolError};

use super::{Score, Suite};

pub const SUITE: Suite =
    Suite { name: "netpol-analyzer", folder: "netpol-analyzer", goal_percent: 98.0, run };

/// Lines of a miss shown per direction (missing / unexpected).
const SHOWN_LINES: usize = 5;

fn run(folder: &Path) -> Result<Score> {
    let index = folder.join("INDEX_plain_connlist.tsv");
    let text = std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let mut score = Score::default();
    for row in text.lines().skip(1) {
        let mut cols = row.split('\t');
        let (Some(dir), Some(expected)) = (cols.next(), cols.next()) else { continue };
        if dir.is_empty() || expected.is_empty() {
            continue;
        }
        score.total += 1;
        let expected_path = folder.join(expected);
        let expected_text = std::fs::read_to_string(&expected_path)
            .with_context(|| format!("reading {}", expected_path.display()))?;
        match connlist_text(&folder.join(dir)) {
            Ok(actual) => {
                let want: BTreeSet<&str> = expected_text.lines().collect();
                let got: BTreeSet<&str> = actual.lines().collect();
                if want == got {
                    score.passed += 1;
                } else {
                    let missing: Vec<&&str> = want.difference(&got).collect();
                    let extra: Vec<&&str> = got.difference(&want).collect();
                    println!("MISS {dir}: {} missing, {} unexpected line(s)", missing.len(), extra.len());
                    for l in missing.iter().take(SHOWN_LINES) {
                        println!("  - {l}");
                    }
                    for l in extra.iter().take(SHOWN_LINES) {
                        println!("  + {l}");
                    }
                }
            }
            Err(message) => println!("MISS {dir}: error: {message}"),
        }
    }
    let bad = bad_scenarios(folder)?;
    println!("PART netpol-analyzer bad scenarios rejected with file:line: {}/{}", bad.passed, bad.total);
    let diffs = diff_cases(folder)?;
    println!("PART netpol-analyzer diff outputs equal: {}/{}", diffs.passed, diffs.total);
    let exposure = exposure_cases(folder)?;
    println!("PART netpol-analyzer --exposure outputs equal: {}/{}", exposure.passed, exposure.total);
    Ok(score)
}

/// The text output for one scenario folder, or the error.
fn connlist_text(dir: &Path) -> Result<String, String> {
    let input = load(&[dir.to_path_buf()]);
    let (reach, _skipped) = connlist(&input.objects).map_err(|e| e.to_string())?;
    let lines = output::lines(&reach, &output::Filter::default());
    Ok(output::txt(&reach, &lines))
}

/// `netpol connlist --exposure` against the expected plain exposure outputs.
fn exposure_cases(folder: &Path) -> Result<Score> {
    let outputs = folder.join("test_outputs/connlist");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outputs)
        .with_context(|| format!("listing {}", outputs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut score = Score::default();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let Some(scenario) = name.strip_suffix("_exposure_output.txt") else { continue };
        let dir = folder.join("tests").join(scenario);
        if !dir.is_dir() {
            continue; // focus-workload and explain variants name options, not folders
        }
        score.total += 1;
        let got = connlist(&load(std::slice::from_ref(&dir)).objects).and_then(|(reach, _)| {
            let lines = output::lines(&reach, &output::Filter::default());
            let mut text = output::txt(&reach, &lines);
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&output::exposure_txt(
                &reach.exposure().map_err(|e| NetpolError::Invalid(vec![e]))?,
            ));
            Ok(text)
        });
        let got = match got {
            Ok(text) => text,
            Err(e) => {
                println!("MISS exposure {scenario}: error: {e}");
                continue;
            }
        };
        let want = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let (want, got): (BTreeSet<&str>, BTreeSet<&str>) = (want.lines().collect(), got.lines().collect());
        if want == got {
            score.passed += 1;
        } else {
            let missing: Vec<&&str> = want.difference(&got).collect();
            let extra: Vec<&&str> = got.difference(&want).collect();
            println!(
                "MISS exposure {scenario}: {} missing, {} unexpected line(s)",
                missing.len(),
                extra.len()
            );
            for l in missing.iter().take(2) {
                println!("  - {l}");
            }
            for l in extra.iter().take(2) {
                println!("  + {l}");
            }
        }
    }
    Ok(score)
}

/// `netpol diff` against the expected diff outputs whose two folders are both present.
fn diff_cases(folder: &Path) -> Result<Score> {
    let tests = folder.join("tests");
    let outputs = folder.join("test_outputs/diff");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outputs)
        .with_context(|| format!("listing {}", outputs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut score = Score::default();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let Some(pair) = name.strip_prefix("diff_between_").and_then(|r| r.strip_suffix(".txt")) else {
            continue;
        };
        // `<new>_and_<old>`: folder names may contain `_and_` themselves, so try every split.
        let Some((new, old)) = pair
            .match_indices("_and_")
            .map(|(i, _)| (&pair[..i], &pair[i + 5..]))
            .find(|(a, b)| tests.join(a).is_dir() && tests.join(b).is_dir())
        else {
            continue;
        };
        score.total += 1;
        let analyse = |dir: &str| connlist(&load(&[tests.join(dir)]).objects).map(|(r, _)| r);
        let got = match (analyse(old), analyse(new)) {
            (Ok(a), Ok(b)) => diff::txt(&diff::diff(&a, &b)),
            (Err(e), _) | (_, Err(e)) => {
                println!("MISS diff {pair}: error: {e}");
                continue;
            }
        };
        let want = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let (want, got): (BTreeSet<&str>, BTreeSet<&str>) = (want.lines().collect(), got.lines().collect());
        if want == got {
            score.passed += 1;
        } else {
            println!(
                "MISS diff {pair}: {} missing, {} unexpected line(s)",
                want.difference(&got).count(),
                got.difference(&want).count()
            );
        }
    }
    Ok(score)
}

/// Leaf folders under `tests/` whose path contains `bad`: each must be rejected.
fn bad_scenarios(folder: &Path) -> Result<Score> {
    let tests = folder.join("tests");
    let mut leaves: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&tests).with_context(|| format!("listing {}", tests.display()))? {
        let path = entry?.path();
        if !path.is_dir() || !path.file_name().is_some_and(|n| n.to_string_lossy().contains("bad")) {
            continue;
        }
        let subdirs: Vec<PathBuf> = std::fs::read_dir(&path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        if subdirs.is_empty() {
            leaves.push(path);
        } else {
            leaves.extend(subdirs);
        }
    }
    leaves.sort();
    let mut score = Score::default();
    for leaf in leaves {
        score.total += 1;
        let input = load(std::slice::from_ref(&leaf));
        let name = leaf.strip_prefix(&tests).unwrap_or(&leaf).display().to_string();
        match connlist(&input.objects) {
            Err(NetpolError::Invalid(errors)) if errors.iter().all(|e| e.line.is_some()) => score.passed += 1,
            Err(e) => println!("MISS bad {name}: error without a line: {e}"),
            Ok((reach, _)) => println!(
                "MISS bad {name}: accepted ({} connections, {} warning(s){})",
                reach.connection_count(),
                reach.warnings.len(),
                reach.warnings.first().map(|w| format!(": {w}")).unwrap_or_default()
            ),
        }
    }
    Ok(score)
}
