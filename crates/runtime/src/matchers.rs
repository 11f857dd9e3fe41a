//! String matching primitives of the condition language: `glob` (fnmatch without flags),
//! `pmatch` (path-prefix match with per-component globs), ASCII case-insensitive search, and
//! value sets for `in`/`intersects`.

use std::collections::HashSet;

/// fnmatch(3) without flags (or with `FNM_CASEFOLD`): `*` and `?` also match `/` and leading
/// dots, `[...]` bracket expressions with `!`/`^`, ranges and `[:class:]`, and `\` quoting.
pub fn glob_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    // Iterative matching with backtracking to the last `*`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match bracket(&p, pi, t[ti], case_insensitive) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                // An unterminated bracket is an ordinary character.
                None => eq('[', t[ti]).then_some(1),
            },
            Some('\\') if pi + 1 < p.len() => eq(p[pi + 1], t[ti]).then_some(2),
            Some(&c) => eq(c, t[ti]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the bracket expression at `p[start]` (`[`); returns whether it matched
/// and the length of the expression, or `None` when the bracket is not terminated.
fn bracket(p: &[char], start: usize, c: char, case_insensitive: bool) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let fold = |x: char| if case_insensitive { x.to_lowercase().next().unwrap_or(x) } else { x };
    let target = fold(c);
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            break;
        }
        first = false;
        if ch == '[' && p.get(i + 1) == Some(&':') {
            let rest: String = p[i + 2..].iter().collect();
            if let Some(end) = rest.find(":]") {
                let class = &rest[..end];
                matched |= class_matches(class, c);
                i += 2 + rest[..end].chars().count() + 2;
                continue;
            }
        }
        let (lo, next) = if ch == '\\' && i + 1 < p.len() { (p[i + 1], i + 2) } else { (ch, i + 1) };
        if p.get(next) == Some(&'-') && p.get(next + 1).is_some_and(|&h| h != ']') {
            let (hi, after) = if p[next + 1] == '\\' && next + 2 < p.len() {
                (p[next + 2], next + 3)
            } else {
                (p[next + 1], next + 2)
            };
            matched |= (fold(lo)..=fold(hi)).contains(&target);
            i = after;
        } else {
            matched |= fold(lo) == target;
            i = next;
        }
    }
    Some((matched != negate, i + 1 - start))
}

fn class_matches(class: &str, c: char) -> bool {
    match class {
        "alpha" => c.is_alphabetic(),
        "digit" => c.is_ascii_digit(),
        "alnum" => c.is_alphanumeric(),
        "upper" => c.is_uppercase(),
        "lower" => c.is_lowercase(),
        "space" => c.is_whitespace(),
        "blank" => c == ' ' || c == '\t',
        "punct" => c.is_ascii_punctuation(),
        "xdigit" => c.is_ascii_hexdigit(),
        "cntrl" => c.is_control(),
        "print" => !c.is_control(),
        "graph" => !c.is_control() && c != ' ',
        _ => false,
    }
}

/// `strcasestr`: ASCII case-insensitive substring search.
pub fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Path components: split at `/`, empty components dropped.
fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty()).collect()
}

/// The `pmatch` operator's set of path prefixes.
#[derive(Debug, Clone)]
pub struct PathPrefixes {
    prefixes: Vec<Vec<String>>,
}

impl PathPrefixes {
    /// Builds the set from the right-hand side values.
    pub fn new(paths: &[String]) -> PathPrefixes {
        PathPrefixes {
            prefixes: paths.iter().map(|p| components(p).into_iter().map(str::to_string).collect()).collect(),
        }
    }

