//! Debian package versions (`[epoch:]upstream[-revision]`), ordered as `dpkg --compare-versions`.

use std::cmp::Ordering;

use super::VersionError;

/// A parsed Debian version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebVersion {
    /// Epoch before the first `:` (0 when absent).
    pub epoch: u64,
    /// Upstream version: between the epoch and the last `-`.
    pub upstream: String,
    /// Debian revision after the last `-` (empty when absent).
    pub revision: String,
}

impl DebVersion {
    /// Parses a version with the validity rules of dpkg: numeric epoch, upstream starting with a
    /// digit, and only alphanumerics and `.+-~:` (`-` only with a revision, `:` only with an epoch).
    /// `_` is accepted as well, as real packages (and other scanners) carry it.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let invalid = |why: &str| VersionError::new("Debian", text, why);
        let text_trimmed = text.trim();
        if text_trimmed.is_empty() {
            return Err(invalid("empty version"));
        }
        if text_trimmed.contains(char::is_whitespace) {
            return Err(invalid("embedded whitespace"));
        }
        let (epoch, rest) = match text_trimmed.split_once(':') {
            Some((epoch, rest)) => {
                if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("epoch is not a number"));
                }
                let epoch = epoch.parse::<u64>().map_err(|_| invalid("epoch is too large"))?;
                (epoch, rest)
            }
            None => (0, text_trimmed),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => {
                if revision.is_empty() {
                    return Err(invalid("empty revision"));
                }
                (upstream, revision)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(invalid("empty upstream version"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(invalid("upstream version does not start with a digit"));
        }
        let upstream_ok = |b: u8| b.is_ascii_alphanumeric() || b".+-~:_".contains(&b);
        if !upstream.bytes().all(upstream_ok) {
            return Err(invalid("invalid character in upstream version"));
        }
        let revision_ok = |b: u8| b.is_ascii_alphanumeric() || b"+.~_".contains(&b);
        if !revision.bytes().all(revision_ok) {
            return Err(invalid("invalid character in revision"));
        }
        Ok(Self { epoch, upstream: upstream.to_string(), revision: revision.to_string() })
    }
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_part(&self.upstream, &other.upstream))
            .then_with(|| compare_part(&self.revision, &other.revision))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two Debian version strings.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(DebVersion::parse(a)?.cmp(&DebVersion::parse(b)?))
}

/// Weight of one character in the non-digit runs: `~` sorts before the end of the string,
/// letters before everything else.
fn char_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

/// The dpkg `verrevcmp` algorithm: alternating non-digit runs (compared by [`char_order`])
/// and digit runs (compared numerically).
fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ca = char_order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let cb = char_order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ca != cb {
                return ca.cmp(&cb);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_tilde_before_end_and_letters_before_symbols() {
        assert_eq!(compare("1.0~rc1", "1.0").unwrap(), Ordering::Less);
        assert_eq!(compare("1.0a", "1.0+").unwrap(), Ordering::Less);
        assert_eq!(compare("1:0.1", "2.0").unwrap(), Ordering::Greater);
        assert_eq!(compare("1.002", "1.2").unwrap(), Ordering::Equal);
        assert_eq!(compare("2.30-1", "2.4-1").unwrap(), Ordering::Greater);
    }

    #[test]
    fn splits_epoch_upstream_revision() {
        let v = DebVersion::parse("2:1.2-3-4ubuntu1").unwrap();
        assert_eq!((v.epoch, v.upstream.as_str(), v.revision.as_str()), (2, "1.2-3", "4ubuntu1"));
    }

    #[test]
    fn rejects_invalid_versions() {
        for bad in ["", "a1.0", "1.0-", "x:1.0", "1.0@1", "2:-1"] {
            assert!(DebVersion::parse(bad).is_err(), "{bad} should be invalid");
        }
    }
}
