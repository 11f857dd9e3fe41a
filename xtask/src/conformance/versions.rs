//! version-vectors: exact version comparison per ecosystem with `kubesecops-vulndb`.
//!
//! Every row of these tables is one case (see the suite's README):
//! - dpkg `Dpkg_Version.t.DATA.txt` (sign of the comparison) and `derived_validity.tsv`.
//! - go-deb-version: less-than, validity and parse (epoch, upstream, revision) tables.
//! - apk-tools `version.data`: `a op b` (ops `<`, `>`, `=`, `~`, combined, `!` negation) and
//!   validity lines.
//! - rpm `derived_rpmvercmp.tsv` (active rows; the disabled "oddities" are rpm's own known
//!   failures and are listed, not scored) and `derived_evr_compare.tsv`.
//! - pep440: valid and invalid versions, normalised forms, and the sorted `VERSIONS` list (one
//!   case per version: it must compare correctly with every other), specifier validity and
//!   `test_specifiers` containment (built upstream with `prereleases=True`).
//! - node-semver: `comparisons` (a > b and b < a), `equality`, `valid-versions` (parts),
//!   `invalid-versions` (rows given as strings; JavaScript-only rows are listed, not scored),
//!   `range-include` / `range-exclude` (`semver.satisfies` with the row's options).

use std::cmp::Ordering;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use kubesecops_vulndb::version::npm_range::{NpmRange, RangeOptions};
use kubesecops_vulndb::version::pep440::{Pep440Version, Specifier};
use kubesecops_vulndb::version::semver::{Identifier, SemVer, Strictness};
use kubesecops_vulndb::version::{apk, dpkg, rpm};
use serde_json::Value;

use super::{Score, Suite};

pub const SUITE: Suite =
    Suite { name: "version-vectors", folder: "version-vectors", goal_percent: 100.0, run };

/// Most failures listed per part; the rest are counted.
const MAX_LISTED: usize = 20;

/// Score of one part with its failure lines.
struct Part {
    name: &'static str,
    score: Score,
    failures: Vec<String>,
}

impl Part {
    fn new(name: &'static str) -> Self {
        Self { name, score: Score::default(), failures: Vec::new() }
    }

    fn check(&mut self, ok: bool, case: impl FnOnce() -> String) {
        self.score.total += 1;
        if ok {
            self.score.passed += 1;
        } else {
            self.failures.push(case());
        }
    }
}

fn run(folder: &Path) -> Result<Score> {
    let parts = vec![
        dpkg_data(folder)?,
        dpkg_validity(folder)?,
        go_deb_version(folder)?,
        apk_data(folder)?,
        rpm_vercmp(folder)?,
        rpm_evr(folder)?,
        pep440_tables(folder)?,
        pep440_order(folder)?,
        pep440_specifiers(folder)?,
        semver_tables(folder)?,
        semver_ranges(folder)?,
    ];
    let mut total = Score::default();
    for part in &parts {
        println!(
            "version-vectors {}: {}/{} ({:.2}%)",
            part.name,
            part.score.passed,
            part.score.total,
            part.score.percent()
        );
        for failure in part.failures.iter().take(MAX_LISTED) {
            println!("  FAIL {failure}");
        }
        if part.failures.len() > MAX_LISTED {
            println!("  ... and {} more", part.failures.len() - MAX_LISTED);
        }
        total.passed += part.score.passed;
        total.total += part.score.total;
    }
    Ok(total)
}

fn read(folder: &Path, path: &str) -> Result<String> {
    let path = folder.join(path);
    fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

fn read_json(folder: &Path, path: &str) -> Result<Value> {
    serde_json::from_str(&read(folder, path)?).with_context(|| format!("parsing {path}"))
}

fn sign(order: Ordering) -> i64 {
    match order {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

fn dpkg_data(folder: &Path) -> Result<Part> {
    let mut part = Part::new("dpkg comparisons");
    let path = "dpkg/scripts/t/Dpkg_Version.t.DATA.txt";
    for (n, line) in read(folder, path)?.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, b, expected] = fields[..] else { continue };
        let expected: i64 =
            expected.parse().with_context(|| format!("{path}:{}: bad expected value", n + 1))?;
        let got = dpkg::compare(a, b).map(sign);
        part.check(got.as_ref().ok() == Some(&expected), || {
            format!("{a} vs {b}: want {expected}, got {got:?}")
        });
    }
    Ok(part)
}

fn dpkg_validity(folder: &Path) -> Result<Part> {
    let mut part = Part::new("dpkg validity");
    for line in read(folder, "dpkg/derived_validity.tsv")?.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((version, valid)) = line.split_once('\t') else { continue };
        let want = valid.trim() == "true";
        let got = dpkg::DebVersion::parse(version).is_ok();
        part.check(got == want, || format!("{version:?}: want valid={want}"));
    }
    Ok(part)
}

