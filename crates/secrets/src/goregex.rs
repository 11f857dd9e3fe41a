//! Compiling Go RE2 patterns (as written in gitleaks configs) with the `regex` crate.
//!
//! The two dialects share almost everything. The differences that change what a pattern
//! matches, and that [`translate`] rewrites, are:
//!
//! - Perl classes are ASCII in Go (`\d` is `[0-9]`, `\w` is `[0-9A-Za-z_]`, `\s` is
//!   `[\t\n\f\r ]`, `\b` is an ASCII word boundary) but Unicode-aware in Rust.
//! - Go takes a `{` that does not start a valid repetition (`{x}`, `${VAR}`, `{,3}`) as a
//!   literal; Rust rejects it.
//! - Inside a class Go takes `[`, `&&`, `--` and `~~` literally; Rust reads nested classes
//!   and set operations there.
//! - Go's `\Q...\E` quoting and octal escapes (`\101`) do not exist in Rust, and `\<` `\>`
//!   are literals in Go but word-boundary assertions in Rust.
//!
//! The regexes of a gitleaks config share one memory budget, [`CONFIG_BUDGET`]: each is
//! measured as it is compiled, and the one that does not fit is an error instead of hundreds
//! of megabytes.

use regex::{Regex, RegexBuilder};
use regex_automata::{meta, util::syntax};

/// Compiled programs may be large for patterns such as `[\w.-]{0,50}?` under `(?i)`.
const SIZE_LIMIT: usize = 64 << 20;

/// The memory the regexes of one gitleaks config may take together, in bytes (256 MiB).
///
/// Each regex a config keeps (a rule's `regex` and `path`, the joined `regexes` and `paths` of
/// each allowlist, in the config and in the configs it extends) is charged what it takes once
/// compiled, as the `regex` crate's engine measures it, plus three times the capacity its lazy
/// DFA caches may grow to while searching (forward, reverse, and the reverse search some
/// patterns start from an inner literal), per search thread. That capacity is twice the
/// regex's compiled size, at least 64 KiB and at most 2 MiB, the regex crate's default
/// (capacities of once the compiled size made some of gitleaks' generic rules hundreds of
/// times slower). gitleaks' own default config (222 rules, 242 regexes) is charged about
/// 106 MiB; built-in rules (`[extend] useDefault`) are not charged.
pub const CONFIG_BUDGET: usize = 256 << 20;

/// A config regex's lazy-DFA cache capacity: its compiled size times this, within
/// [`CACHE_MIN`] and [`CACHE_MAX`] (see [`CONFIG_BUDGET`]).
const CACHE_PER_COMPILED_BYTE: usize = 2;
const CACHE_MIN: usize = 64 << 10;
const CACHE_MAX: usize = 2 << 20;
/// Lazy DFAs a regex may search with, each with its own cache.
const CACHES_PER_REGEX: usize = 3;

/// A Go pattern that could not be compiled; the message is the regex crate's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex {pattern:?}: {message}")]
pub struct RegexError {
    /// The pattern as written in the config.
    pub pattern: String,
    /// Why it does not compile.
    pub message: String,
}

/// A config regex that does not fit in what is left of its config's [`CONFIG_BUDGET`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// The budget, in bytes.
    pub budget: usize,
    /// Bytes charged to the regexes compiled before this one.
    pub used: usize,
    /// How many regexes were compiled before this one.
    pub regexes: usize,
    /// What this regex would be charged, when it compiled within what was left.
    pub needed: Option<usize>,
}

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let left = mib(self.budget.saturating_sub(self.used));
        write!(
            f,
            "the regexes of this config (with those of the configs it extends) would take more than the {} \
             allowed (compiled size and search caches): ",
            mib(self.budget)
        )?;
        match self.needed {
            Some(needed) => write!(f, "this one needs {}, {left} is left", mib(needed))?,
            None => write!(f, "this one alone compiles to more than the {left} left")?,
        }
        let regexes = if self.regexes == 1 { "regex" } else { "regexes" };
        write!(f, " after the {} {regexes} before it", self.regexes)
    }
}

impl std::error::Error for OverBudget {}

