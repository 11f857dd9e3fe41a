//! Allowlists: what is not a secret although a rule matched it.
//!
//! The semantics are gitleaks': an allowlist holds commits, path regexes, content regexes
//! (tested against the secret, the whole match or the line, see [`RegexTarget`]) and stop
//! words (tested against the secret, case-insensitively). With the `OR` condition any one
//! check allows the finding; with `AND` every check that is configured must agree.

use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::goregex::{self, Budget, CompileError, OverBudget, RegexError};

/// How the checks of one allowlist combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    /// Any configured check allows (the default).
    #[default]
    Or,
    /// Every configured check must allow.
    And,
}

/// What an allowlist's regexes are tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegexTarget {
    /// The secret (the rule's secret group), the default.
    #[default]
    Secret,
    /// The whole text the rule's regex matched.
    Match,
    /// The line(s) holding the match.
    Line,
}

/// The texts of an allowlist before compilation (as written in a config or a built-in rule).
#[derive(Debug, Clone, Default)]
pub struct AllowlistSpec {
    /// Free text.
    pub description: String,
    /// `OR` (default) or `AND`.
    pub condition: Condition,
    /// Commit SHAs (compared case-insensitively).
    pub commits: Vec<String>,
    /// Go RE2 patterns over the file path.
    pub paths: Vec<String>,
    /// What [`regexes`](Self::regexes) are tested against.
    pub regex_target: RegexTarget,
    /// Go RE2 patterns over the target.
    pub regexes: Vec<String>,
    /// Words that, found in the secret (case-insensitively), allow it.
    pub stopwords: Vec<String>,
}

/// Why an allowlist is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistError {
    /// Nothing to check.
    #[error("must contain at least one check for: commits, paths, regexes, or stopwords")]
    Empty,
    /// A path or content pattern does not compile.
    #[error(transparent)]
    Regex(#[from] RegexError),
    /// A path or content pattern does not fit in what is left of its config's budget
    /// ([`goregex::CONFIG_BUDGET`]).
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
}

impl From<CompileError> for AllowlistError {
    fn from(err: CompileError) -> AllowlistError {
        match err {
            CompileError::Invalid(err) => AllowlistError::Regex(err),
            CompileError::OverBudget(err) => AllowlistError::OverBudget(err),
        }
    }
}

/// When an allowlist's regexes are compiled.
enum Compile<'b> {
    /// At first use (built-in allowlists).
    Lazy,
    /// Now.
    Now,
    /// Now, charged to a config's budget.
    Within(&'b mut Budget),
}

/// A compiled allowlist.
#[derive(Debug, Clone)]
pub struct Allowlist {
    description: String,
    condition: Condition,
    commits: Vec<String>,
    paths: Option<JoinedRegex>,
    regex_target: RegexTarget,
    regexes: Option<JoinedRegex>,
    stopwords: Option<AhoCorasick>,
}

/// An allowlist's patterns joined into one regex, compiled when first needed for built-in
/// allowlists (see [`Allowlist::built_in`]) and at once for others. Clones share it.
#[derive(Debug, Clone)]
struct JoinedRegex {
    pattern: String,
    compiled: Arc<OnceLock<Regex>>,
}

impl JoinedRegex {
    fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            goregex::compile(&self.pattern)
                .unwrap_or_else(|e| panic!("built-in allowlist pattern does not compile: {e}"))
        })
    }
}

/// What a finding is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate<'a> {
    pub secret: &'a str,
    pub matched: &'a str,
    pub line: &'a str,
    pub path: &'a str,
    pub commit: Option<&'a str>,
}

impl Allowlist {
    /// Compiles and validates a spec.
    pub fn new(spec: &AllowlistSpec) -> Result<Allowlist, AllowlistError> {
        Allowlist::build(spec, Compile::Now)
    }

    /// Compiles and validates a spec of a config, charging its regexes to the config's budget.
    pub(crate) fn within(spec: &AllowlistSpec, budget: &mut Budget) -> Result<Allowlist, AllowlistError> {
        Allowlist::build(spec, Compile::Within(budget))
    }

