//! kubernetes/pod-security-admission fixtures: `test/testdata/<level>/v1.N/{pass,fail}/*.yaml`.
//! Every pass file must be allowed and every fail file denied with that level and version
//! enforced. A fail file's name (`hostnamespaces1.yaml`) names the check expected to fail;
//! how often the reported checks include it is printed as well (through the restricted check
//! that replaces it, where the restricted level replaces a baseline check).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use kubesecops_checks::pss::{self, Level, Version};
use kubesecops_k8s::loader::load_text;

use super::{Score, Suite};

pub const SUITE: Suite =
    Suite { name: "pod-security-admission", folder: "pod-security-admission", goal_percent: 100.0, run };

/// Most failing files listed; the rest are counted.
const MAX_LISTED: usize = 40;

/// Tally of the check-id agreement of fail files.
#[derive(Default)]
struct IdTally {
    /// Fail files whose name gives a known check id.
    named: usize,
    /// ... whose reported checks include it.
    direct: usize,
    /// ... whose reported checks include the restricted check replacing it.
    replaced: usize,
    /// Fail files whose names give no known check.
    unnamed: usize,
}

fn run(folder: &Path) -> Result<Score> {
    let testdata = folder.join("test/testdata");
    let mut score = Score::default();
    let mut ids = IdTally::default();
    let mut failures = Vec::new();
    for level in [Level::Baseline, Level::Restricted] {
        let level_dir = testdata.join(level.as_str());
        for (minor, version_dir) in version_dirs(&level_dir)? {
            let version = Version::Minor(minor);
            let mut part = Score::default();
            for (expect_allowed, sub) in [(true, "pass"), (false, "fail")] {
                for file in yaml_files(&version_dir.join(sub))? {
                    part.total += 1;
                    let shown = file.strip_prefix(&testdata).unwrap_or(&file).display().to_string();
                    let result = match evaluate_file(&file, level, version) {
                        Ok(result) => result,
                        Err(err) => {
                            failures.push(format!("{shown}: {err:#}"));
                            continue;
                        }
                    };
                    if result.allowed != expect_allowed {
                        let what = if result.allowed {
                            "allowed, expected denied".to_string()
                        } else {
                            format!("denied by {}, expected allowed", result.failed_checks().join(", "))
                        };
                        failures.push(format!("{shown}: {what}"));
                        continue;
                    }
                    part.passed += 1;
                    if !expect_allowed {
                        tally_ids(&file, &result, level, version, &mut ids);
                    }
                }
            }
            println!("pod-security-admission {level} {version}: {}/{}", part.passed, part.total);
            score.passed += part.passed;
            score.total += part.total;
        }
    }
    println!(
        "pod-security-admission check ids: {}/{} denied fail files report the check their name gives \
         ({} directly, {} through the restricted check replacing it){}",
        ids.direct + ids.replaced,
        ids.named,
        ids.direct,
        ids.replaced,
        if ids.unnamed > 0 { format!("; {} names give no known check", ids.unnamed) } else { String::new() },
    );
    for failure in failures.iter().take(MAX_LISTED) {
        println!("  FAIL {failure}");
    }
    if failures.len() > MAX_LISTED {
        println!("  ... and {} more", failures.len() - MAX_LISTED);
    }
    Ok(score)
}

/// Loads a fixture that must hold exactly one object with a pod template.
fn evaluate_file(file: &Path, level: Level, version: Version) -> Result<pss::PssResult> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let loaded = load_text(Arc::from(file.display().to_string()), &text);
    if let Some(err) = loaded.errors.first() {
        bail!("line {}: {}", err.line.unwrap_or(0), err.message);
    }
    let [object] = loaded.objects.as_slice() else {
        bail!("expected one object, found {}", loaded.objects.len());
    };
    pss::evaluate_object(object, level, version).context("the object has no pod template")
}

/// Counts whether a denied fail file was denied by the check its name gives.
fn tally_ids(file: &Path, result: &pss::PssResult, level: Level, version: Version, ids: &mut IdTally) {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let prefix = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    let Some(named) = pss::all_check_ids().find(|id| id.eq_ignore_ascii_case(prefix)) else {
        ids.unnamed += 1;
        return;
    };
    ids.named += 1;
    let reported = result.failed_checks();
    if reported.contains(&named) {
        ids.direct += 1;
    } else if pss::replaced_by(named, level, version).is_some_and(|id| reported.contains(&id)) {
        ids.replaced += 1;
    } else {
        println!(
            "  CHECK {}: named {named}, reported {}",
            file.display(),
            if reported.is_empty() { "nothing".to_string() } else { reported.join(", ") }
        );
    }
}

/// `v1.N` folders of a level, by N.
fn version_dirs(level_dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut dirs = BTreeMap::new();
    let entries =
        std::fs::read_dir(level_dir).with_context(|| format!("cannot list {}", level_dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(Version::Minor(minor)) = name.parse::<Version>() {
            if name.starts_with('v') && entry.path().is_dir() {
                dirs.insert(minor, entry.path());
            }
        }
    }
    if dirs.is_empty() {
        bail!("no v1.N folders in {}", level_dir.display());
    }
    Ok(dirs.into_iter().collect())
}

/// The `.yaml` files of a folder, sorted; none when the folder does not exist.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
