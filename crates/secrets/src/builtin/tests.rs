use std::collections::HashSet;

use super::*;
use crate::scanner::{Input, Scanner};

fn scanner() -> Scanner {
    Scanner::new(ruleset())
}

#[test]
fn at_least_a_hundred_rules_with_unique_prefixed_ids() {
    let ids: Vec<&str> = metas().map(|m| m.id).collect();
    assert!(ids.len() >= 100, "only {} built-in rules", ids.len());
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate rule ids");
    for id in ids {
        assert!(id.starts_with("KSO-SEC-"), "{id}");
        let slug = &id["KSO-SEC-".len()..];
        assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{id}");
    }
}

#[test]
fn every_rule_is_documented_in_the_fixed_outline() {
    for meta in metas() {
        assert!(!meta.title.is_empty(), "{}", meta.id);
        let mut at = 0;
        for section in
            ["## What it checks\n", "## Why it matters\n", "## Example\n", "## Fix\n", "## References\n"]
        {
            let found = meta.doc[at..].find(section).unwrap_or_else(|| panic!("{}: no {section:?}", meta.id));
            at += found + section.len();
        }
    }
}

#[test]
fn every_rule_has_keywords_and_compiles() {
    let set = ruleset();
    for rule in &set.rules {
        assert!(!rule.keywords.is_empty(), "{}: built-in rules need keywords for the prefilter", rule.id);
        assert!(rule.secret_group <= rule.group_count(), "{}", rule.id);
        // Built-in allowlists compile at first use: a pattern that does not compile would
        // panic in a scan, so every one is compiled here.
        rule.allowlists.iter().for_each(Allowlist::compile_all);
    }
    set.allowlists.iter().for_each(Allowlist::compile_all);
}

#[test]
fn every_example_is_reported_by_its_rule() {
    let scanner = scanner();
    let mut missed = Vec::new();
    for rule in rules() {
        let found = scanner.scan(&Input::new("example.txt", rule.example));
        if !found.iter().any(|m| scanner.rules()[m.rule].id == rule.meta.id) {
            let others: Vec<&str> = found.iter().map(|m| scanner.rules()[m.rule].id.as_str()).collect();
            missed.push(format!("{} (found instead: {others:?})", rule.meta.id));
        }
    }
    assert!(missed.is_empty(), "examples not reported by their rule: {missed:#?}");
}

#[test]
fn every_negative_is_not_reported_by_its_rule() {
    let scanner = scanner();
    let reported: Vec<&str> = rules()
        .filter(|rule| {
            let found = scanner.scan(&Input::new("negative.txt", rule.negative));
            found.iter().any(|m| scanner.rules()[m.rule].id == rule.meta.id)
        })
        .map(|rule| rule.meta.id)
        .collect();
    assert!(reported.is_empty(), "negatives reported by their rule: {reported:?}");
}

#[test]
fn examples_are_obviously_fake() {
    // Examples ship in the repository and in generated docs: none may look like a live key.
    // `ZmFrZ` is base64 for `fake`.
    let markers =
        ["FAKE", "fake", "Fake", "ZmFrZ", "0123456789", "1234567890", "QPZRY9X8", "a1B2c3", "1a2b3c"];
    for rule in rules() {
        assert!(
            markers.iter().any(|m| rule.example.contains(m)),
            "{}: example does not look fake",
            rule.meta.id
        );
    }
}

#[test]
fn lookup_by_id_and_gitleaks_alias() {
    assert_eq!(find("KSO-SEC-github-pat").map(|r| r.meta.id), Some("KSO-SEC-github-pat"));
    assert_eq!(find("github-pat").map(|r| r.meta.id), Some("KSO-SEC-github-pat"));
    assert_eq!(find("generic-api-key").map(|r| r.meta.id), Some("KSO-SEC-generic-api-key"));
    assert!(find("no-such-rule").is_none());
}

#[test]
fn placeholders_and_lock_files_are_allowed_globally() {
    let scanner = scanner();
    assert!(scanner
        .scan(&Input::new("app.env", "GITHUB_TOKEN=${GITHUB_TOKEN}\npassword: changeme\n"))
        .is_empty());
    let token = rules().find(|r| r.meta.id == "KSO-SEC-github-pat").map(|r| r.example).unwrap_or_default();
    assert!(!scanner.scan(&Input::new("src/app.env", token)).is_empty());
    assert!(scanner.scan(&Input::new("web/node_modules/x/index.js", token)).is_empty());
    assert!(scanner.scan(&Input::new("package-lock.json", token)).is_empty());
}

#[test]
fn password_file_paths_are_not_passwords() {
    let scanner = scanner();
    let paths = "DATABASE_PASSWORD_FILE: /var/run/secrets/web-db/password\npassword_file = ./config/db-password.txt\n";
    assert!(scanner.scan(&Input::new("app.env", paths)).is_empty());
    // A value that merely starts with a slash is still a password.
    let found = scanner.scan(&Input::new("app.env", "DB_PASSWORD: /Xq9#rT2vL8m\n"));
    let ids: Vec<&str> = found.iter().map(|f| scanner.rules()[f.rule].id.as_str()).collect();
    assert_eq!(ids, ["KSO-SEC-generic-password"]);
}
