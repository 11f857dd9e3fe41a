//! Detection rules: a regex (or a path pattern) with the secret group, entropy threshold,
//! keywords and allowlists that decide what of a match is a secret worth reporting.

use std::sync::{Arc, OnceLock};

use kubesecops_core::{RuleMeta, RuleRef, Severity};
use regex::Regex;

use crate::allowlist::Allowlist;

/// A rule whose findings only count next to findings of other rules (gitleaks
/// `[[rules.required]]`): a composite secret such as a key id and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required {
    /// The rule that must also match.
    pub rule_id: String,
    /// At most this many lines away from the primary finding.
    pub within_lines: Option<u32>,
    /// At most this many columns away from the primary finding.
    pub within_columns: Option<u32>,
}

/// A rule's content pattern, compiled when first used. Built-in rules are compiled lazily:
/// most scans only ever need the few whose keywords occur, and compiling all of them was most
/// of a small scan's start-up. Rules from a configuration are compiled (and so validated)
/// when it is loaded. Clones share the compiled regex.
#[derive(Debug, Clone)]
pub struct RuleRegex {
    pattern: &'static str,
    compiled: Arc<OnceLock<Regex>>,
}

impl RuleRegex {
    /// An already compiled regex.
    pub fn compiled(regex: Regex) -> RuleRegex {
        RuleRegex { pattern: "", compiled: Arc::new(OnceLock::from(regex)) }
    }

    /// A built-in pattern, compiled with the gitleaks (Go) dialect at first use. The
    /// built-in tests compile every built-in pattern, so this cannot fail at run time.
    pub fn lazy(pattern: &'static str) -> RuleRegex {
        RuleRegex { pattern, compiled: Arc::new(OnceLock::new()) }
    }

    /// The compiled regex.
    pub fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            crate::goregex::compile(self.pattern)
                .unwrap_or_else(|e| panic!("built-in secret pattern does not compile: {e}"))
        })
    }
}

impl std::ops::Deref for RuleRegex {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        self.get()
    }
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id within a ruleset (`KSO-SEC-github-pat`, or a gitleaks config's own id).
    pub id: String,
    /// One-line description, shown as the finding title.
    pub description: String,
    /// Severity of findings.
    pub severity: Severity,
    /// Pattern over the content; `None` for path-only rules.
    pub regex: Option<RuleRegex>,
    /// Which capture group is the secret (0: the first non-empty group, or the whole match).
    pub secret_group: usize,
    /// Minimum Shannon entropy of the secret (exclusive); 0 means no check.
    pub entropy: f64,
    /// Pattern over the file path: the rule applies only to matching paths, and a rule with
    /// only a path reports the file itself.
    pub path: Option<Regex>,
    /// Lower-case words of which at least one must occur in the content (case-insensitive)
    /// for the rule to run; empty means always run.
    pub keywords: Vec<String>,
    /// Free labels.
    pub tags: Vec<String>,
    /// Exceptions of this rule.
    pub allowlists: Vec<Allowlist>,
    /// Other rules that must match nearby for a finding of this rule to count.
    pub required: Vec<Required>,
    /// Findings of this rule are only used by composite rules, never reported alone.
    pub skip_report: bool,
    /// Equivalent ids of other tools (gitleaks rule ids for built-in rules).
    pub aliases: Vec<String>,
    /// Static documentation, for built-in rules.
    pub meta: Option<&'static RuleMeta>,
}

impl Rule {
    /// True when `name` is this rule's id or one of its aliases (case-insensitive).
    pub fn matches(&self, name: &str) -> bool {
        self.id.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// Generic rules give way to a specific rule that found the same secret on the same line
    /// (gitleaks: a rule whose id contains `generic`).
    pub fn is_generic(&self) -> bool {
        self.id.to_ascii_lowercase().contains("generic")
    }

    /// The title findings show: the description, or the id when there is none.
    pub fn title(&self) -> &str {
        if self.description.trim().is_empty() {
            &self.id
        } else {
            &self.description
        }
    }

    /// The shared reference findings of this rule carry.
    pub fn rule_ref(&self) -> Arc<RuleRef> {
        Arc::new(RuleRef {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            title: self.title().to_string(),
        })
    }

    /// Number of capture groups of the regex (0 without a regex).
    pub fn group_count(&self) -> usize {
        self.regex.as_ref().map_or(0, |re| re.captures_len() - 1)
    }
}

/// Shannon entropy of `text` in bits per character, computed like gitleaks: character
/// frequencies divided by the length in bytes.
pub fn shannon_entropy(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut ascii = [0u32; 128];
    let mut other: Vec<(char, u32)> = Vec::new();
    for c in text.chars() {
        if c.is_ascii() {
            ascii[c as usize] += 1;
        } else if let Some(entry) = other.iter_mut().find(|(k, _)| *k == c) {
            entry.1 += 1;
        } else {
            other.push((c, 1));
        }
    }
    let inv_len = 1.0 / text.len() as f64;
    ascii
        .iter()
        .copied()
        .chain(other.iter().map(|&(_, n)| n))
        .filter(|&n| n > 0)
        .map(|n| {
            let freq = f64::from(n) * inv_len;
            -freq * freq.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_matches_the_textbook_values() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-12);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-12);
        assert!((shannon_entropy("0123456789abcdef") - 4.0).abs() < 1e-12);
    }
}
