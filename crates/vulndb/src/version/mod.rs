//! Version comparison per package ecosystem.
//!
//! Each ecosystem has its own ordering (dpkg, apk, RPM, PEP 440, SemVer, Maven, RubyGems);
//! [`Ecosystem`] picks the right one from an OSV ecosystem name such as `Debian:12`.

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod npm_range;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

use std::cmp::Ordering;

/// A version string that its ecosystem's rules reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {ecosystem} version {version:?}: {reason}")]
pub struct VersionError {
    /// Ecosystem whose rules were applied.
    pub ecosystem: &'static str,
    /// The rejected text.
    pub version: String,
    /// What is wrong with it.
    pub reason: String,
}

impl VersionError {
    pub(crate) fn new(ecosystem: &'static str, version: &str, reason: &str) -> Self {
        Self { ecosystem, version: version.to_string(), reason: reason.to_string() }
    }
}

/// The version ordering of a package ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// Debian and Ubuntu packages (dpkg).
    Debian,
    /// Alpine, Wolfi and Chainguard packages (apk).
    Alpine,
    /// RPM-based distributions (Red Hat, AlmaLinux, Rocky, SUSE, ...).
    Rpm,
    /// Python packages (PEP 440).
    PyPI,
    /// npm packages (SemVer 2.0).
    Npm,
    /// Go modules (SemVer with `v`, short forms).
    Go,
    /// Maven artifacts.
    Maven,
    /// Ruby gems.
    RubyGems,
    /// Rust crates (SemVer 2.0).
    Cargo,
    /// Plain SemVer 2.0 (OSV `SEMVER` ranges, NuGet, Hex, Pub, ...).
    SemVer,
    /// Anything else: digit runs compared as numbers, the rest as text.
    Generic,
}

impl Ecosystem {
    /// Picks the ordering for an OSV ecosystem name; the release suffix (`Debian:12`,
    /// `Alpine:v3.20`) is ignored. Unknown names get [`Ecosystem::Generic`].
    pub fn from_osv(name: &str) -> Self {
        let base = name.split(':').next().unwrap_or(name).trim();
        match base.to_ascii_lowercase().as_str() {
            "debian" | "ubuntu" => Self::Debian,
            "alpine" | "wolfi" | "chainguard" | "alpaquita" | "bellsoft hardened containers" | "minimos" => {
                Self::Alpine
            }
            "red hat" | "almalinux" | "rocky linux" | "opensuse" | "suse" | "mageia" | "openeuler"
            | "azure linux" | "photon os" => Self::Rpm,
            "pypi" => Self::PyPI,
            "npm" => Self::Npm,
            "go" => Self::Go,
            "maven" => Self::Maven,
            "rubygems" => Self::RubyGems,
            "crates.io" => Self::Cargo,
            "nuget" | "hex" | "pub" | "swifturl" | "semver" => Self::SemVer,
            _ => Self::Generic,
        }
    }

    /// Compares two versions of this ecosystem. Orderings that accept any text (apk, RPM, Maven,
    /// RubyGems, generic) never fail; the others fail on versions their rules reject.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Self::Debian => dpkg::compare(a, b),
            Self::Alpine => Ok(apk::compare(a, b)),
            Self::Rpm => Ok(rpm::compare(a, b)),
            Self::PyPI => pep440::compare(a, b),
            Self::Npm | Self::Cargo | Self::SemVer => semver::compare(a, b),
            Self::Go => semver::compare_go(a, b),
            Self::Maven => Ok(maven::compare(a, b)),
            Self::RubyGems => Ok(rubygems::compare(a, b)),
            Self::Generic => Ok(compare_generic(a, b)),
        }
    }
}

/// Fallback ordering: digit runs compare as numbers, other runs as text, separators ignored.
pub fn compare_generic(a: &str, b: &str) -> Ordering {
    fn runs(text: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            if bytes[i].is_ascii_digit() {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                out.push((true, text[start..i].trim_start_matches('0')));
            } else if bytes[i].is_ascii_alphabetic() {
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                out.push((false, &text[start..i]));
            } else {
                i += 1;
            }
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let order = match (x, y) {
            ((true, m), (true, n)) => m.len().cmp(&n.len()).then_with(|| m.cmp(n)),
            ((true, _), (false, _)) => Ordering::Greater,
            ((false, _), (true, _)) => Ordering::Less,
            ((false, m), (false, n)) => m.cmp(n),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    ra.len().cmp(&rb.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_ordering_from_osv_names() {
        assert_eq!(Ecosystem::from_osv("Debian:12"), Ecosystem::Debian);
        assert_eq!(Ecosystem::from_osv("Alpine:v3.20"), Ecosystem::Alpine);
        assert_eq!(Ecosystem::from_osv("Rocky Linux:9"), Ecosystem::Rpm);
        assert_eq!(Ecosystem::from_osv("crates.io"), Ecosystem::Cargo);
        assert_eq!(Ecosystem::from_osv("Packagist"), Ecosystem::Generic);
    }

    #[test]
    fn generic_orders_numbers_numerically() {
        assert_eq!(compare_generic("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_generic("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare_generic("v1.2", "v1.02"), Ordering::Equal);
    }

    #[test]
    fn dispatches_and_reports_errors() {
        let err = Ecosystem::PyPI.compare("1.0", "not a version").unwrap_err();
        assert!(err.to_string().contains("not a version"));
        assert_eq!(Ecosystem::Go.compare("1.2.3", "v1.10.0").unwrap(), Ordering::Less);
    }
}
