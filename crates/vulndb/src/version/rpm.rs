//! RPM versions: `rpmvercmp` on single strings and `[epoch:]version[-release]` (EVR) ordering.

use std::cmp::Ordering;

/// `rpmvercmp`: compares alternating alphabetic and numeric segments, ignoring separators;
/// `~` sorts before anything (even the end), `^` after the end but before anything else.
pub fn compare_segments(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (a.as_bytes(), b.as_bytes());
    let is_separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        while one.first().is_some_and(is_separator) {
            one = &one[1..];
        }
        while two.first().is_some_and(is_separator) {
            two = &two[1..];
        }
        if one.is_empty() && two.is_empty() {
            return Ordering::Equal;
        }
        let (c1, c2) = (one.first().copied(), two.first().copied());
        if c1 == Some(b'~') || c2 == Some(b'~') {
            if c1 != Some(b'~') {
                return Ordering::Greater;
            }
            if c2 != Some(b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if c1 == Some(b'^') || c2 == Some(b'^') {
            if c1.is_none() {
                return Ordering::Less;
            }
            if c2.is_none() {
                return Ordering::Greater;
            }
            if c1 != Some(b'^') {
                return Ordering::Greater;
            }
            if c2 != Some(b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.is_empty() || two.is_empty() {
            break;
        }
        let numeric = one[0].is_ascii_digit();
        let in_segment = |c: &u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let len1 = one.iter().position(|c| !in_segment(c)).unwrap_or(one.len());
        let len2 = two.iter().position(|c| !in_segment(c)).unwrap_or(two.len());
        let (seg1, seg2) = (&one[..len1], &two[..len2]);
        if seg2.is_empty() {
            // Different segment kinds: numeric is newer than alphabetic.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let order = if numeric {
            let trim = |s: &[u8]| -> usize { s.iter().position(|c| *c != b'0').unwrap_or(s.len()) };
            let (n1, n2) = (&seg1[trim(seg1)..], &seg2[trim(seg2)..]);
            n1.len().cmp(&n2.len()).then_with(|| n1.cmp(n2))
        } else {
            seg1.cmp(seg2)
        };
        if order != Ordering::Equal {
            return order;
        }
        one = &one[len1..];
        two = &two[len2..];
    }
    // Segments equal so far: whichever has something left is newer.
    if one.is_empty() && two.is_empty() {
        Ordering::Equal
    } else if one.is_empty() {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// An RPM `[epoch:]version[-release]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evr<'a> {
    /// Epoch (0 when absent).
    pub epoch: u64,
    /// Version.
    pub version: &'a str,
    /// Release, when present.
    pub release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Splits an EVR string; a non-numeric epoch counts as part of the version.
    pub fn parse(text: &'a str) -> Self {
        let text = text.trim();
        let (epoch, rest) = match text.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
                (e.parse().unwrap_or(u64::MAX), rest)
            }
            _ => (0, text),
        };
        match rest.rsplit_once('-') {
            Some((version, release)) => Self { epoch, version, release: Some(release) },
            None => Self { epoch, version: rest, release: None },
        }
    }
}

/// Compares two EVR strings: epoch, then version, then release when both have one.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Evr::parse(a), Evr::parse(b));
    a.epoch.cmp(&b.epoch).then_with(|| compare_segments(a.version, b.version)).then_with(|| {
        match (a.release, b.release) {
            (Some(ra), Some(rb)) => compare_segments(ra, rb),
            _ => Ordering::Equal,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        assert_eq!(compare_segments("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare_segments("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(compare_segments("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(compare_segments("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(compare_segments("1.010", "1.9"), Ordering::Greater);
        assert_eq!(compare_segments("1.a", "1.1"), Ordering::Less);
        assert_eq!(compare_segments("1_0", "1.0"), Ordering::Equal);
    }

    #[test]
    fn evr() {
        assert_eq!(compare("1:1.0-1", "2.0-1"), Ordering::Greater);
        assert_eq!(compare("1.0-1.el8", "1.0-2.el8"), Ordering::Less);
        assert_eq!(compare("1.0", "1.0-5"), Ordering::Equal);
    }
}