/// Why a pattern of a config was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CompileError {
    /// The pattern is not valid (or alone exceeds the per-regex size limit).
    #[error(transparent)]
    Invalid(#[from] RegexError),
    /// The pattern would take more than is left of the config's budget.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// The lazy-DFA cache capacity of the regexes [`compile`] builds (the built-in rules and
/// allowlists). On text dense in rule keywords, every keyword-gated regex searches whole files
/// and keeps adding states: with 64 MiB per regex a 3 MB file took 258-263 MB and 2.7-3.1 s,
/// with 1 MiB 34-35 MB and 2.0 s, and the generated corpus scans as fast (scripts/bench-secrets.sh
/// with SPRINKLED=1, docs/benchmarks.md). 256 KiB made that corpus slower.
const BUILTIN_CACHE: usize = 1 << 20;

/// Compiles a Go RE2 pattern so that it matches what Go would match.
pub fn compile(pattern: &str) -> Result<Regex, RegexError> {
    let translated = translate(pattern);
    build(&translated, SIZE_LIMIT, BUILTIN_CACHE).map_err(|err| invalid(pattern, &err))
}

/// Compiles a translated pattern with the regex crate's two size limits.
fn build(translated: &str, size_limit: usize, dfa_size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(translated).size_limit(size_limit).dfa_size_limit(dfa_size_limit).build()
}

/// The regex crate's error about `pattern`.
fn invalid(pattern: &str, err: &regex::Error) -> RegexError {
    // The regex crate's message quotes the translated pattern; keep only its last line.
    let message = err.to_string();
    let reason = message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&message);
    RegexError {
        pattern: pattern.to_string(),
        message: reason.trim().trim_start_matches("error: ").to_string(),
    }
}

/// What is left of a config's [`CONFIG_BUDGET`] while its regexes are compiled.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    budget: usize,
    used: usize,
    regexes: usize,
}

impl Budget {
    /// A budget of `bytes`.
    pub(crate) fn new(bytes: usize) -> Budget {
        Budget { budget: bytes, used: 0, regexes: 0 }
    }

    /// Bytes charged so far.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    fn left(&self) -> usize {
        self.budget.saturating_sub(self.used)
    }

    fn over(&self, needed: Option<usize>) -> OverBudget {
        OverBudget { budget: self.budget, used: self.used, regexes: self.regexes, needed }
    }

    /// The per-regex size limit: the regex crate's, or less when less is left, so that a
    /// pattern too large for the budget stops compiling as soon as it exceeds what is left.
    fn size_limit(&self) -> usize {
        SIZE_LIMIT.min(self.left())
    }

    /// The regex crate's error: a size limit lower than [`SIZE_LIMIT`] exceeded is the budget's.
    fn error(&self, pattern: &str, err: &regex::Error, size_limit: usize) -> CompileError {
        match err {
            regex::Error::CompiledTooBig(_) if size_limit < SIZE_LIMIT => {
                CompileError::OverBudget(self.over(None))
            }
            _ => CompileError::Invalid(invalid(pattern, err)),
        }
    }

    /// Compiles a pattern the config keeps, and charges it (see [`CONFIG_BUDGET`]). It is built
    /// twice: once by the engine under the regex crate, with the same settings, to measure it
    /// (the regex crate does not say what a regex takes), then by the regex crate.
    pub(crate) fn compile(&mut self, pattern: &str) -> Result<Regex, CompileError> {
        let translated = translate(pattern);
        let size_limit = self.size_limit();
        let measured = meta::Builder::new()
            .configure(
                meta::Config::new()
                    .match_kind(regex_automata::MatchKind::LeftmostFirst)
                    .utf8_empty(true)
                    .nfa_size_limit(Some(size_limit))
                    .hybrid_cache_capacity(CACHE_MAX),
            )
            .syntax(syntax::Config::new().utf8(true))
            .build(&translated);
        let compiled = match measured {
            // Dropped here, before the regex crate builds its own.
            Ok(re) => re.memory_usage(),
            // The regex crate fails the same way; its message is the one users know.
            Err(measure_err) => {
                return Err(match build(&translated, size_limit, CACHE_MIN) {
                    Err(err) => self.error(pattern, &err, size_limit),
                    Ok(_) => CompileError::Invalid(RegexError {
                        pattern: pattern.to_string(),
                        message: measure_err.to_string(),
                    }),
                })
            }
        };
        let cache = compiled.saturating_mul(CACHE_PER_COMPILED_BYTE).clamp(CACHE_MIN, CACHE_MAX);
        let charge = compiled.saturating_add(cache.saturating_mul(CACHES_PER_REGEX));
        if charge > self.left() {
            return Err(CompileError::OverBudget(self.over(Some(charge))));
        }
        let regex =
            build(&translated, size_limit, cache).map_err(|err| self.error(pattern, &err, size_limit))?;
        self.used += charge;
        self.regexes += 1;
        Ok(regex)
    }

    /// Checks that a pattern compiles within what is left, without charging it: for patterns
    /// compiled only to be validated, then dropped.
    pub(crate) fn validate(&self, pattern: &str) -> Result<(), CompileError> {
        let size_limit = self.size_limit();
        build(&translate(pattern), size_limit, CACHE_MIN)
            .map(drop)
            .map_err(|err| self.error(pattern, &err, size_limit))
    }
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

