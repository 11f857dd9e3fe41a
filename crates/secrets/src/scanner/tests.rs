use std::sync::Arc;

use kubesecops_core::Severity;

use super::*;
use crate::allowlist::{AllowlistSpec, RegexTarget};
use crate::goregex;
use crate::rule::{Required, RuleRegex};

fn rule(id: &str, regex: &str, keywords: &[&str]) -> Rule {
    Rule {
        id: id.to_string(),
        description: format!("{id} found"),
        severity: Severity::High,
        regex: Some(RuleRegex::compiled(goregex::compile(regex).unwrap())),
        secret_group: 0,
        entropy: 0.0,
        path: None,
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        tags: Vec::new(),
        allowlists: Vec::new(),
        required: Vec::new(),
        skip_report: false,
        aliases: Vec::new(),
        meta: None,
    }
}

fn scanner(rules: Vec<Rule>) -> Scanner {
    Scanner::new(Ruleset { rules, ..Ruleset::default() })
}

fn allowlist(spec: AllowlistSpec) -> Allowlist {
    Allowlist::new(&spec).unwrap()
}

fn ids(s: &Scanner, text: &str) -> Vec<String> {
    s.scan(&Input::new("f.txt", text)).iter().map(|m| s.rules()[m.rule].id.clone()).collect()
}

#[test]
fn first_non_empty_group_or_the_chosen_group_is_the_secret() {
    let s = scanner(vec![rule("r", r"(a)?key=(\w+)", &[])]);
    let found = s.scan(&Input::new("f", "key=abcdefgh"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].redacted, "ab****");
    let mut chosen = rule("r", r"(key)=(\w+)", &[]);
    chosen.secret_group = 1;
    let s = scanner(vec![chosen]);
    assert_eq!(s.scan(&Input::new("f", "key=abcdefgh"))[0].redacted, "****", "group 1 is `key`, 3 chars");
}

#[test]
fn entropy_threshold_is_exclusive() {
    let mut r = rule("r", r"tok=(\w+)", &[]);
    r.entropy = 2.0;
    let s = scanner(vec![r]);
    assert!(s.scan(&Input::new("f", "tok=abcd")).is_empty(), "entropy of abcd is exactly 2.0");
    assert_eq!(s.scan(&Input::new("f", "tok=abcde")).len(), 1);
}

#[test]
fn keywords_gate_rules_case_insensitively() {
    let s = scanner(vec![rule("r", r"[0-9]{6}", &["pin"])]);
    assert!(ids(&s, "code 123456").is_empty());
    assert_eq!(ids(&s, "PIN 123456"), ["r"]);
}

#[test]
fn lines_and_columns_are_one_based_and_count_characters() {
    let s = scanner(vec![rule("r", r"tok_[a-z]{4}", &[])]);
    let found = s.scan(&Input::new("f", "first\nsécond tok_abcd\n"));
    assert_eq!((found[0].line, found[0].column), (Some(2), Some(8)));
    let found = s.scan(&Input::new("f", "tok_abcd"));
    assert_eq!((found[0].line, found[0].column), (Some(1), Some(1)));
}

#[test]
fn allow_markers_skip_the_line() {
    let s = scanner(vec![rule("r", r"tok_[a-z]{4}", &[])]);
    assert!(ids(&s, "x = tok_abcd # gitleaks:allow").is_empty());
    assert!(ids(&s, "x = tok_abcd // kubesecops:allow").is_empty());
    assert_eq!(ids(&s, "x = tok_abcd\n# kubesecops:allow").len(), 1);
}

#[test]
fn global_and_rule_allowlists_apply() {
    let mut r = rule("r", r"tok_(\w+)", &[]);
    r.allowlists.push(allowlist(AllowlistSpec {
        regex_target: RegexTarget::Line,
        regexes: vec!["^\\s*#".into()],
        ..AllowlistSpec::default()
    }));
    let s = Scanner::new(Ruleset {
        rules: vec![r],
        allowlists: vec![allowlist(AllowlistSpec {
            stopwords: vec!["MOCK".into()],
            ..AllowlistSpec::default()
        })],
        ..Ruleset::default()
    });
    assert!(ids(&s, "a = tok_mock1").is_empty(), "global stop word");
    assert!(ids(&s, "# a = tok_real1").is_empty(), "rule regex on the line");
    assert_eq!(ids(&s, "a = tok_real1"), ["r"]);
}

#[test]
fn global_path_allowlist_skips_the_file() {
    let s = Scanner::new(Ruleset {
        rules: vec![rule("r", r"tok_\w+", &[])],
        allowlists: vec![allowlist(AllowlistSpec {
            paths: vec![r"\.lock$".into()],
            ..AllowlistSpec::default()
        })],
        ..Ruleset::default()
    });
    assert!(s.scan(&Input::new("deps.lock", "tok_abc")).is_empty());
    assert_eq!(s.scan(&Input::new("deps.txt", "tok_abc")).len(), 1);
}

#[test]
fn generic_findings_give_way_to_specific_ones_on_the_same_line() {
    let s = scanner(vec![rule("generic-key", r"key=(\w+)", &[]), rule("vendor-token", r"vt_\w+", &[])]);
    assert_eq!(ids(&s, "key=vt_abcdef"), ["vendor-token"]);
    assert_eq!(ids(&s, "key=other1\nvt_abcdef"), ["generic-key", "vendor-token"]);
}