fn go_deb_version(folder: &Path) -> Result<Part> {
    let mut part = Part::new("go-deb-version");
    let data = read_json(folder, "go-deb-version/derived_version_test.json")?;
    for row in data["TestVersion_v1_lessthan_v2"].as_array().into_iter().flatten() {
        let (a, b) = (row["v1"].as_str().unwrap_or(""), row["v2"].as_str().unwrap_or(""));
        let want = row["v1_less_than_v2"].as_bool();
        let got = dpkg::compare(a, b).ok().map(|o| o == Ordering::Less);
        part.check(got.is_some() && got == want, || format!("{a} < {b}: want {want:?}, got {got:?}"));
    }
    for row in data["TestValid"].as_array().into_iter().flatten() {
        let version = row["version"].as_str().unwrap_or("");
        let want = row["valid"].as_bool();
        let got = Some(dpkg::DebVersion::parse(version).is_ok());
        part.check(got == want, || format!("valid({version:?}): want {want:?}"));
    }
    for row in data["TestNewVersion"].as_array().into_iter().flatten() {
        let version = row["version"].as_str().unwrap_or("");
        let parsed = dpkg::DebVersion::parse(version);
        let ok = match (&parsed, row["error"].as_bool()) {
            (Err(_), Some(true)) => true,
            (Ok(v), Some(false)) => {
                Some(v.epoch) == row["epoch"].as_u64()
                    && Some(v.upstream.as_str()) == row["upstream"].as_str()
                    && Some(v.revision.as_str()) == row["revision"].as_str()
            }
            _ => false,
        };
        part.check(ok, || format!("parse({version:?}): got {parsed:?}, want {row}"));
    }
    Ok(part)
}

fn apk_data(folder: &Path) -> Result<Part> {
    let mut part = Part::new("apk");
    for line in read(folder, "apk-tools/test/unit/version.data")?.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let ok = match fields[..] {
            [a, op, b] => {
                let (negated, op) = match op.strip_prefix('!') {
                    Some(op) => (true, op),
                    None => (false, op),
                };
                let fuzzy = op.contains('~');
                let order = apk::compare_fuzzy(a, b, fuzzy);
                let accepted = match order {
                    Ordering::Less => op.contains('<'),
                    Ordering::Greater => op.contains('>'),
                    Ordering::Equal => op.contains('=') || fuzzy,
                };
                accepted != negated
            }
            [version] => match version.strip_prefix('!') {
                Some(version) => !apk::is_valid(version),
                None => apk::is_valid(version),
            },
            _ => false,
        };
        part.check(ok, || line.to_string());
    }
    Ok(part)
}

fn rpm_vercmp(folder: &Path) -> Result<Part> {
    let mut part = Part::new("rpm rpmvercmp");
    let mut disabled = 0;
    for line in read(folder, "rpm/derived_rpmvercmp.tsv")?.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [a, b, expected, status] = fields[..] else { continue };
        if status != "active" {
            disabled += 1;
            continue;
        }
        let expected: i64 = expected.parse().context("rpm/derived_rpmvercmp.tsv: bad expected value")?;
        let got = sign(rpm::compare_segments(a, b));
        part.check(got == expected, || format!("{a} vs {b}: want {expected}, got {got}"));
    }
    println!("version-vectors rpm: {disabled} disabled rows not scored");
    Ok(part)
}

fn rpm_evr(folder: &Path) -> Result<Part> {
    let mut part = Part::new("rpm EVR");
    for line in read(folder, "rpm/derived_evr_compare.tsv")?.lines() {
        if line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [a, b, expected] = fields[..] else { continue };
        let expected: i64 = expected.parse().context("rpm/derived_evr_compare.tsv: bad expected value")?;
        let got = sign(rpm::compare(a, b));
        part.check(got == expected, || format!("{a} vs {b}: want {expected}, got {got}"));
    }
    Ok(part)
}

