//! The `compare` operations of kube-bench test items and the sentence each one produces.
//!
//! The sentences are part of kube-bench's output format (`expected_result`), and dashboards
//! match on them, so they are reproduced word for word: `'<name>' is equal to '<value>'`,
//! `'<name>' is greater or equal to <value>` (numbers unquoted), and so on.

use regex::Regex;

/// Separator of list values (`--enable-admission-plugins=A,B`).
const LIST_SEPARATOR: char = ',';

/// Evaluates `op` on the value found (`found`) against the test's `expected` value.
///
/// `name` is what the sentence calls the setting (the flag, path or variable name).
/// Returns the sentence and the verdict. An unknown operation gives an empty sentence and
/// `false`, as in kube-bench.
pub fn compare(op: &str, found: &str, expected: &str, name: &str) -> (String, bool) {
    let (sentence, verdict) = match op {
        "eq" => (format!("'{name}' is equal to '{expected}'"), equal_loosely(found, expected)),
        "noteq" => (format!("'{name}' is not equal to '{expected}'"), !equal_loosely(found, expected)),
        "gt" | "gte" | "lt" | "lte" => {
            let (Some(a), Some(b)) = (parse_int(found), parse_int(expected)) else {
                return (format!("Invalid Number(s) used for comparison: '{found}' '{expected}'"), false);
            };
            match op {
                "gt" => (format!("'{name}' is greater than {expected}"), a > b),
                "gte" => (format!("'{name}' is greater or equal to {expected}"), a >= b),
                "lt" => (format!("'{name}' is lower than {expected}"), a < b),
                _ => (format!("'{name}' is lower or equal to {expected}"), a <= b),
            }
        }
        "has" => (format!("'{name}' has '{expected}'"), found.contains(expected)),
        "nothave" => (format!("'{name}' does not have '{expected}'"), !found.contains(expected)),
        "regex" => {
            let verdict = match Regex::new(expected) {
                Ok(re) => re.is_match(found),
                // kube-bench aborts on a bad pattern; one broken test must not stop the run.
                Err(_) => false,
            };
            (format!("'{name}' matched by regex expression '{expected}'"), verdict)
        }
        "valid_elements" => {
            let found_items = split_list(found);
            let allowed = split_list(expected);
            (
                format!("'{name}' contains valid elements from '{expected}'"),
                all_allowed(&found_items, &allowed),
            )
        }
        "bitmask" => {
            let Some(actual) = parse_octal(found) else {
                return (format!("Not numeric value - flag: {found}"), false);
            };
            let Some(most) = parse_octal(expected) else {
                return (format!("Not numeric value - flag: {expected}"), false);
            };
            (
                format!("{name} has permissions {found}, expected {expected} or more restrictive"),
                most & actual == actual,
            )
        }
        _ => return (String::new(), false),
    };
    (sentence, verdict)
}

/// Equality where `true`/`false` in any case equals the lower-case expected value.
fn equal_loosely(found: &str, expected: &str) -> bool {
    let lower = found.to_ascii_lowercase();
    if lower == "true" || lower == "false" {
        lower == expected
    } else {
        found == expected
    }
}

/// A decimal integer with surrounding whitespace allowed and an optional sign (Go's `Atoi`).
fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// An octal permission such as `644` or `0600` (Go's `ParseInt(s, 8, 64)`: no whitespace).
fn parse_octal(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    i64::from_str_radix(text, 8).ok()
}

/// Comma list with a trailing comma and blanks around items ignored; empty text is no items.
fn split_list(text: &str) -> Vec<&str> {
    let cleaned = text.trim().trim_end_matches(LIST_SEPARATOR);
    if cleaned.is_empty() {
        return Vec::new();
    }
    cleaned.split(LIST_SEPARATOR).map(str::trim).collect()
}

/// True when every found item is allowed; both empty is valid, exactly one empty is not.
fn all_allowed(found: &[&str], allowed: &[&str]) -> bool {
    match (found.is_empty(), allowed.is_empty()) {
        (true, true) => true,
        (true, false) | (false, true) => false,
        (false, false) => found.iter().all(|item| allowed.contains(item)),
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn equality_ignores_case_of_booleans_only() {
        assert_eq!(compare("eq", "TRUE", "true", "--x"), ("'--x' is equal to 'true'".into(), true));
        assert!(!compare("eq", "Value", "value", "--x").1);
        assert!(compare("noteq", "a", "b", "n").1);
    }

    #[test]
    fn numbers_are_compared_numerically_and_rejected_otherwise() {
        assert_eq!(compare("gte", "40", "30", "m"), ("'m' is greater or equal to 30".into(), true));
        assert!(!compare("lt", "40", "30", "m").1);
        assert_eq!(
            compare("gt", "x", "3", "m"),
            ("Invalid Number(s) used for comparison: 'x' '3'".into(), false)
        );
    }

    #[test]
    fn bitmask_accepts_more_restrictive_permissions() {
        assert_eq!(
            compare("bitmask", "600", "644", "permissions"),
            ("permissions has permissions 600, expected 644 or more restrictive".into(), true)
        );
        assert!(!compare("bitmask", "664", "644", "permissions").1);
        assert_eq!(compare("bitmask", "9", "644", "p"), ("Not numeric value - flag: 9".into(), false));
    }

    #[test]
    fn list_operations() {
        assert!(compare("valid_elements", "a,b,", "a,b,c", "l").1);
        assert!(!compare("valid_elements", "a,d", "a,b,c", "l").1);
        assert!(!compare("valid_elements", "", "a", "l").1);
        assert!(compare("has", "Node,RBAC", "RBAC", "m").1);
        assert!(compare("nothave", "Node,RBAC", "AlwaysAllow", "m").1);
        assert!(compare("regex", "1.12.7", r"^1\.12.*$", "v").1);
    }

    #[test]
    fn unknown_operation_fails_without_sentence() {
        assert_eq!(compare("blah", "a", "b", "n"), (String::new(), false));
    }
}
