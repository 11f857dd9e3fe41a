//! Semantic versions (SemVer 2.0) as npm's `semver`, Go modules and Cargo read them.

use std::cmp::Ordering;

use super::VersionError;

/// Longest version string npm accepts.
const MAX_LENGTH: usize = 256;
/// Largest number npm accepts in a version (JavaScript's `Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One pre-release identifier: numbers sort before words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identifier {
    /// An all-digit identifier.
    Number(u64),
    /// Any other identifier, compared as ASCII text.
    Word(String),
}

/// How strictly to read a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strictness {
    /// SemVer 2.0 plus an optional leading `v` (npm's default).
    #[default]
    Strict,
    /// npm's `loose` mode: leading `=`/`v`/spaces, leading zeros, `-` before a pre-release optional.
    Loose,
    /// Go modules: `v1` and `v1.2` stand for `v1.0.0` and `v1.2.0`.
    ShortForms,
}

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemVer {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release identifiers (empty for a release).
    pub pre: Vec<Identifier>,
    /// Build metadata identifiers (ignored in ordering).
    pub build: Vec<String>,
}

fn is_identifier_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

impl SemVer {
    /// Parses `text` with npm's strict rules.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        Self::parse_with(text, Strictness::Strict)
    }

    /// Parses `text` with the given strictness.
    pub fn parse_with(text: &str, strictness: Strictness) -> Result<Self, VersionError> {
        let invalid = |why: &str| VersionError::new("SemVer", text, why);
        if text.len() > MAX_LENGTH {
            return Err(invalid("longer than 256 characters"));
        }
        let loose = strictness == Strictness::Loose;
        let mut rest = text.trim();
        if loose {
            rest = rest.trim_start_matches(['v', '=', ' ', '\t']);
        } else {
            rest = rest.strip_prefix('v').unwrap_or(rest);
        }
        let (main, after_main) = split_main(rest);
        let mut numbers = [0u64; 3];
        let parts: Vec<&str> = main.split('.').collect();
        let short_ok = strictness == Strictness::ShortForms && (1..=3).contains(&parts.len());
        if parts.len() != 3 && !short_ok {
            return Err(invalid("expected MAJOR.MINOR.PATCH"));
        }
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            *slot = parse_number(part, loose).ok_or_else(|| invalid("invalid version number"))?;
        }
        let (pre_text, build_text) = match after_main.split_once('+') {
            Some((pre, build)) => (pre, Some(build)),
            None => (after_main, None),
        };
        let pre_text = match pre_text.strip_prefix('-') {
            Some(pre) => Some(pre),
            None if pre_text.is_empty() => None,
            None if loose => Some(pre_text),
            None => return Err(invalid("unexpected text after the version numbers")),
        };
        let mut pre = Vec::new();
        if let Some(pre_text) = pre_text {
            for id in pre_text.split('.') {
                if id.is_empty() || !id.bytes().all(is_identifier_char) {
                    return Err(invalid("invalid pre-release identifier"));
                }
                if id.bytes().all(|b| b.is_ascii_digit()) {
                    if !loose && id.len() > 1 && id.starts_with('0') {
                        return Err(invalid("leading zero in a numeric pre-release identifier"));
                    }
                    match id.parse::<u64>() {
                        Ok(n) if n <= MAX_SAFE_INTEGER => pre.push(Identifier::Number(n)),
                        _ => pre.push(Identifier::Word(id.to_string())),
                    }
                } else {
                    pre.push(Identifier::Word(id.to_string()));
                }
            }
        }
        let mut build = Vec::new();
        if let Some(build_text) = build_text {
            for id in build_text.split('.') {
                if id.is_empty() || !id.bytes().all(is_identifier_char) {
                    return Err(invalid("invalid build identifier"));
                }
                build.push(id.to_string());
            }
        }
        let [major, minor, patch] = numbers;
        Ok(Self { major, minor, patch, pre, build })
    }

    /// True when the version has pre-release identifiers.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

/// Splits `1.2.3-pre+build` into `1.2.3` and `-pre+build`.
fn split_main(text: &str) -> (&str, &str) {
    let end = text.bytes().position(|b| !(b.is_ascii_digit() || b == b'.')).unwrap_or(text.len());
    text.split_at(end)
}

fn parse_number(part: &str, loose: bool) -> Option<u64> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !loose && part.len() > 1 && part.starts_with('0') {
        return None;
    }
    part.parse::<u64>().ok().filter(|n| *n <= MAX_SAFE_INTEGER)
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(
            || match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            },
        )
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two strict semantic versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(SemVer::parse(a)?.cmp(&SemVer::parse(b)?))
}

/// Compares two Go module versions (`v` optional, `v1`/`v1.2` short forms allowed).
pub fn compare_go(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let parse = |v| SemVer::parse_with(v, Strictness::ShortForms);
    Ok(parse(a)?.cmp(&parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_pre_releases() {
        let sorted =
            ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0"];
        for pair in sorted.windows(2) {
            assert_eq!(compare(pair[0], pair[1]).unwrap(), Ordering::Less, "{pair:?}");
        }
        assert_eq!(compare("1.0.0+a", "1.0.0+b").unwrap(), Ordering::Equal);
    }

    #[test]
    fn strict_and_loose() {
        assert!(SemVer::parse("01.2.3").is_err());
        assert!(SemVer::parse("1.2").is_err());
        assert_eq!(SemVer::parse_with("=v01.2.3beta", Strictness::Loose).unwrap().major, 1);
        assert_eq!(compare_go("v1.2", "v1.2.0").unwrap(), Ordering::Equal);
        assert_eq!(compare_go("v0.0.0-20210101000000-abcdef123456", "v0.0.1").unwrap(), Ordering::Less);
    }
}
