//! Alpine package versions: `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-r#}`,
//! ordered as `apk version -t`.

use std::cmp::Ordering;

/// Kind of one version token; the declaration order is the order apk uses when one version
/// ends or changes shape before the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TokenKind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    RevisionNumber,
    End,
    Invalid,
}

/// Known `_suffix` words; the ones before `None` are pre-releases.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg"];
/// Rank of the implicit "no suffix" (index of `""` in [`SUFFIXES`]).
const SUFFIX_NONE: usize = 4;
/// Rank of `_p`, the last suffix.
const SUFFIX_P: usize = 9;

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: TokenKind,
    text: &'a str,
    number: u64,
    suffix: usize,
}

struct Tokenizer<'a> {
    rest: &'a str,
    current: Token<'a>,
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str) -> Self {
        let mut tokenizer = Self {
            rest: text,
            current: Token { kind: TokenKind::InitialDigit, text: "", number: 0, suffix: 0 },
        };
        tokenizer.digits();
        tokenizer
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let end = self.rest.bytes().position(|b| !keep(b)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn digits(&mut self) {
        let digits = self.take_while(|b| b.is_ascii_digit());
        self.current.text = digits;
        // Saturating keeps absurdly long numbers ordered instead of wrapping.
        self.current.number =
            digits.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')));
        if digits.is_empty() {
            self.current.kind = TokenKind::Invalid;
        }
    }

    fn advance(&mut self) {
        use TokenKind::*;
        let kind = self.current.kind;
        let Some(&first) = self.rest.as_bytes().first() else {
            self.current.kind = End;
            return;
        };
        match first {
            b'a'..=b'z' if kind <= Digit => {
                self.current.text = &self.rest[..1];
                self.rest = &self.rest[1..];
                self.current.kind = Letter;
            }
            b'.' | b'0'..=b'9' if kind <= Digit || (first != b'.' && kind == Suffix) => {
                if first == b'.' {
                    self.rest = &self.rest[1..];
                }
                self.current.kind = if kind == Suffix { SuffixNumber } else { Digit };
                self.digits();
            }
            b'_' if kind <= SuffixNumber => {
                self.rest = &self.rest[1..];
                let word = self.take_while(|b| b.is_ascii_lowercase());
                self.current.text = word;
                match suffix_rank(word) {
                    Some(rank) => {
                        self.current.suffix = rank;
                        self.current.kind = Suffix;
                    }
                    None => self.current.kind = Invalid,
                }
            }
            b'~' if kind < CommitHash => {
                self.rest = &self.rest[1..];
                let hash = self.take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
                self.current.text = hash;
                self.current.kind = if hash.is_empty() { Invalid } else { CommitHash };
            }
            b'-' if kind < RevisionNumber && self.rest.starts_with("-r") => {
                self.rest = &self.rest[2..];
                self.current.kind = RevisionNumber;
                self.digits();
            }
            _ => self.current.kind = Invalid,
        }
    }
}

fn suffix_rank(word: &str) -> Option<usize> {
    if word == "p" {
        return Some(SUFFIX_P);
    }
    SUFFIXES.iter().position(|s| !s.is_empty() && *s == word)
}

fn compare_tokens(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        // A leading zero makes the component compare as a string, as in Gentoo.
        TokenKind::Digit if a.text.starts_with('0') || b.text.starts_with('0') => a.text.cmp(b.text),
        TokenKind::InitialDigit | TokenKind::Digit | TokenKind::SuffixNumber | TokenKind::RevisionNumber => {
            a.number.cmp(&b.number)
        }
        TokenKind::Letter => a.text.as_bytes()[0].cmp(&b.text.as_bytes()[0]),
        TokenKind::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.text.cmp(b.text),
    }
}

/// True when `text` is a valid apk version.
pub fn is_valid(text: &str) -> bool {
    let mut tokens = Tokenizer::new(text);
    while tokens.current.kind < TokenKind::End {
        tokens.advance();
    }
    tokens.current.kind == TokenKind::End
}

/// Compares two apk versions. Invalid versions still get an order (apk compares the valid
/// prefix, then falls back to the token shape), so this never fails.
pub fn compare(a: &str, b: &str) -> Ordering {
    compare_fuzzy(a, b, false)
}

/// Compares `a` with `b`; with `fuzzy`, `a` equals `b` when `b` is a prefix of it in whole
/// components (apk's `~` operator: `3.6.9 ~ 3.6`).
pub fn compare_fuzzy(a: &str, b: &str, fuzzy: bool) -> Ordering {
    let (mut ta, mut tb) = (Tokenizer::new(a), Tokenizer::new(b));
    while ta.current.kind == tb.current.kind && ta.current.kind < TokenKind::End {
        let order = compare_tokens(&ta.current, &tb.current);
        if order != Ordering::Equal {
            return order;
        }
        ta.advance();
        tb.advance();
    }
    let (ka, kb) = (ta.current.kind, tb.current.kind);
    if ka == kb || (kb == TokenKind::End && fuzzy) {
        return Ordering::Equal;
    }
    // Equal so far: the longer version is newer unless it continues with a pre-release suffix.
    if ka == TokenKind::Suffix && ta.current.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if kb == TokenKind::Suffix && tb.current.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    kb.cmp(&ka)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_suffixes_and_revisions() {
        assert_eq!(compare("1.2_alpha1", "1.2"), Ordering::Less);
        assert_eq!(compare("1.2_p1", "1.2"), Ordering::Greater);
        assert_eq!(compare("1.2-r1", "1.2"), Ordering::Greater);
        assert_eq!(compare("1.2.10", "1.2.9"), Ordering::Greater);
        assert_eq!(compare("1.2b", "1.2a"), Ordering::Greater);
        assert_eq!(compare("1.2_rc1-r3", "1.2_rc1-r3"), Ordering::Equal);
    }

    #[test]
    fn fuzzy_matches_prefixes() {
        assert_eq!(compare_fuzzy("3.6.9", "3.6", true), Ordering::Equal);
        assert_ne!(compare_fuzzy("3.7", "3.6", true), Ordering::Equal);
    }

    #[test]
    fn validates() {
        assert!(is_valid("1.2.3_pre2~abc123-r4"));
        assert!(!is_valid("1.2-r"));
        assert!(!is_valid("1.2_foo"));
        assert!(!is_valid(""));
    }
}
