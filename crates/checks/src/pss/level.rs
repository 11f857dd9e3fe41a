//! Pod Security Standards levels and policy versions, parsed as the admission labels are.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A Pod Security Standards level. Each level allows less than the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No restriction at all.
    Privileged,
    /// Prevents known privilege escalations while accepting common pod configurations.
    Baseline,
    /// Current pod-hardening practice; includes every baseline check.
    Restricted,
}

impl Level {
    /// Every level, least restrictive first.
    pub const ALL: [Level; 3] = [Level::Privileged, Level::Baseline, Level::Restricted];

    /// The lower-case name used in namespace labels (`baseline`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given is not a Pod Security Standards level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLevelError(pub String);

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown Pod Security level {:?}: expected privileged, baseline or restricted", self.0)
    }
}

impl std::error::Error for ParseLevelError {}

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Case-insensitive: `baseline`, `Restricted`, ...
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseLevelError(s.to_string()))
    }
}

/// A policy version: the Kubernetes minor release whose rules apply (`v1.N`), or the newest
/// rules this build knows.
///
/// Versions newer than [`NEWEST_MINOR`] behave as [`NEWEST_MINOR`] does, as the admission
/// controller treats a version newer than its own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `v1.N`.
    Minor(u32),
    /// `latest`.
    Latest,
}

/// The newest Kubernetes minor version whose checks differ from the version before it.
/// `latest`, and any version after this one, evaluate as this one.
pub const NEWEST_MINOR: u32 = 37;

impl Version {
    /// The minor version whose rules are evaluated: `latest` and versions past
    /// [`NEWEST_MINOR`] become [`NEWEST_MINOR`].
    pub fn effective_minor(self) -> u32 {
        match self {
            Version::Minor(minor) => minor.min(NEWEST_MINOR),
            Version::Latest => NEWEST_MINOR,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Minor(minor) => write!(f, "v1.{minor}"),
            Version::Latest => f.write_str("latest"),
        }
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The text given is not `latest` or `v1.N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseVersionError(pub String);

impl fmt::Display for ParseVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid Pod Security version {:?}: expected \"latest\" or \"v1.N\" (such as v1.30)",
            self.0
        )
    }
}

impl std::error::Error for ParseVersionError {}

impl FromStr for Version {
    type Err = ParseVersionError;

    /// `latest` (any case), `v1.N` or `1.N`, where N has no leading zero.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Version::Latest);
        }
        let error = || ParseVersionError(s.to_string());
        let minor = text.strip_prefix('v').unwrap_or(text).strip_prefix("1.").ok_or_else(error)?;
        let well_formed = !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
            && (minor == "0" || !minor.starts_with('0'));
        if !well_formed {
            return Err(error());
        }
        minor.parse().map(Version::Minor).map_err(|_| error())
    }
}