    /// Each prefix as a plain path up to its first glob component (`/var/lib/*/x` gives
    /// `/var/lib/`): every path it matches starts with that text, once normalised.
    pub fn literal_prefixes(&self) -> impl Iterator<Item = String> + '_ {
        self.prefixes.iter().map(|prefix| {
            let mut text = String::from("/");
            for part in prefix {
                if part.contains(['*', '?', '[']) {
                    if text.len() > 1 {
                        text.push('/');
                    }
                    return text;
                }
                if text.len() > 1 {
                    text.push('/');
                }
                text.push_str(part);
            }
            text
        })
    }

    /// True when some prefix matches the leading components of `path`, component by
    /// component (a component with `*`, `?` or `[` is a glob).
    pub fn matches(&self, path: &str) -> bool {
        let parts = components(path);
        self.prefixes.iter().any(|prefix| {
            prefix.len() <= parts.len()
                && prefix.iter().zip(&parts).all(|(want, have)| {
                    if want.contains(['*', '?', '[']) {
                        glob_match(want, have, false)
                    } else {
                        want == have
                    }
                })
        })
    }
}

/// The right-hand side set of `in` and `intersects`.
#[derive(Debug, Clone)]
pub enum ValueSet {
    /// Few values: a linear scan is fastest.
    Small(Vec<String>),
    /// Many values.
    Large(HashSet<String>),
}

impl ValueSet {
    /// Builds a set from the values.
    pub fn new(values: Vec<String>) -> ValueSet {
        if values.len() <= 8 {
            let mut values = values;
            values.dedup();
            ValueSet::Small(values)
        } else {
            ValueSet::Large(values.into_iter().collect())
        }
    }

    /// The values, in no particular order.
    pub fn values(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            ValueSet::Small(values) => Box::new(values.iter().map(String::as_str)),
            ValueSet::Large(set) => Box::new(set.iter().map(String::as_str)),
        }
    }

    /// Membership.
    pub fn contains(&self, value: &str) -> bool {
        match self {
            ValueSet::Small(values) => values.iter().any(|v| v == value),
            ValueSet::Large(set) => set.contains(value),
        }
    }
}

/// Decodes a hex string (`bcontains`/`bstartswith` operands); whitespace is not allowed.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() & 1 == 1 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_like_fnmatch() {
        assert!(glob_match("*", "", false));
        assert!(glob_match("/home/*/.ssh/*", "/home/u/.ssh/id_rsa", false));
        assert!(glob_match("*../*../*", "a/../b/../c", false));
        assert!(!glob_match("*../*../*", "a/../b", false));
        assert!(glob_match("a?c", "abc", false));
        assert!(!glob_match("a?c", "ac", false));
        assert!(glob_match("[a-c]x", "bx", false));
        assert!(!glob_match("[!a-c]x", "bx", false));
        assert!(glob_match("[]]", "]", false));
        assert!(glob_match("[[:digit:]]*", "7up", false));
        assert!(glob_match("\\*", "*", false));
        assert!(!glob_match("\\*", "a", false));
        assert!(glob_match("[abc", "[abc", false));
        assert!(glob_match("ABC*", "abcdef", true));
        assert!(!glob_match("ABC*", "abcdef", false));
        assert!(glob_match("*a*b*c*", "xxaxxbxxcxx", false));
    }

    #[test]
    fn pmatch_is_component_wise() {
        let set = PathPrefixes::new(&["/etc".into(), "/var/lib/*/x".into(), "/root/".into()]);
        assert!(set.matches("/etc"));
        assert!(set.matches("/etc/passwd"));
        assert!(!set.matches("/etcetera"));
        assert!(set.matches("/var/lib/kubelet/x/y"));
        assert!(!set.matches("/var/lib/kubelet/z"));
        assert!(set.matches("/root"));
    }

    #[test]
    fn case_insensitive_search_and_sets() {
        assert!(contains_ignore_ascii_case("PassWord=1", "password"));
        assert!(!contains_ignore_ascii_case("pass", "password"));
        let small = ValueSet::new(vec!["a".into(), "b".into()]);
        assert!(small.contains("b") && !small.contains("c"));
        let large = ValueSet::new((0..20).map(|i| i.to_string()).collect());
        assert!(large.contains("19") && !large.contains("20"));
        assert_eq!(unhex("0aFF"), Some(vec![10, 255]));
        assert_eq!(unhex("0a F"), None);
    }
}
