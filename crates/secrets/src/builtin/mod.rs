//! The built-in secret rules (`KSO-SEC-*`), one family per module.
//!
//! Each rule is written from the credential's public format (documented prefixes, lengths
//! and alphabets) and carries its documentation in the fixed outline of kubesecops rules:
//! what it checks, why it matters, an example, the fix, references. The example of every
//! rule is an obviously fake credential that the rule must report, and every rule also has
//! a near miss it must not report; the registry tests check both.
//!
//! Patterns are written in the Go RE2 dialect of gitleaks configs and compiled by
//! [`goregex`](crate::goregex), so `\w`, `\d`, `\s` and `\b` are ASCII.

use std::sync::OnceLock;

use kubesecops_core::RuleMeta;

use crate::allowlist::{Allowlist, AllowlistSpec};
use crate::rule::{Rule, RuleRegex};
use crate::scanner::Ruleset;

mod ai;
mod cloud;
mod commerce;
mod crypto;
mod database;
mod devtools;
mod generic;
mod messaging;
mod observability;
mod saas;
mod vcs;

/// A built-in rule: documentation and detection settings.
#[derive(Debug)]
pub struct BuiltinRule {
    /// Id, title, severity, aliases (gitleaks rule ids) and documentation.
    pub meta: RuleMeta,
    /// Go RE2 pattern.
    pub regex: &'static str,
    /// Capture group holding the secret (0: first non-empty group).
    pub secret_group: usize,
    /// Minimum Shannon entropy of the secret (exclusive); 0 disables the check.
    pub entropy: f64,
    /// Words of which one must appear (case-insensitively) for the rule to run.
    pub keywords: &'static [&'static str],
    /// Patterns over the secret that mark it as not a secret (placeholders, examples).
    pub allow: &'static [&'static str],
    /// Words that, in the secret, mark it as not a secret.
    pub stopwords: &'static [&'static str],
    /// A text the rule must report (an obviously fake credential).
    pub example: &'static str,
    /// A text the rule must not report.
    pub negative: &'static str,
}

/// Declares a family of built-in rules. `why` opens every rule's "Why it matters" section.
macro_rules! secret_rules {
    (
        why: $family_why:literal,
        rules: [$({
            id: $id:literal,
            title: $title:literal,
            severity: $severity:ident,
            aliases: [$($alias:literal),* $(,)?],
            keywords: [$($keyword:literal),* $(,)?],
            regex: $regex:expr,
            group: $group:literal,
            entropy: $entropy:literal,
            allow: [$($allow:literal),* $(,)?],
            stopwords: [$($stopword:literal),* $(,)?],
            example: $example:literal,
            negative: $negative:literal,
            what: $what:literal,
            why: $why:literal,
            fix: $fix:literal,
            refs: [$($reference:literal),* $(,)?] $(,)?
        }),* $(,)?]
    ) => {
        /// The rules of this family.
        pub static RULES: &[$crate::builtin::BuiltinRule] = &[$(
            $crate::builtin::BuiltinRule {
                meta: kubesecops_core::RuleMeta {
                    id: $id,
                    title: $title,
                    severity: kubesecops_core::Severity::$severity,
                    category: kubesecops_core::Category::Secrets,
                    aliases: &[$($alias),*],
                    frameworks: &[kubesecops_core::Framework::MitreAttack("T1552.001")],
                    doc: concat!(
                        "## What it checks\n", $what, "\n\n",
                        "## Why it matters\n", $family_why, " ", $why, "\n\n",
                        "## Example\n```text\n", $example, "\n```\n\n",
                        "## Fix\n", $fix, " Then remove the value from the file and from version-control ",
                        "history, and load it at run time from a secret store (a Kubernetes Secret fed by ",
                        "External Secrets, Vault or a CSI secrets-store driver).\n\n",
                        "## References\n", $("- ", $reference, "\n",)*
                        "- MITRE ATT&CK T1552.001, Unsecured Credentials: Credentials In Files\n"
                    ),
                },
                regex: $regex,
                secret_group: $group,
                entropy: $entropy,
                keywords: &[$($keyword),*],
                allow: &[$($allow),*],
                stopwords: &[$($stopword),*],
                example: $example,
                negative: $negative,
            }
        ),*];
    };
}
pub(crate) use secret_rules;

/// Pieces of patterns shared by rules that find a value assigned to a named key
/// (`name = value`, `name: value`, `"name": "value"`, `name => value`, `--name value`).
macro_rules! assign {
    // The key: a name holding one of the given words (not inside a longer word), up to 20
    // more name characters, an assignment operator and an optional quote.
    (key: $words:literal) => {
        concat!(
            r#"(?i)(?:^|[^a-z0-9])(?:"#,
            $words,
            r#")[\w.-]{0,20}['"]?\s{0,3}(?:=|:{1,3}=|:|=>|\?=|,)\s{0,3}[`'"]?"#
        )
    };
}
pub(crate) use assign;

