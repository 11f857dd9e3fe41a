//! RubyGems versions, ordered as `Gem::Version#<=>`: numbers and letter runs, a letter run
//! marks a pre-release, trailing zeros ignored.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Number(u128),
    Word(String),
}

/// Splits into number and letter runs (`-` stands for `.pre.`), then drops trailing zeros from
/// the release part and from the pre-release part, as `canonical_segments` does.
fn canonical_segments(version: &str) -> Vec<Segment> {
    let version = version.trim().replace('-', ".pre.");
    let mut segments = Vec::new();
    let bytes = version.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            segments.push(Segment::Number(version[start..i].parse().unwrap_or(u128::MAX)));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            segments.push(Segment::Word(version[start..i].to_string()));
        } else {
            i += 1;
        }
    }
    let split = segments.iter().position(|s| matches!(s, Segment::Word(_))).unwrap_or(segments.len());
    let pre = segments.split_off(split);
    let mut release = segments;
    let trim = |part: &mut Vec<Segment>| {
        while part.last() == Some(&Segment::Number(0)) {
            part.pop();
        }
    };
    trim(&mut release);
    let mut pre = pre;
    trim(&mut pre);
    release.extend(pre);
    release
}

/// Compares two RubyGems versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (canonical_segments(a), canonical_segments(b));
    let zero = Segment::Number(0);
    for i in 0..a.len().max(b.len()) {
        let (l, r) = (a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero));
        let order = match (l, r) {
            (Segment::Number(x), Segment::Number(y)) => x.cmp(y),
            (Segment::Word(x), Segment::Word(y)) => x.cmp(y),
            (Segment::Word(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Word(_)) => Ordering::Greater,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_gems() {
        let sorted = ["1.0.a", "1.0.b1", "1.0.rc", "1.0", "1.0.1", "1.1", "1.10"];
        for pair in sorted.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(compare("1.0.0", "1"), Ordering::Equal);
        assert_eq!(compare("1.0-1", "1.0.pre.1"), Ordering::Equal);
    }
}