    /// A built-in allowlist, whose regexes are compiled when first needed: compiling those of
    /// every built-in rule was most of the secret scanner's construction, which a scan waits
    /// for. The built-in tests compile every one of them, so this cannot fail at run time.
    pub(crate) fn built_in(spec: &AllowlistSpec) -> Result<Allowlist, AllowlistError> {
        Allowlist::build(spec, Compile::Lazy)
    }

    /// Compiles every regex now (built-in allowlists compile theirs at first use).
    #[cfg(test)]
    pub(crate) fn compile_all(&self) {
        for joined in [&self.paths, &self.regexes].into_iter().flatten() {
            joined.get();
        }
    }

    fn build(spec: &AllowlistSpec, mut compile: Compile<'_>) -> Result<Allowlist, AllowlistError> {
        if spec.commits.is_empty()
            && spec.paths.is_empty()
            && spec.regexes.is_empty()
            && spec.stopwords.is_empty()
        {
            return Err(AllowlistError::Empty);
        }
        let mut commits: Vec<String> = spec.commits.iter().map(|c| c.trim().to_lowercase()).collect();
        commits.sort();
        commits.dedup();
        let mut stopwords: Vec<String> = spec.stopwords.iter().map(|w| w.to_lowercase()).collect();
        stopwords.sort();
        stopwords.dedup();
        let stopwords = if stopwords.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&stopwords).map_err(|e| {
                AllowlistError::Regex(RegexError { pattern: "stopwords".into(), message: e.to_string() })
            })?)
        };
        Ok(Allowlist {
            description: spec.description.clone(),
            condition: spec.condition,
            commits,
            paths: join_or(&spec.paths, &mut compile)?,
            regex_target: spec.regex_target,
            regexes: join_or(&spec.regexes, &mut compile)?,
            stopwords,
        })
    }

    /// The allowlist's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    fn commit_allowed(&self, commit: Option<&str>) -> bool {
        match commit {
            Some(c) if !c.is_empty() => self.commits.iter().any(|a| a.eq_ignore_ascii_case(c)),
            _ => false,
        }
    }

    fn path_allowed(&self, path: &str) -> bool {
        !path.is_empty() && self.paths.as_ref().is_some_and(|re| re.get().is_match(path))
    }

    fn regex_allowed(&self, target: &str) -> bool {
        !target.is_empty() && self.regexes.as_ref().is_some_and(|re| re.get().is_match(target))
    }

    fn contains_stopword(&self, secret: &str) -> bool {
        !secret.is_empty() && self.stopwords.as_ref().is_some_and(|ac| ac.is_match(&secret.to_lowercase()))
    }

    /// Whether a whole file (or commit) is skipped, before any content is read: with `OR`,
    /// a matching commit or path; with `AND`, every configured commit/path check, and only
    /// when the allowlist has no content checks (those are decided per finding).
    pub(crate) fn allows_file(&self, path: &str, commit: Option<&str>) -> bool {
        if path.is_empty() && commit.is_none_or(str::is_empty) {
            return false;
        }
        match self.condition {
            Condition::Or => self.commit_allowed(commit) || self.path_allowed(path),
            Condition::And => {
                if self.regexes.is_some() || self.stopwords.is_some() {
                    return false;
                }
                (self.commits.is_empty() || self.commit_allowed(commit))
                    && (self.paths.is_none() || self.path_allowed(path))
            }
        }
    }

    /// Whether one finding is allowed: with `OR` by a regex or a stop word (commits and
    /// paths were decided by [`allows_file`](Self::allows_file)); with `AND` by all checks.
    pub(crate) fn allows_finding(&self, c: &Candidate<'_>) -> bool {
        let target = match self.regex_target {
            RegexTarget::Secret => c.secret,
            RegexTarget::Match => c.matched,
            RegexTarget::Line => c.line,
        };
        match self.condition {
            Condition::Or => self.regex_allowed(target) || self.contains_stopword(c.secret),
            Condition::And => {
                (self.commits.is_empty() || self.commit_allowed(c.commit))
                    && (self.paths.is_none() || self.path_allowed(c.path))
                    && (self.regexes.is_none() || self.regex_allowed(target))
                    && (self.stopwords.is_none() || self.contains_stopword(c.secret))
            }
        }
    }
}

