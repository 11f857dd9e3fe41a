//! npm version ranges (`^1.2.3`, `~1.2`, `1.x`, `1.0.0 - 2.0.0`, `>=1 <2 || 3`), with
//! node-semver's desugaring and its pre-release rule: a pre-release version only satisfies
//! a set that names a pre-release of the same `major.minor.patch`, unless
//! `include_prerelease` is set.

use std::cmp::Ordering;

use super::semver::{SemVer, Strictness};
use super::VersionError;

/// How to read a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeOptions {
    /// npm's `loose` mode (leading zeros, `-` before pre-releases optional, junk skipped).
    pub loose: bool,
    /// Let pre-release versions satisfy plain ranges.
    pub include_prerelease: bool,
}

/// Comparison operator of one comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One `op version` condition; `None` accepts any version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator(Option<(Op, SemVer)>);

impl Comparator {
    fn test(&self, version: &SemVer) -> bool {
        let Some((op, bound)) = &self.0 else { return true };
        let order = version.cmp(bound);
        match op {
            Op::Eq => order == Ordering::Equal,
            Op::Lt => order == Ordering::Less,
            Op::Le => order != Ordering::Greater,
            Op::Gt => order == Ordering::Greater,
            Op::Ge => order != Ordering::Less,
        }
    }
}

/// A parsed range: alternatives (`||`) of comparator sets (all must hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmRange {
    sets: Vec<Vec<Comparator>>,
    options: RangeOptions,
}

/// A partial version of a range (`1`, `1.2`, `1.x`, `1.2.3-beta`); `None` parts are wildcards.
#[derive(Debug, Clone)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    /// The full version when all three numbers are given.
    full: Option<SemVer>,
}

fn version(major: u64, minor: u64, patch: u64, pre: &[&str]) -> SemVer {
    use super::semver::Identifier;
    let pre = pre
        .iter()
        .map(|p| p.parse::<u64>().map_or_else(|_| Identifier::Word(p.to_string()), Identifier::Number))
        .collect();
    SemVer { major, minor, patch, pre, build: Vec::new() }
}

fn parse_partial(text: &str, options: RangeOptions, whole: &str) -> Result<Partial, VersionError> {
    let invalid = || VersionError::new("npm range", whole, &format!("invalid version {text:?}"));
    let text = text.trim_start_matches(['v', '=', ' ', '\t']);
    let mut numbers: Vec<Option<u64>> = Vec::new();
    let mut rest = text;
    loop {
        let end =
            rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, 'x' | 'X' | '*'))).unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        let number = match part {
            "x" | "X" | "*" => None,
            _ if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => {
                if !options.loose && part.len() > 1 && part.starts_with('0') {
                    return Err(invalid());
                }
                Some(part.parse::<u64>().map_err(|_| invalid())?)
            }
            _ => return Err(invalid()),
        };
        numbers.push(number);
        rest = tail;
        match rest.strip_prefix('.') {
            Some(tail) if numbers.len() < 3 => rest = tail,
            _ => break,
        }
    }
    let get = |i: usize| numbers.get(i).copied().flatten();
    let (major, minor, patch) = (get(0), get(1), get(2));
    // A later part after a wildcard is a wildcard too (`1.x.3` is `1.x`).
    let (minor, patch) =
        if major.is_none() { (None, None) } else { (minor, if minor.is_none() { None } else { patch }) };
    let full = if numbers.len() == 3 && patch.is_some() {
        let strictness = if options.loose { Strictness::Loose } else { Strictness::Strict };
        Some(SemVer::parse_with(text, strictness).map_err(|_| invalid())?)
    } else if rest.is_empty() {
        None
    } else {
        return Err(invalid());
    };
    Ok(Partial { major, minor, full })
}

/// The lower bound `M.m.p` (with `-0` when pre-releases are included, so they count).
fn lower(major: u64, minor: u64, patch: u64, options: RangeOptions) -> SemVer {
    version(major, minor, patch, if options.include_prerelease { &["0"] } else { &[] })
}

/// The exclusive upper bound `M.m.p-0` (below every pre-release of `M.m.p`).
fn upper(major: u64, minor: u64, patch: u64) -> SemVer {
    version(major, minor, patch, &["0"])
}

fn cmp(op: Op, version: SemVer) -> Comparator {
    Comparator(Some((op, version)))
}

