//! Matching an inventory of packages against the store.
//!
//! Callers describe each package with a [`PackageRef`] (the image scanner and the SBOM reader
//! both do), and [`match_packages`] returns one [`VulnMatch`] per (package, vulnerability).
//! What is looked up depends on the ecosystem: distributions whose advisories name source
//! packages (Debian, Ubuntu, Alpine, AlmaLinux, Rocky, SUSE, ...) are matched through the
//! binary package's source package and source version, as the distributions' own trackers
//! do; Red Hat names either, so both are tried; everything else by the package's own name.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::store::{Store, StoreError, Vuln};

/// A package to match, borrowed from the caller's inventory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackageRef<'a> {
    /// Name as its ecosystem writes it (the binary package for distributions).
    pub name: &'a str,
    /// Installed version (with the epoch, `1:2.3-4`, for dpkg and RPM when it has one).
    pub version: &'a str,
    /// OSV ecosystem, with the distribution's release when known (`Debian:12`,
    /// `Alpine:v3.20`, `Ubuntu:22.04:LTS`); see [`os_ecosystem`].
    pub ecosystem: &'a str,
    /// Source package (dpkg `Source:`, apk origin, the source RPM's name), when known.
    pub source_name: Option<&'a str>,
    /// Source package version, when it differs from `version`.
    pub source_version: Option<&'a str>,
    /// The file the package was read from (inside the image or SBOM).
    pub path: &'a str,
    /// Image layer (digest) of that file.
    pub layer: Option<&'a str>,
}

/// One vulnerability affecting one package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnMatch {
    /// Position of the package in the sequence given to [`match_packages`].
    pub package: usize,
    /// The ecosystem that was looked up (normalised: `Alpine:v3.20` for `alpine:3.20.3`).
    pub ecosystem: String,
    /// The name that was looked up (the source package for distributions that name those).
    pub matched_name: String,
    /// The version that was compared.
    pub matched_version: String,
    /// The vulnerability. When several records describe the same vulnerability (a DSA and
    /// the DEBIAN-CVE it covers, a GHSA and its CVE), they are merged into one: the other
    /// records' ids are among its aliases.
    pub vuln: Vuln,
}

/// How the advisories of an ecosystem name packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// By source package (Debian, Ubuntu, Alpine, most RPM distributions).
    Source,
    /// By binary or source package (Red Hat): both are looked up.
    Either,
    /// By the package's own name (language ecosystems, Wolfi, Chainguard, Photon OS).
    Own,
}

fn naming(ecosystem: &str) -> Naming {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim().to_ascii_lowercase();
    match base.as_str() {
        "debian"
        | "ubuntu"
        | "alpine"
        | "almalinux"
        | "rocky linux"
        | "opensuse"
        | "suse"
        | "openeuler"
        | "mageia"
        | "azure linux"
        | "alpaquita"
        | "bellsoft hardened containers"
        | "echo" => Naming::Source,
        "red hat" => Naming::Either,
        _ => Naming::Own,
    }
}

/// The OSV ecosystem of a distribution's packages, from `/etc/os-release`'s `ID`,
/// `VERSION_ID` and `PRETTY_NAME`, spelled as OSV spells it (`Debian:12`, `Alpine:v3.20`,
/// `Ubuntu:22.04:LTS`, `Rocky Linux:9`, `openSUSE:Leap 15.5`); `None` for distributions
/// OSV has no ecosystem for.
pub fn os_ecosystem(id: &str, version_id: Option<&str>, pretty_name: Option<&str>) -> Option<String> {
    let version = version_id.unwrap_or("").trim();
    let major = version.split('.').next().unwrap_or("");
    let with_release = |name: &str, release: &str| {
        if release.is_empty() {
            name.to_string()
        } else {
            format!("{name}:{release}")
        }
    };
    let pretty = pretty_name.unwrap_or("").trim();
    Some(match id.trim().to_ascii_lowercase().as_str() {
        "debian" => with_release("Debian", major),
        "ubuntu" => {
            // OSV marks long-term releases: even years, April (`22.04`).
            let lts = version
                .split_once('.')
                .and_then(|(y, m)| Some((y.parse::<u32>().ok()?, m)))
                .is_some_and(|(year, month)| year % 2 == 0 && month == "04");
            let release = if lts { format!("{version}:LTS") } else { version.to_string() };
            with_release("Ubuntu", &release)
        }
        "alpine" => {
            let branch: Vec<&str> = version.split('.').take(2).collect();
            if version.is_empty() {
                "Alpine".to_string()
            } else {
                format!("Alpine:v{}", branch.join("."))
            }
        }
        "wolfi" => "Wolfi".to_string(),
        "chainguard" => "Chainguard".to_string(),
        "almalinux" => with_release("AlmaLinux", major),
        "rocky" => with_release("Rocky Linux", major),
        "mageia" => with_release("Mageia", major),
        "openeuler" => with_release("openEuler", version),
        "photon" => with_release("Photon OS", version),
        "azurelinux" | "mariner" => with_release("Azure Linux", version),
        // SUSE's records carry the marketing name, as PRETTY_NAME writes it.
        "opensuse-leap" | "opensuse-tumbleweed" => {
            with_release("openSUSE", pretty.trim_start_matches("openSUSE "))
        }
        "sles" | "sled" | "sle-micro" => with_release("SUSE", pretty.trim_start_matches("SUSE ")),
        _ => return None,
    })
}

