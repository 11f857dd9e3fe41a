//! gitleaks: configuration compatibility of `kubesecops secrets --config`.
//!
//! Two parts:
//! - `derived/rule_samples.json`: the literal true and false positives of gitleaks' rules.
//!   Each sample is scanned with a ruleset holding only that rule of `config/gitleaks.toml`
//!   plus the config's global allowlists, as gitleaks validates its own rules: a true
//!   positive needs at least one finding (exactly one for samples with a path), a false
//!   positive none. Goals: at least 98% of true positives found, at most 2% of false
//!   positives reported.
//! - `testdata/config`: every config in `valid/` and at the top level must load, every
//!   config in `invalid/` must be rejected. Relative `[extend] path`s in these files are
//!   written for gitleaks' working directory, the suite's `config/` folder.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use kubesecops_secrets::config::{load, LoadOptions};
use kubesecops_secrets::{Input, Ruleset, Scanner};
use serde_json::Value;

use super::{Score, Suite};

pub const SUITE: Suite = Suite { name: "gitleaks", folder: "gitleaks", goal_percent: 98.0, run };

/// Share of true positives that must be found, in percent.
const TRUE_POSITIVE_GOAL: f64 = 98.0;
/// Share of false positives that may be reported, in percent.
const FALSE_POSITIVE_LIMIT: f64 = 2.0;
/// Most misses listed per part; the rest are counted.
const MAX_LISTED: usize = 30;

fn percent(n: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 * 100.0 / total as f64
    }
}

/// Samples shorter than this are shown whole in miss lines; longer ones are cut.
const SHOWN_CHARS: usize = 60;

fn shown(sample: &str) -> String {
    let one_line = sample.replace('\n', "\\n");
    if one_line.chars().count() <= SHOWN_CHARS {
        one_line
    } else {
        format!("{}...", one_line.chars().take(SHOWN_CHARS).collect::<String>())
    }
}

fn run(folder: &Path) -> Result<Score> {
    let samples = rule_samples(folder)?;
    let configs = config_cases(folder)?;
    let mut score = Score::default();
    for part in [samples.found, samples.clean, configs] {
        score.passed += part.passed;
        score.total += part.total;
    }
    let tp = percent(samples.found.passed, samples.found.total);
    let fp = percent(samples.clean.total - samples.clean.passed, samples.clean.total);
    if tp < TRUE_POSITIVE_GOAL || fp > FALSE_POSITIVE_LIMIT {
        println!("gitleaks: all parts {}/{} ({:.2}%)", score.passed, score.total, score.percent());
        bail!(
            "true positives {tp:.2}% (goal >= {TRUE_POSITIVE_GOAL}%), false positives {fp:.2}% (limit {FALSE_POSITIVE_LIMIT}%)"
        );
    }
    Ok(score)
}

struct SampleScores {
    /// True positives: passed = found.
    found: Score,
    /// False positives: passed = not reported.
    clean: Score,
}

/// The ruleset of one gitleaks rule plus the global allowlists of the suite's config.
fn single_rule(base: &Ruleset, rule_id: &str) -> Option<Scanner> {
    let rule = base.rules.iter().find(|r| r.id == rule_id)?.clone();
    Some(Scanner::new(Ruleset {
        rules: vec![rule],
        allowlists: base.allowlists.clone(),
        title: String::new(),
        skip_paths: Vec::new(),
        notes: Vec::new(),
    }))
}