const PEP440_VECTORS: &str = "pep440-pypa-packaging/derived_pytest_parametrize_vectors.json";

/// The rows of one parametrized test of the pypa vectors.
fn pep440_rows<'a>(data: &'a Value, file: &str, test: &str) -> Vec<&'a Value> {
    data[file]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["test"] == test)
        .flat_map(|t| t["rows"].as_array().into_iter().flatten())
        .collect()
}

fn pep440_tables(folder: &Path) -> Result<Part> {
    let mut part = Part::new("pep440 versions");
    let data = read_json(folder, PEP440_VECTORS)?;
    let file = "tests/test_version.py";
    for row in pep440_rows(&data, file, "test_valid_versions") {
        let version = row["version"].as_str().unwrap_or("");
        let got = Pep440Version::parse(version);
        part.check(got.is_ok(), || format!("valid {version:?}: {got:?}"));
    }
    for row in pep440_rows(&data, file, "test_invalid_versions") {
        let version = row["version"].as_str().unwrap_or("");
        let got = Pep440Version::parse(version);
        part.check(got.is_err(), || format!("invalid {version:?}: parsed as {got:?}"));
    }
    for row in pep440_rows(&data, file, "test_normalized_versions") {
        let version = row["version"].as_str().unwrap_or("");
        let want = row["normalized"].as_str().unwrap_or("");
        let got = Pep440Version::parse(version).map(|v| v.to_string());
        part.check(got.as_deref() == Ok(want), || format!("normalize {version:?}: want {want}, got {got:?}"));
    }
    Ok(part)
}

fn pep440_order(folder: &Path) -> Result<Part> {
    let mut part = Part::new("pep440 ordering");
    let sorted = read_json(folder, "pep440-pypa-packaging/derived_VERSIONS_sorted.json")?;
    let texts: Vec<&str> =
        sorted["VERSIONS"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let parsed: Vec<_> = texts.iter().map(|t| Pep440Version::parse(t)).collect();
    for (i, text) in texts.iter().enumerate() {
        let mut wrong = Vec::new();
        for (j, other) in parsed.iter().enumerate() {
            let want = i.cmp(&j);
            match (&parsed[i], other) {
                (Ok(a), Ok(b)) if a.cmp(b) == want => {}
                _ => wrong.push(texts[j]),
            }
        }
        part.check(wrong.is_empty(), || format!("{text} misordered against {wrong:?}"));
    }
    Ok(part)
}

/// Options of a node-semver fixture row: `true` or `{"loose": true}` mean loose.
fn loose_option(value: Option<&Value>) -> Strictness {
    let loose = match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(o)) => o.get("loose").and_then(Value::as_bool).unwrap_or(false),
        _ => false,
    };
    if loose {
        Strictness::Loose
    } else {
        Strictness::Strict
    }
}

fn semver_tables(folder: &Path) -> Result<Part> {
    let mut part = Part::new("node-semver versions");
    let dir = "node-semver/derived_json";
    let rows = |name: &str| -> Result<Vec<Value>> {
        Ok(read_json(folder, &format!("{dir}/{name}"))?.as_array().cloned().unwrap_or_default())
    };
    let mut unsupported = 0;
    for row in rows("comparisons.json")? {
        let (a, b) = (row[0].as_str().unwrap_or(""), row[1].as_str().unwrap_or(""));
        let mode = loose_option(row.get(2));
        let (pa, pb) = (SemVer::parse_with(a, mode), SemVer::parse_with(b, mode));
        let ok = matches!((&pa, &pb), (Ok(x), Ok(y)) if x.cmp(y) == Ordering::Greater && y.cmp(x) == Ordering::Less);
        part.check(ok, || format!("{a} > {b}: {pa:?} {pb:?}"));
    }
    for row in rows("equality.json")? {
        let (a, b) = (row[0].as_str().unwrap_or(""), row[1].as_str().unwrap_or(""));
        let mode = loose_option(row.get(2));
        let (pa, pb) = (SemVer::parse_with(a, mode), SemVer::parse_with(b, mode));
        let ok = matches!((&pa, &pb), (Ok(x), Ok(y)) if x.cmp(y) == Ordering::Equal);
        part.check(ok, || format!("{a} == {b}: {pa:?} {pb:?}"));
    }
    for row in rows("valid-versions.json")? {
        let version = row[0].as_str().unwrap_or("");
        let parsed = SemVer::parse(version);
        let ok = parsed.as_ref().is_ok_and(|v| {
            let pre: Vec<Value> = v
                .pre
                .iter()
                .map(|id| match id {
                    Identifier::Number(n) => Value::from(*n),
                    Identifier::Word(w) => Value::from(w.as_str()),
                })
                .collect();
            let build: Vec<Value> = v.build.iter().map(|b| Value::from(b.as_str())).collect();
            row[1].as_u64() == Some(v.major)
                && row[2].as_u64() == Some(v.minor)
                && row[3].as_u64() == Some(v.patch)
                && row[4] == Value::Array(pre)
                && row[5] == Value::Array(build)
        });
        part.check(ok, || format!("valid {version:?}: {parsed:?}"));
    }
    for row in rows("invalid-versions.json")? {
        let Some(version) = row[0].as_str() else {
            unsupported += 1;
            continue;
        };
        let parsed = SemVer::parse_with(version, loose_option(row.get(2)));
        part.check(parsed.is_err(), || format!("invalid {version:?}: parsed as {parsed:?}"));
    }
    println!("version-vectors node-semver: {unsupported} JavaScript-only rows not scored");
    Ok(part)
}