/// Desugars one `op partial` term into comparators.
fn desugar(op: &str, partial: &Partial, options: RangeOptions) -> Vec<Comparator> {
    let (major, minor) = (partial.major, partial.minor);
    match op {
        "~" | "~>" => match (major, minor, &partial.full) {
            (None, _, _) => vec![Comparator(None)],
            (Some(m), None, _) => vec![cmp(Op::Ge, lower(m, 0, 0, options)), cmp(Op::Lt, upper(m + 1, 0, 0))],
            (Some(m), Some(n), None) => {
                vec![cmp(Op::Ge, lower(m, n, 0, options)), cmp(Op::Lt, upper(m, n + 1, 0))]
            }
            (Some(m), Some(n), Some(full)) => {
                vec![cmp(Op::Ge, full.clone()), cmp(Op::Lt, upper(m, n + 1, 0))]
            }
        },
        "^" => match (major, minor, &partial.full) {
            (None, _, _) => vec![Comparator(None)],
            (Some(m), None, _) => vec![cmp(Op::Ge, lower(m, 0, 0, options)), cmp(Op::Lt, upper(m + 1, 0, 0))],
            (Some(m), Some(n), None) => {
                let top = if m == 0 { upper(0, n + 1, 0) } else { upper(m + 1, 0, 0) };
                vec![cmp(Op::Ge, lower(m, n, 0, options)), cmp(Op::Lt, top)]
            }
            (Some(m), Some(n), Some(full)) => {
                let p = full.patch;
                let top = match (m, n) {
                    (0, 0) => upper(0, 0, p + 1),
                    (0, _) => upper(0, n + 1, 0),
                    _ => upper(m + 1, 0, 0),
                };
                vec![cmp(Op::Ge, full.clone()), cmp(Op::Lt, top)]
            }
        },
        _ => {
            if let Some(full) = &partial.full {
                let op = match op {
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    _ => Op::Eq,
                };
                return vec![cmp(op, full.clone())];
            }
            let Some(m) = major else {
                // `<*` and `>*` match nothing; anything else with `*` matches everything.
                return if op == "<" || op == ">" {
                    vec![cmp(Op::Lt, upper(0, 0, 0))]
                } else {
                    vec![Comparator(None)]
                };
            };
            match op {
                ">" => match minor {
                    None => vec![cmp(Op::Ge, lower(m + 1, 0, 0, options))],
                    Some(n) => vec![cmp(Op::Ge, lower(m, n + 1, 0, options))],
                },
                ">=" => vec![cmp(Op::Ge, lower(m, minor.unwrap_or(0), 0, options))],
                "<" => vec![cmp(Op::Lt, upper(m, minor.unwrap_or(0), 0))],
                "<=" => match minor {
                    None => vec![cmp(Op::Lt, upper(m + 1, 0, 0))],
                    Some(n) => vec![cmp(Op::Lt, upper(m, n + 1, 0))],
                },
                _ => match minor {
                    None => vec![cmp(Op::Ge, lower(m, 0, 0, options)), cmp(Op::Lt, upper(m + 1, 0, 0))],
                    Some(n) => vec![cmp(Op::Ge, lower(m, n, 0, options)), cmp(Op::Lt, upper(m, n + 1, 0))],
                },
            }
        }
    }
}

/// Splits a comparator term into its operator and version text.
fn split_op(term: &str) -> (&str, &str) {
    for op in ["~>", ">=", "<=", "~", "^", ">", "<", "="] {
        if let Some(rest) = term.strip_prefix(op) {
            return (if op == "=" { "" } else { op }, rest.trim_start());
        }
    }
    ("", term)
}

impl NpmRange {
    /// Parses a range as node-semver's `new Range(text, options)`.
    pub fn parse(text: &str, options: RangeOptions) -> Result<Self, VersionError> {
        let mut sets = Vec::new();
        for alternative in text.split("||") {
            sets.push(Self::parse_set(alternative.trim(), options, text)?);
        }
        // Loose alternatives whose every term was unreadable are dropped, not "any".
        sets.retain(|set| !set.is_empty());
        if sets.is_empty() {
            return Err(VersionError::new("npm range", text, "no valid comparator"));
        }
        Ok(Self { sets, options })
    }