#[test]
fn path_rules() {
    let mut only_path = rule("p12", "", &[]);
    only_path.regex = None;
    only_path.path = Some(goregex::compile(r"(?i)\.p12$").unwrap());
    let mut both = rule("tf", r"password\s*=\s*(\S+)", &[]);
    both.path = Some(goregex::compile(r"\.tf$").unwrap());
    let s = scanner(vec![only_path, both]);
    let found = s.scan(&Input::new("certs/client.P12", ""));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, None);
    assert_eq!(s.scan(&Input::new("main.tf", "password = hunter22")).len(), 1);
    assert!(s.scan(&Input::new("main.js", "password = hunter22")).is_empty());
}

#[test]
fn composite_rules_need_their_parts_nearby() {
    let mut id = rule("key-id", r"kid_\w+", &[]);
    id.skip_report = true;
    let mut secret = rule("key-secret", r"ksec_\w+", &["ksec_"]);
    secret.required.push(Required { rule_id: "key-id".into(), within_lines: Some(1), within_columns: None });
    let s = scanner(vec![id, secret]);
    assert_eq!(ids(&s, "kid_one\nksec_two"), ["key-secret"]);
    assert!(ids(&s, "kid_one\n\n\nksec_two").is_empty(), "too far apart");
    assert!(ids(&s, "kid_one").is_empty(), "skipReport rules never report alone");
}

#[test]
fn findings_hold_the_secret_only_redacted_and_fingerprints_ignore_lines() {
    let s = scanner(vec![rule("r", r"tok_\w+", &[])]);
    let path: Arc<str> = Arc::from("app/config.env");
    let secret = "tok_s3cr3tVALUE";
    let first = s.scan(&Input::new(&path, &format!("X={secret}\n")));
    let moved = s.scan(&Input::new(&path, &format!("\n\nX={secret}\n")));
    let other = s.scan(&Input::new(&path, "X=tok_different\n"));
    let (a, b, c) = (
        s.finding(&first[0], &path, None),
        s.finding(&moved[0], &path, None),
        s.finding(&other[0], &path, None),
    );
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_ne!(a.location.line, b.location.line);
    for text in [format!("{a:?}"), format!("{:?}", first[0]), serde_json_like(&a)] {
        assert!(!text.contains("s3cr3tVALUE"), "secret leaked: {text}");
    }
    assert_eq!(a.message, "r found (tok****)");
}

/// The finding as reports show it (message, rule, location, fingerprint).
fn serde_json_like(f: &Finding) -> String {
    format!("{} {} {} {:?} {}", f.message, f.rule.id, f.location.path, f.location.line, f.fingerprint)
}

#[test]
fn config_file_itself_is_not_scanned() {
    let s = Scanner::new(Ruleset {
        rules: vec![rule("r", r"tok_\w+", &[])],
        skip_paths: vec!["gitleaks.toml".into()],
        ..Ruleset::default()
    });
    assert!(s.scan(&Input::new("gitleaks.toml", "tok_abc")).is_empty());
}

#[test]
fn the_regex_runs_again_on_the_match_like_gitleaks() {
    // Anchors see only the match on the second run: `^` matches at its start, so the group
    // is found even though the match is in the middle of a line.
    let s = scanner(vec![rule("r", r"(?:^|\s)(tok_\w+)", &[])]);
    let found = s.scan(&Input::new("f", "a tok_abcdef"));
    assert_eq!(
        found[0].redacted, "to****",
        "the group (10 characters), not the match with its leading space"
    );
}

#[test]
fn a_rule_without_description_is_titled_by_its_id() {
    let mut r = rule("internal-ticket", r"INT-[0-9]{6}", &[]);
    r.description.clear();
    let s = scanner(vec![r]);
    let path: Arc<str> = Arc::from("-");
    let found = s.scan(&Input::new(&path, "see INT-123456"));
    let finding = s.finding(&found[0], &path, None);
    assert_eq!(finding.message, "internal-ticket (IN****)");
    assert_eq!(finding.rule.title, "internal-ticket");
}

#[test]
fn nearby_required_matches_are_found_as_by_comparing_every_pair() {
    let raw = |line: Option<u32>, column: u32| Raw {
        rule: 0,
        secret: "",
        line,
        end_line: line,
        start_column: column,
        entropy: 0.0,
    };
    let lines = [None, Some(1), Some(2), Some(3), Some(5), Some(8), Some(u32::MAX)];
    let mut all: Vec<Raw> = lines.iter().flat_map(|&l| [raw(l, 1), raw(l, 7)]).collect();
    all.sort_by_key(|f| f.line.unwrap_or(0));
    // Every match alone, and all of them: the sorted search must agree with the pairwise one.
    let mut sets: Vec<&[Raw]> = (0..all.len()).map(|i| &all[i..=i]).collect();
    sets.push(&all);
    sets.push(&[]);
    let mut near = 0;
    for within_lines in [None, Some(0), Some(1), Some(2), Some(u32::MAX)] {
        for within_columns in [None, Some(0), Some(3), Some(6)] {
            let req = Required { rule_id: String::new(), within_lines, within_columns };
            for &line in &lines {
                for column in [1, 4, 7, 20] {
                    let primary = raw(line, column);
                    for found in &sets {
                        let pairwise = found.iter().any(|f| {
                            within_lines.is_none_or(|n| line.unwrap_or(0).abs_diff(f.line.unwrap_or(0)) <= n)
                                && within_columns.is_none_or(|n| column.abs_diff(f.start_column) <= n)
                        });
                        assert_eq!(any_near(&req, found, &primary), pairwise, "{req:?} {line:?}:{column}");
                        near += usize::from(pairwise);
                    }
                }
            }
        }
    }
    // Both verdicts occur.
    assert!(near > 0 && near < 5 * 4 * lines.len() * 4 * sets.len());
}
