//! The built-in audit rules of kubesecops: a Falco rule file of our own, embedded in the
//! binary and used when no `--rules` file is given.
//!
//! Every rule carries its id as a tag (`KSO-Annn`); [`docs`] renders one documentation page per
//! rule from the rule file and the explanations kept beside it, `docs/runtime-rules/` holds
//! that output and a test keeps it current.
//!
//! ```
//! let rules = kubesecops_runtime::builtin::ruleset();
//! assert!(rules.rules().any(|r| r.name == "Binding to cluster-admin"));
//! ```

pub mod docs;

use crate::{RuleLoader, Ruleset};

/// The file name the built-in rules are loaded under (shown in notices and errors).
pub const FILE_NAME: &str = "<builtin>/kubesecops_audit_rules.yaml";

/// The text of the built-in rule file (Falco format, source `k8s_audit`).
pub const RULES_YAML: &str = include_str!("kubesecops_audit_rules.yaml");

/// A loader holding the built-in rules, to which more rule files may be added (for example
/// files that append exceptions to the built-in rules).
pub fn loader() -> RuleLoader {
    let mut loader = RuleLoader::new();
    // The file is part of the binary and its tests load it: it cannot fail at run time.
    loader.load_str(FILE_NAME, RULES_YAML).expect("the built-in rules load");
    loader
}

/// The file name the built-in syscall rules are loaded under.
pub const SYSCALL_FILE_NAME: &str = "<builtin>/kubesecops_syscall_rules.yaml";

/// The text of the built-in syscall rule file (Falco format, source `syscall`); every rule
/// carries its id as a tag (`KSO-Ynnn`).
pub const SYSCALL_RULES_YAML: &str = include_str!("kubesecops_syscall_rules.yaml");

/// A loader holding the built-in syscall rules, to which more rule files may be added.
pub fn syscall_loader() -> RuleLoader {
    let mut loader = RuleLoader::new();
    // Part of the binary and loaded by its tests: it cannot fail at run time.
    loader.load_str(SYSCALL_FILE_NAME, SYSCALL_RULES_YAML).expect("the built-in syscall rules load");
    loader
}

/// The built-in rules, compiled.
pub fn ruleset() -> Ruleset {
    loader().compile().expect("the built-in rules compile")
}

/// The kubesecops id of a rule: its tag of the form `KSO-A` (audit rules) or `KSO-Y` (syscall
/// rules) followed by digits.
pub fn rule_id<'a>(tags: impl IntoIterator<Item = &'a String>) -> Option<&'a str> {
    tags.into_iter().map(String::as_str).find(|t| {
        t.strip_prefix("KSO-A")
            .or_else(|| t.strip_prefix("KSO-Y"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod syscall_tests;