/// The end of a token: a quote, whitespace, punctuation or the end of the text.
macro_rules! token_end {
    () => {
        r#"(?:[`'"\s;,)\]}]|\\[nrt]|$)"#
    };
}
pub(crate) use token_end;

/// Every built-in rule, in id order within families.
pub fn rules() -> impl Iterator<Item = &'static BuiltinRule> {
    [
        cloud::RULES,
        vcs::RULES,
        devtools::RULES,
        messaging::RULES,
        commerce::RULES,
        ai::RULES,
        saas::RULES,
        observability::RULES,
        database::RULES,
        crypto::RULES,
        generic::RULES,
    ]
    .into_iter()
    .flatten()
}

/// The documentation of every built-in rule.
pub fn metas() -> impl Iterator<Item = &'static RuleMeta> {
    rules().map(|r| &r.meta)
}

/// The built-in rule with this id or alias (case-insensitive).
pub fn find(name: &str) -> Option<&'static BuiltinRule> {
    rules().find(|r| r.meta.matches(name))
}

/// Paths that never hold hand-written secrets: dependency lock files, vendored and
/// generated code, minified bundles, source maps.
const GLOBAL_ALLOW_PATHS: &[&str] = &[
    r"(?:^|/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|go\.sum|poetry\.lock|Pipfile\.lock|composer\.lock|Gemfile\.lock|gradle\.lockfile)$",
    r"(?:^|/)(?:node_modules|bower_components|\.yarn/cache)/",
    r"(?:^|/)vendor/(?:github\.com|golang\.org|google\.golang\.org|gopkg\.in|k8s\.io|sigs\.k8s\.io|bundle)/",
    r"\.(?:min\.js|js\.map|css\.map)$",
];

/// Values that are references or placeholders, not secrets.
const GLOBAL_ALLOW_SECRETS: &[&str] = &[
    // Environment and template references: $VAR, ${VAR}, {{ .Values.x }}, %VAR%, @VAR@.
    r"^\$\{?[A-Za-z_][A-Za-z0-9_.]*\}?$",
    r"^\$?\{\{.*\}\}$",
    r"^%[A-Za-z_][A-Za-z0-9_]*%$",
    r"^@[A-Za-z_][A-Za-z0-9_]*@$",
    // Placeholders: <your-token>, masks, the same character repeated.
    r"^<[^<>]*>$",
    r"^(?:x+|X+|\*+|\.+|-+|0+|#+)$",
    r"(?i)^(?:true|false|null|nil|none|undefined|changeme|change_me|placeholder|redacted)$",
];

fn compile_rule(builtin: &'static BuiltinRule) -> Rule {
    let allowlists = if builtin.allow.is_empty() && builtin.stopwords.is_empty() {
        Vec::new()
    } else {
        let spec = AllowlistSpec {
            regexes: builtin.allow.iter().map(|s| s.to_string()).collect(),
            stopwords: builtin.stopwords.iter().map(|s| s.to_string()).collect(),
            ..AllowlistSpec::default()
        };
        vec![Allowlist::built_in(&spec).unwrap_or_else(|e| panic!("built-in rule {}: {e}", builtin.meta.id))]
    };
    Rule {
        id: builtin.meta.id.to_string(),
        description: builtin.meta.title.to_string(),
        severity: builtin.meta.severity,
        regex: Some(RuleRegex::lazy(builtin.regex)),
        secret_group: builtin.secret_group,
        entropy: builtin.entropy,
        path: None,
        keywords: builtin.keywords.iter().map(|k| k.to_lowercase()).collect(),
        tags: Vec::new(),
        allowlists,
        required: Vec::new(),
        skip_report: false,
        aliases: builtin.meta.aliases.iter().map(|a| a.to_string()).collect(),
        meta: Some(&builtin.meta),
    }
}

/// The global allowlists of the built-in ruleset.
pub fn global_allowlists() -> Vec<Allowlist> {
    let paths = AllowlistSpec {
        description: "lock files, vendored and generated code".into(),
        paths: GLOBAL_ALLOW_PATHS.iter().map(|s| s.to_string()).collect(),
        ..AllowlistSpec::default()
    };
    let values = AllowlistSpec {
        description: "references and placeholders".into(),
        regexes: GLOBAL_ALLOW_SECRETS.iter().map(|s| s.to_string()).collect(),
        ..AllowlistSpec::default()
    };
    [paths, values]
        .iter()
        .map(|spec| Allowlist::built_in(spec).expect("built-in allowlists are valid"))
        .collect()
}

/// The built-in ruleset (compiled once per process; clones share the compiled regexes).
pub fn ruleset() -> Ruleset {
    static RULESET: OnceLock<Ruleset> = OnceLock::new();
    RULESET
        .get_or_init(|| Ruleset {
            rules: rules().map(compile_rule).collect(),
            allowlists: global_allowlists(),
            title: "kubesecops built-in secret rules".to_string(),
            skip_paths: Vec::new(),
            notes: Vec::new(),
        })
        .clone()
}

#[cfg(test)]
mod tests;
