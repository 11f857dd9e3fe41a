//! The detection engine: one keyword prefilter pass over a text, then the regexes of the
//! rules whose keywords occur, then entropy, allowlists and de-duplication.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use kubesecops_core::{fingerprint, Finding, Location, ObjectRef, RuleRef, Severity};
use sha2::{Digest, Sha256};

use crate::allowlist::{Allowlist, Candidate};
use crate::redact::redact;
use crate::rule::{shannon_entropy, Rule};

/// A line holding this marker is never reported (gitleaks' marker is honoured too).
pub const ALLOW_MARKERS: [&str; 2] = ["kubesecops:allow", "gitleaks:allow"];

/// A set of rules and the allowlists that apply to all of them.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    /// The rules, in reporting order.
    pub rules: Vec<Rule>,
    /// Global allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Title of the config the rules came from.
    pub title: String,
    /// Paths never scanned (the config file itself).
    pub skip_paths: Vec<String>,
    /// Things worth telling the user about the config that are not errors (a disabled rule
    /// that does not exist, ...).
    pub notes: Vec<String>,
}

/// One text to scan.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The path rules and allowlists see, and findings report (`-` for stdin).
    pub path: &'a str,
    /// The text.
    pub content: &'a str,
    /// The commit the text comes from, for commit allowlists.
    pub commit: Option<&'a str>,
}

impl<'a> Input<'a> {
    /// A file's (or any named text's) content.
    pub fn new(path: &'a str, content: &'a str) -> Self {
        Input { path, content, commit: None }
    }
}

/// A secret found: where, by which rule, and the secret only in redacted and hashed form.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretMatch {
    /// Index of the rule in [`Scanner::rules`].
    pub rule: usize,
    /// 1-based line of the secret (`None` for a path-only rule's file finding).
    pub line: Option<u32>,
    /// 1-based column (in characters) of the secret.
    pub column: Option<u32>,
    /// 1-based line where the rule's match ends.
    pub end_line: Option<u32>,
    /// The secret with all but a few leading characters masked.
    pub redacted: String,
    /// Hex SHA-256 of the secret, so identical secrets can be recognised without storing them.
    pub secret_sha256: String,
    /// Shannon entropy of the secret.
    pub entropy: f64,
}

/// A compiled ruleset ready to scan texts; cheap to share across threads.
#[derive(Debug)]
pub struct Scanner {
    rules: Vec<Rule>,
    refs: Vec<Arc<RuleRef>>,
    allowlists: Vec<Allowlist>,
    skip_paths: Vec<String>,
    prefilter: Option<AhoCorasick>,
    /// Rules to run when prefilter pattern `i` occurs.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they always run.
    unconditional: Vec<usize>,
    by_id: HashMap<String, usize>,
}

/// A finding before the secret is redacted; never leaves this module.
struct Raw<'a> {
    rule: usize,
    secret: &'a str,
    line: Option<u32>,
    end_line: Option<u32>,
    start_column: u32,
    entropy: f64,
}

/// True when `found` (sorted by line) has a match close enough to `primary` for `req`.
fn any_near(req: &crate::rule::Required, found: &[Raw<'_>], primary: &Raw<'_>) -> bool {
    let candidates = match req.within_lines {
        Some(n) => {
            let line = primary.line.unwrap_or(0);
            let (low, high) = (line.saturating_sub(n), line.saturating_add(n));
            let start = found.partition_point(|f| f.line.unwrap_or(0) < low);
            let end = found.partition_point(|f| f.line.unwrap_or(0) <= high);
            &found[start..end.max(start)]
        }
        None => found,
    };
    candidates
        .iter()
        .any(|f| req.within_columns.is_none_or(|n| primary.start_column.abs_diff(f.start_column) <= n))
}

/// Line starts of a text, computed once when the first match needs them.
struct Lines<'a> {
    text: &'a str,
    newlines: OnceLock<Vec<usize>>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines { text, newlines: OnceLock::new() }
    }

    fn newlines(&self) -> &[usize] {
        self.newlines.get_or_init(|| self.text.match_indices('\n').map(|(i, _)| i).collect())
    }

    /// 1-based line of byte offset `at`.
    fn line_of(&self, at: usize) -> u32 {
        (self.newlines().partition_point(|&nl| nl < at) + 1) as u32
    }

    /// 1-based column, in characters, of byte offset `at`.
    fn column_of(&self, at: usize) -> u32 {
        let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        (self.text[start..at].chars().count() + 1) as u32
    }

    /// The line text around `start..end` as gitleaks sees it: from the newline before the
    /// match (included) to the newline after it.
    fn line_text(&self, start: usize, end: usize) -> &'a str {
        let from = self.text[..start].rfind('\n').unwrap_or(0);
        let to = self.text[end..].find(['\n', '\r']).map_or(self.text.len(), |i| end + i);
        &self.text[from..to.max(end)]
    }
}