/// Rewrites Go-only syntax into equivalent Rust syntax (see the module docs).
pub fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => i = translate_escape(&chars, i, &mut out, false),
            '[' => i = translate_class(&chars, i, &mut out),
            '{' => match repetition_end(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    i = end + 1;
                }
                None => {
                    out.push_str(r"\{");
                    i += 1;
                }
            },
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The index of the closing `}` when `chars[start]` opens a Go repetition
/// (`{n}`, `{n,}`, `{n,m}`).
fn repetition_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let digits_from = i;
    while chars.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    if i == digits_from {
        return None;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    (chars.get(i) == Some(&'}')).then_some(i)
}

/// Translates the escape at `chars[start]` (a backslash); returns the index after it.
fn translate_escape(chars: &[char], start: usize, out: &mut String, in_class: bool) -> usize {
    let Some(&next) = chars.get(start + 1) else {
        // A trailing backslash: let the regex crate report it.
        out.push('\\');
        return start + 1;
    };
    let class = |set: &str, negated: bool, out: &mut String| match (in_class, negated) {
        (true, false) => out.push_str(set),
        (_, true) => {
            out.push_str("[^");
            out.push_str(set);
            out.push(']');
        }
        (false, false) => {
            out.push('[');
            out.push_str(set);
            out.push(']');
        }
    };
    match next {
        'd' => class(DIGIT, false, out),
        'D' => class(DIGIT, true, out),
        'w' => class(WORD, false, out),
        'W' => class(WORD, true, out),
        's' => class(SPACE, false, out),
        'S' => class(SPACE, true, out),
        'b' if !in_class => out.push_str(r"(?-u:\b)"),
        'B' if !in_class => out.push_str(r"(?-u:\B)"),
        '<' | '>' => out.push(next),
        'Q' => {
            let mut i = start + 2;
            while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                out.push_str(&regex::escape(&chars[i].to_string()));
                i += 1;
            }
            return if i < chars.len() { i + 2 } else { i };
        }
        '0'..='7' => {
            // Go octal escape: up to three octal digits.
            let mut i = start + 1;
            let mut value = 0u32;
            while i < chars.len() && i < start + 4 && ('0'..='7').contains(&chars[i]) {
                value = value * 8 + chars[i].to_digit(8).unwrap_or(0);
                i += 1;
            }
            out.push_str(&format!(r"\x{{{value:X}}}"));
            return i;
        }
        _ => {
            out.push('\\');
            out.push(next);
        }
    }
    start + 2
}

