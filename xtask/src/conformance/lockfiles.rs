//! osv-scanner (lockfiles): package counts of `kubesecops-image`'s detectors on osv-scanner's
//! fixtures, against the counts in osv-scanner's snapshots.
//!
//! The snapshots (`cmd/osv-scanner/scan/source/__snapshots__/command_test.snap` and
//! `cmd/osv-scanner/__snapshots__/main_test.snap`) have lines `Scanned <rootdir>/testdata/PATH
//! file and found N packages`; every distinct line naming a file of a format the image
//! detectors read (Cargo.lock, package-lock.json, requirements files, go.mod and `*.mod`, dpkg
//! `status`, apk `installed`) is one case, parsed with that format's reader. Fixtures the
//! suite does not ship are listed, not scored. Known difference: requirements files whose
//! snapshot count comes from resolving transitive dependencies over the network cannot match
//! an offline reader; they are scored like the others.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kubesecops_image::detect::{lockfiles, os};
use kubesecops_image::Package;

use super::{Score, Suite};

pub const SUITE: Suite =
    Suite { name: "osv-scanner-lockfiles", folder: "osv-scanner", goal_percent: 95.0, run };

/// Snapshot files and the folder their `<rootdir>` stands for.
const SNAPSHOTS: [(&str, &str); 2] = [
    ("cmd/osv-scanner/scan/source/__snapshots__/command_test.snap", "cmd/osv-scanner/scan/source"),
    ("cmd/osv-scanner/__snapshots__/main_test.snap", "cmd/osv-scanner"),
];

/// Parses `path` with the reader of its format; `None` for formats the detectors do not read.
fn read_packages(path: &Path, shown: &str) -> Option<Result<Vec<Package>>> {
    let name = path.file_name()?.to_str()?;
    type Reader = fn(&str, &str) -> Result<Vec<Package>, kubesecops_image::ImageError>;
    let reader: Reader = match name {
        "Cargo.lock" => lockfiles::parse_cargo_lock,
        "status" => |text, path| os::parse_dpkg_status(text, path, "Debian"),
        "installed" => |text, path| os::parse_apk_installed(text, path, "Alpine"),
        _ if name.ends_with("package-lock.json") => lockfiles::parse_package_lock,
        _ if name.ends_with(".mod") => lockfiles::parse_go_mod,
        _ if name.ends_with(".txt") && name.contains("requirements") => lockfiles::parse_requirements,
        _ => return None,
    };
    Some(
        fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))
            .and_then(|text| reader(&text, shown).map_err(anyhow::Error::from)),
    )
}

fn run(folder: &Path) -> Result<Score> {
    let mut cases: BTreeSet<(PathBuf, String, usize)> = BTreeSet::new();
    for (snapshot, root) in SNAPSHOTS {
        let text =
            fs::read_to_string(folder.join(snapshot)).with_context(|| format!("reading {snapshot}"))?;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("Scanned <rootdir>/") else { continue };
            let Some((relative, tail)) = rest.split_once(" file ") else { continue };
            let Some(count) = tail.strip_prefix("and found ").and_then(|t| t.split(' ').next()) else {
                continue;
            };
            let Ok(count) = count.parse::<usize>() else { continue };
            cases.insert((folder.join(root).join(relative), relative.to_string(), count));
        }
    }
    let mut score = Score::default();
    let mut missing = 0;
    for (path, shown, want) in cases {
        let Some(result) = read_packages(&path, &shown) else { continue };
        if !path.exists() {
            missing += 1;
            continue;
        }
        score.total += 1;
        match result {
            Ok(packages) if packages.len() == want => score.passed += 1,
            Ok(packages) => println!("  FAIL {shown}: {} packages, snapshot says {want}", packages.len()),
            Err(err) => println!("  FAIL {shown}: {err:#}"),
        }
    }
    println!("osv-scanner-lockfiles: {missing} fixtures named in snapshots are not in the suite");
    Ok(score)
}
