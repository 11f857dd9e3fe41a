use std::path::Path;

use super::*;
use crate::goregex::Budget;
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

/// `count` rules `rule-1`... whose regex is `pattern`; rule N's regex is on line 4N - 1.
fn rules_of(count: usize, pattern: &str) -> String {
    (1..=count).map(|i| format!("[[rules]]\nid = 'rule-{i}'\nregex = '''{pattern}'''\n\n")).collect()
}

#[test]
fn regexes_beyond_the_budget_are_an_error_on_the_rule_that_crosses_it() {
    // The config the gitleaks_config fuzz target ran out of memory on: each of these compiles
    // to about 1.6 MB, and with their search caches they need more than the budget.
    let e = error(&rules_of(40, r"[^\n]{0,1500}"));
    let line = e.line.expect("the line of the rule's regex");
    assert_eq!(line % 4, 3, "{e}");
    let rule = (line as usize + 1) / 4;
    assert!(rule < 40, "{e}");
    // Everything before that rule was charged, and it would have crossed the budget.
    assert_eq!(rule, CONFIG_BUDGET / charge(r"[^\n]{0,1500}") + 1, "{e}");
    assert!(e.to_string().starts_with(&format!("gitleaks.toml:{line}: rule-{rule}: regex: ")), "{e}");
    assert!(
        e.message.contains("would take more than the 256.0 MiB allowed (compiled size and search caches)"),
        "{e}"
    );
    assert!(e.message.ends_with(&format!("left after the {} regexes before it", rule - 1)), "{e}");
}

/// What one regex of `pattern` is charged.
fn charge(pattern: &str) -> usize {
    let mut budget = Budget::new(CONFIG_BUDGET);
    budget.compile(pattern).unwrap();
    budget.used()
}

fn with_budget(text: &str, bytes: usize) -> Result<Ruleset, ConfigError> {
    load_with_budget(text, Path::new("gitleaks.toml"), &LoadOptions::default(), bytes)
}

#[test]
fn every_kept_regex_is_charged_and_the_one_that_does_not_fit_is_named() {
    let small = r"key=\w{8}";
    let each = charge(small);
    // Room for three and a half.
    let bytes = each * 7 / 2;
    assert!(with_budget(&rules_of(3, small), bytes).is_ok());
    let e = with_budget(&rules_of(5, small), bytes).unwrap_err();
    assert_eq!(e.line, Some(15), "{e}");
    assert!(e.message.starts_with("rule-4: regex: the regexes of this config"), "{e}");
    assert!(e.message.ends_with("after the 3 regexes before it"), "{e}");

    // A path, and the joined patterns of a rule's allowlist or of a global allowlist, are
    // charged like a regex, and the error names where they are.
    let path_rule = format!("{}[[rules]]\nid = 'p'\npath = '''{small}'''\n", rules_of(3, small));
    let e = with_budget(&path_rule, bytes).unwrap_err();
    assert_eq!(e.line, Some(15), "{e}");
    assert!(e.message.starts_with("p: path: the regexes"), "{e}");
    let rule_allowlist = format!("{}[[rules.allowlists]]\nregexes = ['''{small}''']\n", rules_of(3, small));
    let e = with_budget(&rule_allowlist, bytes).unwrap_err();
    assert_eq!(e.line, Some(13), "{e}");
    assert!(e.message.starts_with("rule-3: [[rules.allowlists]] the regexes"), "{e}");
    let global_allowlist = format!("{}[[allowlists]]\npaths = ['''{small}''']\n", rules_of(3, small));
    let e = with_budget(&global_allowlist, bytes).unwrap_err();
    assert_eq!(e.line, Some(13), "{e}");
    assert!(e.message.starts_with("[[allowlists]] the regexes"), "{e}");

    // A pattern larger than all that is left stops compiling at that size; each allowlist
    // pattern is compiled alone first and must fit too, although it is not kept.
    let wide = r"[^\n]{0,1500}";
    let e = with_budget(&rules_of(1, wide), 256 << 10).unwrap_err();
    assert!(
        e.message.ends_with("alone compiles to more than the 0.2 MiB left after the 0 regexes before it"),
        "{e}"
    );
    let e = with_budget(&format!("[[allowlists]]\nregexes = ['''{wide}''', 'x']\n"), 256 << 10).unwrap_err();
    assert!(e.message.contains("alone compiles to more than the 0.2 MiB left"), "{e}");
    // Invalid patterns are still reported as such.
    let e = with_budget("[[rules]]\nid = 'r'\nregex = '(unclosed'\n", bytes).unwrap_err();
    assert!(e.message.starts_with("r: regex: invalid regex \"(unclosed\""), "{e}");
}

#[test]
fn extended_configs_share_the_budget_and_built_in_rules_are_not_charged() {
    let dir = tempfile::tempdir().unwrap();
    let small = r"key=\w{8}";
    let base = dir.path().join("base.toml");
    std::fs::write(&base, rules_of(4, small).replace("rule-", "base-")).unwrap();
    let top = dir.path().join("top.toml");
    let text = format!("[extend]\npath = '{}'\n{}", base.display(), rules_of(4, small));
    let load = |bytes: usize| load_with_budget(&text, &top, &LoadOptions::default(), bytes);
    let each = charge(small);
    assert!(load(each * 8).is_ok());
    // The top config's four rules fit, and two of the base's: the third is named in its file.
    let e = load(each * 6 + each / 2).unwrap_err();
    assert_eq!((e.path.as_str(), e.line), (base.to_str().unwrap(), Some(11)), "{e}");
    assert!(e.message.starts_with("base-3: regex: "), "{e}");
    assert!(e.message.ends_with("after the 6 regexes before it"), "{e}");

    // The built-in rules (about 10 MB once all compiled) are the program's, not the config's.
    let mine = "[extend]\nuseDefault = true\n[[rules]]\nid = 'mine'\nregex = 'mine=\\w+'\n";
    assert!(with_budget(mine, each * 2).unwrap().rules.len() > 100);
}

#[test]
fn gitleaks_default_config_fits_in_half_the_budget() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites/gitleaks/config/gitleaks.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but {} is missing", path.display());
        eprintln!("skipped: {} not present (fresh clone without ../shared)", path.display());
        return;
    };
    let set = load_with_budget(&text, &path, &LoadOptions::default(), CONFIG_BUDGET / 2).unwrap();
    assert!(set.rules.len() > 200);
}