/// Translates the class opened at `chars[start]`; returns the index after its `]`.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // A `]` right after the opening bracket is a literal in Go.
    if chars.get(i) == Some(&']') {
        out.push_str(r"\]");
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ']' => {
                out.push(']');
                return i + 1;
            }
            '\\' => i = translate_escape(chars, i, out, true),
            '[' if chars.get(i + 1) == Some(&':') => {
                // POSIX class `[:alpha:]`: same syntax in both dialects.
                let close =
                    (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                match close {
                    Some(j) => {
                        out.extend(&chars[i..=j + 1]);
                        i = j + 2;
                    }
                    None => {
                        out.push_str(r"\[");
                        i += 1;
                    }
                }
            }
            '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str(r"\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Unterminated class: the regex crate reports it.
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_like_go() {
        let re = compile(r"^\w+$").unwrap();
        assert!(re.is_match("abc_09"));
        assert!(!re.is_match("café"));
        let re = compile(r"^[\w.-]+$").unwrap();
        assert!(re.is_match("a.b-c"));
        assert!(!re.is_match("é"));
        let re = compile(r"^\D\W\S$").unwrap();
        assert!(re.is_match("aé!"));
        let re = compile(r"\bkey\b").unwrap();
        assert!(re.is_match("a key."));
        // In Go `é` is not a word character, so `key` is bounded on both sides.
        assert!(re.is_match("ékeyé"));
    }

    #[test]
    fn braces_that_are_not_repetitions_are_literals() {
        let re = compile(r"^\${(?:[A-Z_]+)}$").unwrap();
        assert!(re.is_match("${HOME}"));
        let re = compile(r"^\{\d{0,2}}$").unwrap();
        assert!(re.is_match("{12}"));
        assert!(compile(r"a{,3}").unwrap().is_match("a{,3}"));
        assert!(compile(r"^a{2,}$").unwrap().is_match("aaa"));
    }

    #[test]
    fn class_syntax_differences() {
        let re = compile(r"^[a[]+$").unwrap();
        assert!(re.is_match("a[a"));
        let re = compile(r"^[a&&b]+$").unwrap();
        assert!(re.is_match("a&b"));
        let re = compile(r"^[[:alnum:]]+$").unwrap();
        assert!(re.is_match("aZ9"));
        let re = compile(r"^[]a]+$").unwrap();
        assert!(re.is_match("]a"));
        let re = compile(r#"^['|\"|\s|\x60]+$"#).unwrap();
        assert!(re.is_match("'\"` |"));
    }

    #[test]
    fn quoting_octal_and_angle_escapes() {
        assert!(compile(r"^\Qa.b*\E$").unwrap().is_match("a.b*"));
        assert!(!compile(r"^\Qa.b\E$").unwrap().is_match("axb"));
        assert!(compile(r"^\101$").unwrap().is_match("A"));
        assert!(compile(r"^\<x\>$").unwrap().is_match("<x>"));
    }

    #[test]
    fn a_budget_charges_what_it_keeps_with_its_caches() {
        let mut budget = Budget::new(CONFIG_BUDGET);
        budget.validate(r"[^\n]{0,1500}").unwrap();
        assert_eq!((budget.used(), budget.regexes), (0, 0), "validating charges nothing");
        let re = budget.compile(r"^key=\w{8}$").unwrap();
        assert!(re.is_match("key=abcd1234") && !re.is_match("key=abcdé123"), "translated as compile() does");
        let small = budget.used();
        assert!(
            (CACHES_PER_REGEX * CACHE_MIN..CACHES_PER_REGEX * CACHE_MIN + (64 << 10)).contains(&small),
            "{small}"
        );
        budget.compile(r"[^\n]{0,1500}").unwrap();
        let wide = budget.used() - small;
        // About 1.6 MB compiled, and three caches at their ceiling.
        assert!(
            (CACHES_PER_REGEX * CACHE_MAX + (1 << 20)..CACHES_PER_REGEX * CACHE_MAX + (2 << 20))
                .contains(&wide),
            "{wide}"
        );
        assert_eq!(budget.regexes, 2);

        let mut budget = Budget::new(small + wide - 1);
        budget.compile(r"^key=\w{8}$").unwrap();
        let err = budget.compile(r"[^\n]{0,1500}").unwrap_err();
        assert_eq!(
            err,
            CompileError::OverBudget(OverBudget {
                budget: small + wide - 1,
                used: small,
                regexes: 1,
                needed: Some(wide)
            })
        );
        assert_eq!(budget.used(), small, "nothing charged for what did not fit");
        assert!(matches!(budget.compile("(unclosed"), Err(CompileError::Invalid(_))));
    }

    #[test]
    fn errors_name_the_pattern() {
        let err = compile(r"(unclosed").unwrap_err();
        assert_eq!(err.pattern, "(unclosed");
        assert!(!err.message.is_empty());
    }
}
