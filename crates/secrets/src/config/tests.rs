use std::path::Path;

use super::*;
use crate::scanner::{Input, Scanner};

fn parse(text: &str) -> Result<Ruleset, ConfigError> {
    load(text, Path::new("gitleaks.toml"), &LoadOptions::default())
}

fn error(text: &str) -> ConfigError {
    parse(text).expect_err("config should be rejected")
}

#[test]
fn minimal_config_with_case_insensitive_keys() {
    let set = parse(
        "title = 't'\n[[rules]]\nID = 'tok'\nRegex = '''key=(\\w+)'''\nSECRETGROUP = 1\nentropy = '2.5'\nkeywords = ['KEY']\n",
    )
    .unwrap();
    assert_eq!(set.title, "t");
    let rule = &set.rules[0];
    assert_eq!((rule.id.as_str(), rule.secret_group, rule.entropy), ("tok", 1, 2.5));
    assert_eq!(rule.keywords, ["key"]);
}

#[test]
fn rules_are_validated_with_reasons_and_lines() {
    let e = error("[[rules]]\ndescription = 'd'\nregex = 'x'\n");
    assert!(e.message.starts_with("rule |id| is missing or empty, description: d"), "{e}");
    assert_eq!(e.line, Some(1));
    let e = error("title = 'x'\n\n[[rules]]\nid = 'r'\n");
    assert_eq!(e.message, "r: both |regex| and |path| are empty, this rule will have no effect");
    assert_eq!(e.line, Some(3));
    let e = error("[[rules]]\nid = 'r'\nregex = '(a)(b)'\nsecretGroup = 3\n");
    assert_eq!(e.message, "r: invalid regex secret group 3, max regex secret group 2");
    let e = error("[[rules]]\nid = 'r'\nregex = '(unclosed'\n");
    assert!(e.message.starts_with("r: regex: invalid regex \"(unclosed\""), "{e}");
    assert_eq!(e.line, Some(3));
    let e = error("[[rules]]\nid = 'r'\nentropy = 'high'\nregex = 'x'\n");
    assert!(e.message.contains("entropy: expected a number"), "{e}");
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let e = error("[[rules]]\nid = 'r'\nregex = 'x\n");
    assert_eq!(e.line, Some(3));
    assert!(e.to_string().starts_with("gitleaks.toml:3: "), "{e}");
}

#[test]
fn allowlists_are_validated() {
    let e = error("[[allowlists]]\ndescription = 'nothing'\n");
    assert_eq!(
        e.message,
        "[[allowlists]] must contain at least one check for: commits, paths, regexes, or stopwords"
    );
    let e = error("[[allowlists]]\nregexTarget = 'mtach'\nregexes = ['x']\n");
    assert!(e.message.contains("unknown allowlist |regexTarget| 'mtach'"), "{e}");
    let e = error("[[allowlists]]\ncondition = 'XOR'\nregexes = ['x']\n");
    assert!(e.message.contains("unknown allowlist |condition| 'XOR'"), "{e}");
    let e = error("[allowlist]\nregexes = ['a']\n[[allowlists]]\nregexes = ['b']\n");
    assert!(e.message.contains("cannot be used alongside"), "{e}");
    let e = error("[[rules]]\nid = 'r'\nregex = 'x'\n[rules.allowlist]\nregexes = ['a']\n[[rules.allowlists]]\nregexes = ['b']\n");
    assert!(e.message.starts_with("r: [rules.allowlist] is deprecated"), "{e}");
    let e = error(
        "[[rules]]\nid = 'r'\nregex = 'x'\n[[allowlists]]\ntargetRules = ['r', 'missing']\nregexes = ['a']\n",
    );
    assert_eq!(e.message, "[[allowlists]] target rule ID 'missing' does not exist");
    let e = error("[[rules]]\nid = 'r'\nregex = 'x'\n[[rules.required]]\nid = 'nope'\n");
    assert!(e.message.contains("rule ID 'nope' does not exist"), "{e}");
}