/// Normalises the release part of a distribution ecosystem the way OSV writes it
/// (`alpine:3.20.3` → `Alpine:v3.20`, `debian:12.5` → `Debian:12`); other ecosystems are
/// returned as given (the store compares them case-insensitively).
pub fn normalize_ecosystem(ecosystem: &str) -> String {
    let ecosystem = ecosystem.trim();
    let Some((base, release)) = ecosystem.split_once(':') else { return ecosystem.to_string() };
    match base.to_ascii_lowercase().as_str() {
        "debian" => format!("Debian:{}", release.split('.').next().unwrap_or(release)),
        "alpine" => {
            let release = release.trim_start_matches('v');
            if release.eq_ignore_ascii_case("edge") {
                return "Alpine:edge".to_string();
            }
            let branch: Vec<&str> = release.split('.').take(2).collect();
            format!("Alpine:v{}", branch.join("."))
        }
        "ubuntu" => format!("Ubuntu:{release}"),
        _ => ecosystem.to_string(),
    }
}

/// One lookup: (ecosystem, name, version).
type Query = (String, String, String);

/// The lookups for one package, in order of preference.
fn queries(package: &PackageRef<'_>) -> Vec<Query> {
    let ecosystem = normalize_ecosystem(package.ecosystem);
    let own = (ecosystem.clone(), package.name.to_string(), package.version.to_string());
    let source = || {
        let name = package.source_name.filter(|s| !s.is_empty()).unwrap_or(package.name);
        let version = package.source_version.filter(|s| !s.is_empty()).unwrap_or(package.version);
        (ecosystem.clone(), name.to_string(), version.to_string())
    };
    match naming(&ecosystem) {
        Naming::Own => vec![own],
        Naming::Source => vec![source()],
        Naming::Either => {
            let source = source();
            if source == own {
                vec![own]
            } else {
                vec![own, source]
            }
        }
    }
}

/// Matches every package against the store. Packages without a version (an unpinned
/// requirement) cannot be matched and are skipped. Lookups are cached, so the binary
/// packages of one source package cost one lookup.
pub fn match_packages<'a>(
    store: &Store,
    packages: impl IntoIterator<Item = PackageRef<'a>>,
) -> Result<Vec<VulnMatch>, StoreError> {
    let mut cache: HashMap<Query, Vec<Vuln>> = HashMap::new();
    let mut out = Vec::new();
    for (index, package) in packages.into_iter().enumerate() {
        if package.version.trim().is_empty() || package.name.trim().is_empty() {
            continue;
        }
        let mut found: Vec<(Query, Vuln)> = Vec::new();
        for query in queries(&package) {
            if !cache.contains_key(&query) {
                let vulns = store.matches(&query.0, &query.1, &query.2)?;
                cache.insert(query.clone(), vulns);
            }
            for vuln in &cache[&query] {
                if !found.iter().any(|(_, v)| v.id == vuln.id) {
                    found.push((query.clone(), vuln.clone()));
                }
            }
        }
        for (query, vuln) in merge_same_vulnerability(found) {
            out.push(VulnMatch {
                package: index,
                ecosystem: query.0,
                matched_name: query.1,
                matched_version: query.2,
                vuln,
            });
        }
    }
    Ok(out)
}