impl Scanner {
    /// Builds the keyword prefilter over the ruleset.
    pub fn new(ruleset: Ruleset) -> Scanner {
        let Ruleset { rules, allowlists, skip_paths, .. } = ruleset;
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut unconditional = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                unconditional.push(i);
            }
            for keyword in &rule.keywords {
                let keyword = keyword.to_lowercase();
                let slot = *index.entry(keyword.clone()).or_insert_with(|| {
                    keywords.push(keyword);
                    keyword_rules.push(Vec::new());
                    keyword_rules.len() - 1
                });
                if !keyword_rules[slot].contains(&i) {
                    keyword_rules[slot].push(i);
                }
            }
        }
        let prefilter = (!keywords.is_empty()).then(|| {
            let build =
                |kind| AhoCorasick::builder().ascii_case_insensitive(true).kind(kind).build(&keywords);
            // A contiguous NFA: building the DFA took most of a small scan's set-up of the
            // scanner (several times the NFA's), while the texts searched are only the values
            // that may hold secrets, where the DFA's faster search saved far less.
            build(Some(AhoCorasickKind::ContiguousNFA))
                .or_else(|_| build(None))
                .expect("keywords are plain strings and always build an automaton")
        });
        let refs = rules.iter().map(Rule::rule_ref).collect();
        let by_id = rules.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        Scanner { rules, refs, allowlists, skip_paths, prefilter, keyword_rules, unconditional, by_id }
    }

    /// The rules, indexed by [`SecretMatch::rule`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True for files never scanned, such as the config the rules came from (compared as
    /// given and canonicalized).
    pub fn skips_file(&self, path: &std::path::Path) -> bool {
        let given = path.display().to_string();
        self.skip_paths.contains(&given)
            || path.canonicalize().is_ok_and(|c| self.skip_paths.contains(&c.display().to_string()))
    }

    /// The rule with this id or alias.
    pub fn find_rule(&self, name: &str) -> Option<&Rule> {
        self.by_id.get(name).map(|&i| &self.rules[i]).or_else(|| self.rules.iter().find(|r| r.matches(name)))
    }

    /// Scans one text. Findings are in rule order, then text order.
    pub fn scan(&self, input: &Input<'_>) -> Vec<SecretMatch> {
        if !input.path.is_empty() && self.skip_paths.iter().any(|p| p == input.path) {
            return Vec::new();
        }
        if self.allowlists.iter().any(|a| a.allows_file(input.path, input.commit)) {
            return Vec::new();
        }
        let mut run = vec![false; self.rules.len()];
        for &i in &self.unconditional {
            run[i] = true;
        }
        if let Some(prefilter) = &self.prefilter {
            let mut seen = vec![false; self.keyword_rules.len()];
            let mut remaining = seen.len();
            for m in prefilter.find_overlapping_iter(input.content) {
                let k = m.pattern().as_usize();
                if !seen[k] {
                    seen[k] = true;
                    for &rule in &self.keyword_rules[k] {
                        run[rule] = true;
                    }
                    remaining -= 1;
                    if remaining == 0 {
                        break;
                    }
                }
            }
        }
        let lines = Lines::new(input.content);
        let mut raws = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if run[i] {
                let found = self.detect_rule(i, input, &lines, false);
                if rule.required.is_empty() {
                    raws.extend(found);
                } else {
                    raws.extend(self.with_required(i, input, &lines, found));
                }
            }
        }
        self.dedupe_generic(&mut raws);
        raws.into_iter().map(|raw| self.finish(raw)).collect()
    }

    /// The matches of one rule that survive entropy and allowlists.
    fn detect_rule<'a>(
        &self,
        index: usize,
        input: &Input<'a>,
        lines: &Lines<'a>,
        inherited: bool,
    ) -> Vec<Raw<'a>> {
        let rule = &self.rules[index];
        let mut out = Vec::new();
        if rule.skip_report && !inherited {
            return out;
        }
        if rule.allowlists.iter().any(|a| a.allows_file(input.path, input.commit)) {
            return out;
        }
        if let Some(path_re) = &rule.path {
            let path_matches = path_re.is_match(input.path);
            if rule.regex.is_none() {
                if path_matches {
                    out.push(Raw {
                        rule: index,
                        secret: "",
                        line: None,
                        end_line: None,
                        start_column: 0,
                        entropy: 0.0,
                    });
                }
                return out;
            }
            if !path_matches {
                return out;
            }
        }
        let Some(regex) = &rule.regex else { return out };
        let text = input.content;
        for m in regex.find_iter(text) {
            let whole = m.as_str();
            let matched = whole.trim_matches('\n');
            let match_start = m.start() + (whole.len() - whole.trim_start_matches('\n').len());
            let match_end = match_start + matched.len();
            let line_text = lines.line_text(match_start, match_end);
            if ALLOW_MARKERS.iter().any(|marker| line_text.contains(marker)) {
                continue;
            }
            // Like gitleaks, the groups come from matching the regex again on the match alone.
            let mut secret = matched;
            let mut secret_offset = 0;
            if let Some(caps) = regex.captures(matched) {
                if caps.len() >= 2 {
                    if rule.secret_group > 0 {
                        match caps.get(rule.secret_group) {
                            Some(g) => {
                                secret = g.as_str();
                                secret_offset = g.start();
                            }
                            None => {
                                secret = "";
                            }
                        }
                    } else if let Some(g) = caps.iter().skip(1).flatten().find(|g| !g.as_str().is_empty()) {
                        secret = g.as_str();
                        secret_offset = g.start();
                    }
                }
            }
            let entropy = shannon_entropy(secret);
            if rule.entropy != 0.0 && entropy <= rule.entropy {
                continue;
            }
            let candidate =
                Candidate { secret, matched, line: line_text, path: input.path, commit: input.commit };
            if self.allowlists.iter().any(|a| a.allows_finding(&candidate))
                || rule.allowlists.iter().any(|a| a.allows_finding(&candidate))
            {
                continue;
            }
            let secret_start = match_start + secret_offset;
            out.push(Raw {
                rule: index,
                secret,
                line: Some(lines.line_of(secret_start)),
                end_line: Some(lines.line_of(match_end)),
                start_column: lines.column_of(secret_start),
                entropy,
            });
        }
        out
    }

    /// Keeps the findings of a composite rule that have, for every required rule, a finding
    /// of that rule close enough.
    fn with_required<'a>(
        &self,
        index: usize,
        input: &Input<'a>,
        lines: &Lines<'a>,
        primary: Vec<Raw<'a>>,
    ) -> Vec<Raw<'a>> {
        if primary.is_empty() {
            return primary;
        }
        let rule = &self.rules[index];
        let required: Vec<(&crate::rule::Required, Vec<Raw<'a>>)> = rule
            .required
            .iter()
            .filter_map(|req| {
                let &i = self.by_id.get(&req.rule_id)?;
                let mut found = self.detect_rule(i, input, lines, true);
                // By line, so that only the matches within the allowed lines are looked at:
                // comparing every primary match with every required one grew with the
                // square of the matches on large files.
                found.sort_by_key(|f| f.line.unwrap_or(0));
                Some((req, found))
            })
            .collect();
        primary.into_iter().filter(|p| required.iter().all(|(req, found)| any_near(req, found, p))).collect()
    }

    /// Drops a generic rule's finding when a specific rule found a secret containing it on
    /// the same line.
    fn dedupe_generic(&self, raws: &mut Vec<Raw<'_>>) {
        let generic: Vec<bool> = raws.iter().map(|r| self.rules[r.rule].is_generic()).collect();
        // The specific rules' matches by line: each generic match is compared only with those
        // of its own line, not with every match of the file.
        let mut specific_by_line: HashMap<Option<u32>, Vec<usize>> = HashMap::new();
        for (j, raw) in raws.iter().enumerate() {
            if !generic[j] {
                specific_by_line.entry(raw.line).or_default().push(j);
            }
        }
        let keep: Vec<bool> = raws
            .iter()
            .enumerate()
            .map(|(i, f)| {
                !generic[i]
                    || !specific_by_line.get(&f.line).is_some_and(|same_line| {
                        same_line.iter().any(|&j| raws[j].rule != f.rule && raws[j].secret.contains(f.secret))
                    })
            })
            .collect();
        let mut flags = keep.into_iter();
        raws.retain(|_| flags.next().unwrap_or(true));
    }

    fn finish(&self, raw: Raw<'_>) -> SecretMatch {
        SecretMatch {
            rule: raw.rule,
            line: raw.line,
            column: raw.line.map(|_| raw.start_column),
            end_line: raw.end_line,
            redacted: redact(raw.secret),
            secret_sha256: kubesecops_core::hex(&Sha256::digest(raw.secret.as_bytes())),
            entropy: raw.entropy,
        }
    }

    /// A report finding for a match found in `path` (and, for Kubernetes inputs, `object`).
    /// The message holds only the redacted secret; the fingerprint hashes the rule id, the
    /// path, the object and a hash of the secret, never its line.
    pub fn finding(&self, m: &SecretMatch, path: &Arc<str>, object: Option<Arc<ObjectRef>>) -> Finding {
        let rule = &self.rules[m.rule];
        let message = match m.line {
            Some(_) => format!("{} ({})", rule.title(), m.redacted),
            None => format!("{}: the file itself is sensitive", rule.title()),
        };
        let key =
            if m.line.is_some() { format!("secret-sha256:{}", m.secret_sha256) } else { "file".to_string() };
        Finding {
            rule: Arc::clone(&self.refs[m.rule]),
            severity: rule.severity,
            message,
            location: Location { path: Arc::clone(path), line: m.line, column: m.column },
            fingerprint: fingerprint(&rule.id, path, object.as_deref(), &key),
            vcs: None,
            package: None,
            fixed_version: None,
            object,
        }
    }

    /// The severity of a match's rule.
    pub fn severity(&self, m: &SecretMatch) -> Severity {
        self.rules[m.rule].severity
    }
}

#[cfg(test)]
mod tests;
