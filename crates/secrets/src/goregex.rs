//! Compiling Go RE2 patterns (as written in gitleaks configs) with the `regex` crate.
//!
//! The two dialects share almost everything. The differences that change what a pattern
//! matches, and that [`translate`] rewrites, are:
//!
//! - Perl classes are ASCII in Go (`\d` is `[0-9]`, `\w` is `[0-9A-Za-z_]`, `\s` is
//!   `[\t\n\f\r ]`, `\b` is an ASCII word boundary) but Unicode-aware in Rust.
//! - Go takes a `{` that does not start a valid repetition (`{x}`, `${VAR}`, `{,3}`) as a
//!   literal; Rust rejects it.
//! - Inside a class Go takes `[`, `&&`, `--` and `~~` literally; Rust reads nested classes
//!   and set operations there.
//! - Go's `\Q...\E` quoting and octal escapes (`\101`) do not exist in Rust, and `\<` `\>`
//!   are literals in Go but word-boundary assertions in Rust.

use regex::{Regex, RegexBuilder};

/// Compiled programs may be large for patterns such as `[\w.-]{0,50}?` under `(?i)`.
const SIZE_LIMIT: usize = 64 << 20;

/// A Go pattern that could not be compiled; the message is the regex crate's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex {pattern:?}: {message}")]
pub struct RegexError {
    /// The pattern as written in the config.
    pub pattern: String,
    /// Why it does not compile.
    pub message: String,
}

/// Compiles a Go RE2 pattern so that it matches what Go would match.
pub fn compile(pattern: &str) -> Result<Regex, RegexError> {
    let translated = translate(pattern);
    RegexBuilder::new(&translated).size_limit(SIZE_LIMIT).dfa_size_limit(SIZE_LIMIT).build().map_err(|err| {
        // The regex crate's message quotes the translated pattern; keep only its last line.
        let message = err.to_string();
        let reason = message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&message);
        RegexError {
            pattern: pattern.to_string(),
            message: reason.trim().trim_start_matches("error: ").to_string(),
        }
    })
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

/// Rewrites Go-only syntax into equivalent Rust syntax (see the module docs).
pub fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => i = translate_escape(&chars, i, &mut out, false),
            '[' => i = translate_class(&chars, i, &mut out),
            '{' => match repetition_end(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    i = end + 1;
                }
                None => {
                    out.push_str(r"\{");
                    i += 1;
                }
            },
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The index of the closing `}` when `chars[start]` opens a Go repetition
/// (`{n}`, `{n,}`, `{n,m}`).
fn repetition_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let digits_from = i;
    while chars.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    if i == digits_from {
        return None;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    (chars.get(i) == Some(&'}')).then_some(i)
}

/// Translates the escape at `chars[start]` (a backslash); returns the index after it.
fn translate_escape(chars: &[char], start: usize, out: &mut String, in_class: bool) -> usize {
    let Some(&next) = chars.get(start + 1) else {
        // A trailing backslash: let the regex crate report it.
        out.push('\\');
        return start + 1;
    };
    let class = |set: &str, negated: bool, out: &mut String| match (in_class, negated) {
        (true, false) => out.push_str(set),
        (_, true) => {
            out.push_str("[^");
            out.push_str(set);
            out.push(']');
        }
        (false, false) => {
            out.push('[');
            out.push_str(set);
            out.push(']');
        }
    };
    match next {
        'd' => class(DIGIT, false, out),
        'D' => class(DIGIT, true, out),
        'w' => class(WORD, false, out),
        'W' => class(WORD, true, out),
        's' => class(SPACE, false, out),
        'S' => class(SPACE, true, out),
        'b' if !in_class => out.push_str(r"(?-u:\b)"),
        'B' if !in_class => out.push_str(r"(?-u:\B)"),
        '<' | '>' => out.push(next),
        'Q' => {
            let mut i = start + 2;
            while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                out.push_str(&regex::escape(&chars[i].to_string()));
                i += 1;
            }
            return if i < chars.len() { i + 2 } else { i };
        }
        '0'..='7' => {
            // Go octal escape: up to three octal digits.
            let mut i = start + 1;
            let mut value = 0u32;
            while i < chars.len() && i < start + 4 && ('0'..='7').contains(&chars[i]) {
                value = value * 8 + chars[i].to_digit(8).unwrap_or(0);
                i += 1;
            }
            out.push_str(&format!(r"\x{{{value:X}}}"));
            return i;
        }
        _ => {
            out.push('\\');
            out.push(next);
        }
    }
    start + 2
}

/// Translates the class opened at `chars[start]`; returns the index after its `]`.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // A `]` right after the opening bracket is a literal in Go.
    if chars.get(i) == Some(&']') {
        out.push_str(r"\]");
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ']' => {
                out.push(']');
                return i + 1;
            }
            '\\' => i = translate_escape(chars, i, out, true),
            '[' if chars.get(i + 1) == Some(&':') => {
                // POSIX class `[:alpha:]`: same syntax in both dialects.
                let close =
                    (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                match close {
                    Some(j) => {
                        out.extend(&chars[i..=j + 1]);
                        i = j + 2;
                    }
                    None => {
                        out.push_str(r"\[");
                        i += 1;
                    }
                }
            }
            '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str(r"\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Unterminated class: the regex crate reports it.
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_like_go() {
        let re = compile(r"^\w+$").unwrap();
        assert!(re.is_match("abc_09"));
        assert!(!re.is_match("café"));
        let re = compile(r"^[\w.-]+$").unwrap();
        assert!(re.is_match("a.b-c"));
        assert!(!re.is_match("é"));
        let re = compile(r"^\D\W\S$").unwrap();
        assert!(re.is_match("aé!"));
        let re = compile(r"\bkey\b").unwrap();
        assert!(re.is_match("a key."));
        // In Go `é` is not a word character, so `key` is bounded on both sides.
        assert!(re.is_match("ékeyé"));
    }

    #[test]
    fn braces_that_are_not_repetitions_are_literals() {
        let re = compile(r"^\${(?:[A-Z_]+)}$").unwrap();
        assert!(re.is_match("${HOME}"));
        let re = compile(r"^\{\d{0,2}}$").unwrap();
        assert!(re.is_match("{12}"));
        assert!(compile(r"a{,3}").unwrap().is_match("a{,3}"));
        assert!(compile(r"^a{2,}$").unwrap().is_match("aaa"));
    }

    #[test]
    fn class_syntax_differences() {
        let re = compile(r"^[a[]+$").unwrap();
        assert!(re.is_match("a[a"));
        let re = compile(r"^[a&&b]+$").unwrap();
        assert!(re.is_match("a&b"));
        let re = compile(r"^[[:alnum:]]+$").unwrap();
        assert!(re.is_match("aZ9"));
        let re = compile(r"^[]a]+$").unwrap();
        assert!(re.is_match("]a"));
        let re = compile(r#"^['|\"|\s|\x60]+$"#).unwrap();
        assert!(re.is_match("'\"` |"));
    }

    #[test]
    fn quoting_octal_and_angle_escapes() {
        assert!(compile(r"^\Qa.b*\E$").unwrap().is_match("a.b*"));
        assert!(!compile(r"^\Qa.b\E$").unwrap().is_match("axb"));
        assert!(compile(r"^\101$").unwrap().is_match("A"));
        assert!(compile(r"^\<x\>$").unwrap().is_match("<x>"));
    }

    #[test]
    fn errors_name_the_pattern() {
        let err = compile(r"(unclosed").unwrap_err();
        assert_eq!(err.pattern, "(unclosed");
        assert!(!err.message.is_empty());
    }
}