/// Merges records of one package that describe the same vulnerability (their ids and
/// aliases overlap). The record kept names a fix when one does, then has the higher
/// severity, then the smaller id; the others' ids join its aliases.
fn merge_same_vulnerability(found: Vec<(Query, Vuln)>) -> Vec<(Query, Vuln)> {
    let names = |v: &Vuln| -> BTreeSet<String> {
        std::iter::once(&v.id).chain(&v.aliases).chain(&v.upstream).cloned().collect()
    };
    // Union-find over the records by shared names.
    let mut parent: Vec<usize> = (0..found.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (i, (_, vuln)) in found.iter().enumerate() {
        for name in names(vuln) {
            if let Some(&j) = owner.get(&name) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            } else {
                owner.insert(name, i);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..found.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let rank = |v: &Vuln| {
        let severity = v.severity.as_ref().map(|s| s.level);
        (v.fixed_version.is_some(), severity, std::cmp::Reverse(v.id.clone()))
    };
    let mut out = Vec::new();
    for members in groups.into_values() {
        let best = *members.iter().max_by_key(|&&i| rank(&found[i].1)).unwrap_or(&members[0]);
        let (query, mut vuln) = found[best].clone();
        let mut aliases: BTreeSet<String> = BTreeSet::new();
        for &i in &members {
            aliases.extend(names(&found[i].1));
        }
        aliases.remove(&vuln.id);
        for &i in &members {
            let other = &found[i].1;
            if vuln.severity.is_none() {
                vuln.severity.clone_from(&other.severity);
            }
            if vuln.summary.is_none() {
                vuln.summary.clone_from(&other.summary);
            }
        }
        // Aliases first as the record lists them, then the merged names in order.
        let mut ordered: Vec<String> =
            vuln.aliases.iter().filter(|a| aliases.contains(*a)).cloned().collect();
        for alias in aliases {
            if !ordered.contains(&alias) {
                ordered.push(alias);
            }
        }
        vuln.aliases = ordered;
        vuln.upstream.clear();
        out.push((query, vuln));
    }
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_releases_map_to_osv_ecosystems() {
        assert_eq!(os_ecosystem("debian", Some("12"), None).as_deref(), Some("Debian:12"));
        assert_eq!(os_ecosystem("debian", None, None).as_deref(), Some("Debian"));
        assert_eq!(os_ecosystem("alpine", Some("3.20.3"), None).as_deref(), Some("Alpine:v3.20"));
        assert_eq!(os_ecosystem("ubuntu", Some("22.04"), None).as_deref(), Some("Ubuntu:22.04:LTS"));
        assert_eq!(os_ecosystem("ubuntu", Some("23.10"), None).as_deref(), Some("Ubuntu:23.10"));
        assert_eq!(os_ecosystem("rocky", Some("9.3"), None).as_deref(), Some("Rocky Linux:9"));
        assert_eq!(os_ecosystem("almalinux", Some("8.9"), None).as_deref(), Some("AlmaLinux:8"));
        assert_eq!(
            os_ecosystem("opensuse-leap", Some("15.5"), Some("openSUSE Leap 15.5")).as_deref(),
            Some("openSUSE:Leap 15.5")
        );
        assert_eq!(os_ecosystem("plan9", Some("4"), None), None);
    }

    #[test]
    fn releases_normalise() {
        assert_eq!(normalize_ecosystem("alpine:3.20.3"), "Alpine:v3.20");
        assert_eq!(normalize_ecosystem("Alpine:v3.20"), "Alpine:v3.20");
        assert_eq!(normalize_ecosystem("debian:12.5"), "Debian:12");
        assert_eq!(normalize_ecosystem("npm"), "npm");
        assert_eq!(
            normalize_ecosystem("Red Hat:enterprise_linux:9::appstream"),
            "Red Hat:enterprise_linux:9::appstream"
        );
    }

    #[test]
    fn distributions_look_up_source_packages() {
        let libssl = PackageRef {
            name: "libssl3",
            version: "3.0.11-1~deb12u2+b1",
            ecosystem: "Debian:12",
            source_name: Some("openssl"),
            source_version: Some("3.0.11-1~deb12u2"),
            ..PackageRef::default()
        };
        assert_eq!(queries(&libssl), vec![("Debian:12".into(), "openssl".into(), "3.0.11-1~deb12u2".into())]);
        let npm =
            PackageRef { name: "a", version: "1.0.0", ecosystem: "npm", source_name: Some("x"), ..libssl };
        assert_eq!(queries(&npm), vec![("npm".into(), "a".into(), "1.0.0".into())]);
        let redhat = PackageRef {
            name: "openssl-libs",
            version: "1:3.0.7-27.el9",
            ecosystem: "Red Hat:enterprise_linux:9::baseos",
            source_name: Some("openssl"),
            source_version: None,
            ..PackageRef::default()
        };
        assert_eq!(queries(&redhat).len(), 2);
    }
}