/// Options of a node-semver range row: `true` means loose; objects may set both flags.
fn range_options(value: Option<&Value>) -> RangeOptions {
    match value {
        Some(Value::Bool(b)) => RangeOptions { loose: *b, include_prerelease: false },
        Some(Value::Object(o)) => RangeOptions {
            loose: o.get("loose").and_then(Value::as_bool).unwrap_or(false),
            include_prerelease: o.get("includePrerelease").and_then(Value::as_bool).unwrap_or(false),
        },
        _ => RangeOptions::default(),
    }
}

fn semver_ranges(folder: &Path) -> Result<Part> {
    let mut part = Part::new("node-semver ranges");
    let mut unsupported = 0;
    for (file, want) in [("range-include.json", true), ("range-exclude.json", false)] {
        let rows = read_json(folder, &format!("node-semver/derived_json/{file}"))?;
        for row in rows.as_array().into_iter().flatten() {
            let (Some(range), Some(version)) = (row[0].as_str(), row[1].as_str()) else {
                unsupported += 1;
                continue;
            };
            let options = range_options(row.get(2));
            // An unreadable range contains nothing, as `semver.satisfies` answers.
            let got = NpmRange::parse(range, options).is_ok_and(|r| r.satisfies_text(version));
            part.check(got == want, || format!("{range:?} contains {version:?}: want {want} ({options:?})"));
        }
    }
    println!("version-vectors node-semver ranges: {unsupported} JavaScript-only rows not scored");
    Ok(part)
}

fn pep440_specifiers(folder: &Path) -> Result<Part> {
    let mut part = Part::new("pep440 specifiers");
    let data = read_json(folder, PEP440_VECTORS)?;
    let file = "tests/test_specifiers.py";
    for row in pep440_rows(&data, file, "test_specifiers_valid") {
        let spec = row["specifier"].as_str().unwrap_or("");
        let got = Specifier::parse(spec);
        part.check(got.is_ok(), || format!("valid specifier {spec:?}: {got:?}"));
    }
    for row in pep440_rows(&data, file, "test_specifiers_invalid") {
        let spec = row["specifier"].as_str().unwrap_or("");
        let got = Specifier::parse(spec);
        part.check(got.is_err(), || format!("invalid specifier {spec:?}: parsed as {got:?}"));
    }
    // The upstream test builds these specifiers with `prereleases=True`: operators only.
    for row in pep440_rows(&data, file, "test_specifiers") {
        let (version, spec) = (row["version"].as_str().unwrap_or(""), row["spec_str"].as_str().unwrap_or(""));
        let want = row["expected"].as_bool();
        let got = match (Specifier::parse(spec), Pep440Version::parse(version)) {
            (Ok(s), Ok(v)) => Some(s.contains(&v)),
            _ => None,
        };
        part.check(got.is_some() && got == want, || {
            format!("{version} in {spec}: want {want:?}, got {got:?}")
        });
    }
    Ok(part)
}