fn rule_samples(folder: &Path) -> Result<SampleScores> {
    let config_path = folder.join("config/gitleaks.toml");
    let text = std::fs::read_to_string(&config_path).with_context(|| format!("{}", config_path.display()))?;
    let base = load(&text, &config_path, &LoadOptions::default())
        .map_err(|e| anyhow::anyhow!("the suite's own config does not load: {e}"))?;
    let samples_path = folder.join("derived/rule_samples.json");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(&samples_path).with_context(|| format!("{}", samples_path.display()))?,
    )
    .with_context(|| format!("{}: not JSON", samples_path.display()))?;
    let Some(entries) = json.as_array() else { bail!("{}: expected a list", samples_path.display()) };

    let mut found = Score::default();
    let mut clean = Score::default();
    let mut misses = Vec::new();
    let strings = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let with_paths = |v: &Value, key: &str| -> Vec<(String, String)> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["path"].as_str().unwrap_or_default().to_string(),
                            s["text"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for entry in entries {
        for rule_id in strings(entry, "rule_ids") {
            let cases: Vec<(bool, String, String)> = strings(entry, "true_positives")
                .into_iter()
                .map(|t| (true, String::new(), t))
                .chain(strings(entry, "false_positives").into_iter().map(|t| (false, String::new(), t)))
                .chain(with_paths(entry, "true_positives_with_path").into_iter().map(|(p, t)| (true, p, t)))
                .chain(with_paths(entry, "false_positives_with_path").into_iter().map(|(p, t)| (false, p, t)))
                .collect();
            if cases.is_empty() {
                continue;
            }
            let Some(scanner) = single_rule(&base, &rule_id) else {
                for (positive, _, _) in &cases {
                    if *positive {
                        found.total += 1
                    } else {
                        clean.total += 1;
                        clean.passed += 1
                    }
                }
                misses.push(format!("{rule_id}: rule not in config/gitleaks.toml"));
                continue;
            };
            for (positive, path, text) in cases {
                let count = scanner.scan(&Input::new(&path, &text)).len();
                if positive {
                    found.total += 1;
                    let ok = if path.is_empty() { count >= 1 } else { count == 1 };
                    if ok {
                        found.passed += 1;
                    } else {
                        misses.push(format!(
                            "{rule_id}: true positive not found ({count} findings): {}",
                            shown(&text)
                        ));
                    }
                } else {
                    clean.total += 1;
                    if count == 0 {
                        clean.passed += 1;
                    } else {
                        misses.push(format!("{rule_id}: false positive reported: {}", shown(&text)));
                    }
                }
            }
        }
    }
    builtin_coverage(entries);
    println!(
        "gitleaks rule samples: true positives found {}/{} ({:.2}%), false positives reported {}/{} ({:.2}%)",
        found.passed,
        found.total,
        percent(found.passed, found.total),
        clean.total - clean.passed,
        clean.total,
        percent(clean.total - clean.passed, clean.total)
    );
    for miss in misses.iter().take(MAX_LISTED) {
        println!("  MISS {miss}");
    }
    if misses.len() > MAX_LISTED {
        println!("  ... and {} more", misses.len() - MAX_LISTED);
    }
    Ok(SampleScores { found, clean })
}

/// For information (not scored): how many of the samples the built-in rules (all of them,
/// not one gitleaks rule at a time) report. A false-positive sample of one gitleaks rule may
/// rightly be reported by another kind of rule, so the second figure is an upper bound.
fn builtin_coverage(entries: &[Value]) {
    let scanner = Scanner::new(kubesecops_secrets::builtin::ruleset());
    let (mut tp, mut tp_found, mut fp, mut fp_reported) = (0, 0, 0, 0);
    for entry in entries {
        for (key, positive) in [("true_positives", true), ("false_positives", false)] {
            for text in entry[key].as_array().into_iter().flatten().filter_map(Value::as_str) {
                let reported = !scanner.scan(&Input::new("", text)).is_empty();
                if positive {
                    tp += 1;
                    tp_found += usize::from(reported);
                } else {
                    fp += 1;
                    fp_reported += usize::from(reported);
                }
            }
        }
    }
    println!(
        "gitleaks rule samples with the built-in rules (information): true positives found {tp_found}/{tp} ({:.2}%), false positives reported {fp_reported}/{fp} ({:.2}%)",
        percent(tp_found, tp),
        percent(fp_reported, fp)
    );
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn config_cases(folder: &Path) -> Result<Score> {
    let dir = folder.join("testdata/config");
    let options = LoadOptions { extend_base: Some(folder.join("config")) };
    let mut score = Score::default();
    let mut misses = Vec::new();
    let cases = toml_files(&dir)?
        .into_iter()
        .chain(toml_files(&dir.join("valid"))?)
        .map(|p| (true, p))
        .chain(toml_files(&dir.join("invalid"))?.into_iter().map(|p| (false, p)));
    for (valid, path) in cases {
        score.total += 1;
        let name = path.strip_prefix(&dir).unwrap_or(&path).display().to_string();
        let text = std::fs::read_to_string(&path).with_context(|| name.clone())?;
        match (valid, load(&text, &path, &options)) {
            (true, Ok(_)) | (false, Err(_)) => score.passed += 1,
            (true, Err(err)) => misses.push(format!("{name}: rejected: {err}")),
            (false, Ok(_)) => misses.push(format!("{name}: loaded, expected an error")),
        }
    }
    println!("gitleaks configs: {}/{} valid loaded or invalid rejected", score.passed, score.total);
    for miss in &misses {
        println!("  MISS {miss}");
    }
    Ok(score)
}