    fn parse_set(text: &str, options: RangeOptions, whole: &str) -> Result<Vec<Comparator>, VersionError> {
        // Hyphen range: `A - B`.
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.len() == 3 && words[1] == "-" {
            let from = parse_partial(words[0], options, whole)?;
            let to = parse_partial(words[2], options, whole)?;
            let mut set = Vec::new();
            match (from.major, from.minor, &from.full) {
                (None, _, _) => {}
                (Some(m), None, _) => set.push(cmp(Op::Ge, lower(m, 0, 0, options))),
                (Some(m), Some(n), None) => set.push(cmp(Op::Ge, lower(m, n, 0, options))),
                (Some(_), Some(_), Some(full)) => {
                    let mut bound = full.clone();
                    if bound.pre.is_empty() && options.include_prerelease {
                        bound = lower(full.major, full.minor, full.patch, options);
                    }
                    bound.build.clear();
                    set.push(cmp(Op::Ge, bound));
                }
            }
            match (to.major, to.minor, &to.full) {
                (None, _, _) => {}
                (Some(m), None, _) => set.push(cmp(Op::Lt, upper(m + 1, 0, 0))),
                (Some(m), Some(n), None) => set.push(cmp(Op::Lt, upper(m, n + 1, 0))),
                (Some(_), Some(_), Some(full)) => {
                    let mut bound = full.clone();
                    bound.build.clear();
                    if bound.pre.is_empty() && options.include_prerelease {
                        set.push(cmp(Op::Lt, upper(full.major, full.minor, full.patch + 1)));
                    } else {
                        set.push(cmp(Op::Le, bound));
                    }
                }
            }
            if set.is_empty() {
                set.push(Comparator(None));
            }
            return Ok(set);
        }
        // Operators may be separated from their version by spaces (`>= 1.2.3`).
        let mut terms: Vec<String> = Vec::new();
        let mut pending_op = String::new();
        for word in words {
            if word.chars().all(|c| matches!(c, '<' | '>' | '=' | '~' | '^')) {
                pending_op.push_str(word);
                continue;
            }
            terms.push(format!("{pending_op}{word}"));
            pending_op.clear();
        }
        if !pending_op.is_empty() {
            return Err(VersionError::new("npm range", whole, "operator without a version"));
        }
        if terms.is_empty() {
            return Ok(vec![Comparator(None)]);
        }
        let mut set = Vec::new();
        for term in &terms {
            let (op, rest) = split_op(term);
            match parse_partial(rest, options, whole) {
                Ok(partial) => set.extend(desugar(op, &partial, options)),
                // Loose ranges drop terms they cannot read, as node-semver does.
                Err(_) if options.loose => {}
                Err(err) => return Err(err),
            }
        }
        Ok(set)
    }

    /// Whether `version` satisfies the range.
    pub fn satisfies(&self, version: &SemVer) -> bool {
        self.sets.iter().any(|set| {
            if !set.iter().all(|c| c.test(version)) {
                return false;
            }
            if version.pre.is_empty() || self.options.include_prerelease {
                return true;
            }
            // A pre-release must be named by a comparator of the same major.minor.patch.
            set.iter().any(|c| match &c.0 {
                Some((_, bound)) => {
                    !bound.pre.is_empty()
                        && (bound.major, bound.minor, bound.patch)
                            == (version.major, version.minor, version.patch)
                }
                None => false,
            })
        })
    }

    /// Parses `version` with the range's strictness and tests it; unreadable versions never
    /// satisfy.
    pub fn satisfies_text(&self, version: &str) -> bool {
        let strictness = if self.options.loose { Strictness::Loose } else { Strictness::Strict };
        SemVer::parse_with(version, strictness).is_ok_and(|v| self.satisfies(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(range: &str, version: &str) -> bool {
        NpmRange::parse(range, RangeOptions::default()).unwrap().satisfies_text(version)
    }

    #[test]
    fn caret_tilde_x_and_hyphen() {
        assert!(ok("^1.2.3", "1.9.0") && !ok("^1.2.3", "2.0.0") && !ok("^1.2.3", "1.2.2"));
        assert!(ok("^0.2.3", "0.2.9") && !ok("^0.2.3", "0.3.0"));
        assert!(ok("^0.0.3", "0.0.3") && !ok("^0.0.3", "0.0.4"));
        assert!(ok("~1.2", "1.2.9") && !ok("~1.2", "1.3.0"));
        assert!(ok("1.x", "1.5.0") && !ok("1.x", "2.0.0"));
        assert!(ok("1.0.0 - 2.0.0", "2.0.0") && !ok("1.0.0 - 2.0.0", "2.0.1"));
        assert!(ok(">= 1.0.0 < 2 || 3.1.x", "3.1.4") && !ok(">=1.0.0 <2 || 3.1.x", "2.5.0"));
        assert!(ok("*", "0.0.1") && ok("", "9.9.9"));
    }

    #[test]
    fn prereleases_need_a_matching_comparator() {
        assert!(!ok("^1.0.0", "1.1.0-beta"));
        assert!(ok(">=1.1.0-alpha <2", "1.1.0-beta"));
        let include = RangeOptions { include_prerelease: true, ..RangeOptions::default() };
        assert!(NpmRange::parse("^1.0.0", include).unwrap().satisfies_text("1.1.0-beta"));
    }

    #[test]
    fn invalid_ranges() {
        assert!(NpmRange::parse(">=", RangeOptions::default()).is_err());
        assert!(NpmRange::parse("blerg", RangeOptions::default()).is_err());
    }
}