/// Joins patterns into one `(?:a|b|c)` alternation, as gitleaks does. Unless compiled
/// lazily, each pattern is compiled alone first so that an error names the pattern that is
/// wrong, then the whole.
fn join_or(patterns: &[String], compile: &mut Compile<'_>) -> Result<Option<JoinedRegex>, AllowlistError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    // Joined like gitleaks: a flag group such as `(?i)` opening one pattern therefore
    // applies to the patterns after it, exactly as in gitleaks.
    let joined = JoinedRegex { pattern: format!("(?:{})", patterns.join("|")), compiled: Arc::default() };
    let regex = match compile {
        Compile::Lazy => return Ok(Some(joined)),
        Compile::Now => {
            for pattern in patterns {
                goregex::compile(pattern)?;
            }
            goregex::compile(&joined.pattern)?
        }
        Compile::Within(budget) => {
            for pattern in patterns {
                budget.validate(pattern)?;
            }
            budget.compile(&joined.pattern)?
        }
    };
    joined.compiled.get_or_init(|| regex);
    Ok(Some(joined))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AllowlistSpec {
        AllowlistSpec::default()
    }

    fn candidate<'a>(secret: &'a str, line: &'a str, path: &'a str) -> Candidate<'a> {
        Candidate { secret, matched: line, line, path, commit: None }
    }

    #[test]
    fn empty_allowlist_is_rejected() {
        assert_eq!(Allowlist::new(&spec()).unwrap_err(), AllowlistError::Empty);
    }

    #[test]
    fn or_condition_regex_and_stopwords() {
        let a = Allowlist::new(&AllowlistSpec {
            regexes: vec!["^changeit$".into()],
            stopwords: vec!["MOCK".into()],
            ..spec()
        })
        .unwrap();
        assert!(a.allows_finding(&candidate("changeit", "x", "")));
        assert!(a.allows_finding(&candidate("my-mock-token", "x", "")));
        assert!(!a.allows_finding(&candidate("s3cr3t-value", "x", "")));
    }

    #[test]
    fn and_condition_needs_every_check() {
        let a = Allowlist::new(&AllowlistSpec {
            condition: Condition::And,
            paths: vec!["^node_modules/".into()],
            stopwords: vec!["mock".into()],
            ..spec()
        })
        .unwrap();
        assert!(!a.allows_file("node_modules/x.js", None), "content checks decide per finding");
        assert!(a.allows_finding(&candidate("mock-1", "l", "node_modules/x.js")));
        assert!(!a.allows_finding(&candidate("mock-1", "l", "src/x.js")));
        assert!(!a.allows_finding(&candidate("real-1", "l", "node_modules/x.js")));
    }

    #[test]
    fn regex_target_line() {
        let a = Allowlist::new(&AllowlistSpec {
            regex_target: RegexTarget::Line,
            regexes: vec!["foo.+bar".into()],
            ..spec()
        })
        .unwrap();
        assert!(a.allows_finding(&candidate("zzz", "foo zzz bar", "")));
        assert!(!a.allows_finding(&candidate("foo-bar", "zzz", "")));
    }

    #[test]
    fn path_or_commit_skips_file() {
        let a = Allowlist::new(&AllowlistSpec {
            paths: vec![r"\.lock$".into()],
            commits: vec!["ABC123".into()],
            ..spec()
        })
        .unwrap();
        assert!(a.allows_file("Cargo.lock", None));
        assert!(a.allows_file("src/x.rs", Some("abc123")));
        assert!(!a.allows_file("src/x.rs", None));
        assert!(!a.allows_file("", None));
    }

    #[test]
    fn bad_pattern_is_named() {
        let err = Allowlist::new(&AllowlistSpec { regexes: vec!["(".into()], ..spec() }).unwrap_err();
        assert!(matches!(err, AllowlistError::Regex(RegexError { ref pattern, .. }) if pattern == "("));
    }
}
