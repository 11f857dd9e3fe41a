//! Secret detection for kubesecops.
//!
//! A [`Scanner`] runs a [`Ruleset`] over texts: one case-insensitive keyword pass
//! (Aho-Corasick over every rule's keywords) picks the rules worth running, each of those
//! rules' regexes runs once over the text, and what they match is kept when its entropy is
//! high enough and no allowlist covers it. Rulesets come from the built-in rules
//! ([`builtin::ruleset`]) or from a gitleaks configuration ([`config::load_file`]).
//!
//! Secrets never leave the engine in clear: a [`SecretMatch`] holds the secret redacted
//! (a few leading characters) and hashed, and [`Scanner::finding`] builds report findings
//! whose fingerprint uses that hash, so ignore files and baselines never hold a secret.
//!
//! Other sources plug in through [`Input`]: any text with the path findings should name. A
//! pass over Kubernetes manifests, for instance, decodes each `Secret` value, scans it, then
//! gives the object to [`Scanner::finding`] (so the fingerprint includes it) and sets the
//! finding's location to the line of the field.
//!
//! ```
//! use kubesecops_secrets::{builtin, Input, Scanner};
//!
//! let scanner = Scanner::new(builtin::ruleset());
//! let text = "token: ghp_FAKE0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p\n";
//! let found = scanner.scan(&Input::new("ci.yaml", text));
//! assert_eq!(scanner.rules()[found[0].rule].id, "KSO-SEC-github-pat");
//! assert_eq!(found[0].redacted, "ghp_****");
//! ```

pub mod allowlist;
pub mod builtin;
pub mod config;
pub mod git;
pub mod goregex;
pub mod k8s;
mod redact;
pub mod rule;
mod scanner;
pub mod walk;

pub use allowlist::{Allowlist, AllowlistSpec, Condition, RegexTarget};
pub use config::{load_file, load_file_with, ConfigError, LoadOptions};
pub use git::{scan_history, GitError, HistoryOutput, HistoryResult};
pub use redact::redact;
pub use rule::{shannon_entropy, Required, Rule, RuleRegex};
pub use scanner::{Input, Ruleset, Scanner, SecretMatch, ALLOW_MARKERS};
pub use walk::{
    discover, is_binary, scan_paths, scan_targets, FileResult, ScanOutput, Target, BINARY_SKIPPED,
};