#[test]
fn old_and_targeted_allowlists_apply() {
    let set = parse(
        "[[rules]]\nid = 'a'\nregex = 'tok_\\w+'\n[[rules]]\nid = 'b'\nregex = 'key_\\w+'\n\
         [allowlist]\nstopwords = ['mock']\n",
    )
    .unwrap();
    let scanner = Scanner::new(set);
    assert!(scanner.scan(&Input::new("f", "tok_mock1 key_mock2")).is_empty());
    let set = parse(
        "[[rules]]\nid = 'a'\nregex = 'tok_\\w+'\n[[rules]]\nid = 'b'\nregex = 'key_\\w+'\n\
         [[allowlists]]\ntargetRules = ['a']\nregexes = ['fake']\n",
    )
    .unwrap();
    let scanner = Scanner::new(set);
    let found = scanner.scan(&Input::new("f", "tok_fake1 key_fake2"));
    assert_eq!(found.len(), 1);
    assert_eq!(scanner.rules()[found[0].rule].id, "b");
}

#[test]
fn extend_path_overrides_and_merges_two_levels_deep() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "base.toml",
        "[extend]\npath = 'base2.toml'\n[[rules]]\nid = 'aws'\ndescription = 'AWS key'\nregex = 'AKIA[A-Z0-9]{16}'\nkeywords = ['akia']\n\
         [[rules]]\nid = 'custom'\nregex = 'custom!'\n",
    );
    // Depth 2: its own extend is not followed, so the missing file does not matter.
    write("base2.toml", "[extend]\npath = 'missing.toml'\n[[rules]]\nid = 'deep'\nregex = 'deep!'\n");
    write(
        "top.toml",
        "[extend]\npath = 'base.toml'\ndisabledRules = ['custom']\n[[rules]]\nid = 'aws'\ndescription = 'Mine'\nkeywords = ['aws']\n",
    );
    let set = load_file(&dir.path().join("top.toml")).unwrap();
    let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["aws", "deep"]);
    let aws = &set.rules[0];
    assert_eq!(aws.description, "Mine");
    assert!(aws.regex.is_some(), "regex kept from the base");
    assert_eq!(aws.keywords, ["akia", "aws"]);

    write("bad.toml", "[extend]\npath = 'nowhere.toml'\n");
    let e = load_file(&dir.path().join("bad.toml")).unwrap_err();
    assert!(e.message.contains("nowhere.toml"), "{e}");
    write("both.toml", "[extend]\npath = 'base.toml'\nuseDefault = true\n");
    assert!(load_file(&dir.path().join("both.toml")).is_err());
}

#[test]
fn extend_default_uses_builtin_rules_by_gitleaks_alias() {
    let set = parse(
        "[extend]\nuseDefault = true\ndisabledRules = ['github-oauth']\n\
         [[rules]]\nid = 'generic-api-key'\n[[rules.allowlists]]\npaths = ['^legacy/']\n",
    )
    .unwrap();
    let generic =
        set.rules.iter().find(|r| r.id == "KSO-SEC-generic-api-key").expect("merged into the built-in rule");
    assert!(generic.allowlists.len() >= 2);
    assert!(set.rules.iter().any(|r| r.id == "KSO-SEC-github-pat"));
    assert!(!set.rules.iter().any(|r| r.id == "KSO-SEC-github-oauth-token"), "disabled by its alias");
    assert!(set.notes.is_empty(), "{:?}", set.notes);
    let set = parse("[extend]\nuseDefault = true\ndisabledRules = ['no-such-rule']\n").unwrap();
    assert_eq!(set.notes.len(), 1);
    assert!(set.notes[0].contains("no-such-rule"), "{:?}", set.notes);
    let e = error("[extend]\nuseDefault = true\n[[rules]]\n[[rules.allowlists]]\npaths = ['x']\n");
    assert!(e.message.starts_with("rule |id| is missing or empty"), "{e}");
}

#[test]
fn unreadable_file_is_an_error_naming_it() {
    let e = load_file(Path::new("/nonexistent/gitleaks.toml")).unwrap_err();
    assert_eq!(e.path, "/nonexistent/gitleaks.toml");
    assert!(e.message.starts_with("cannot read"));
}
