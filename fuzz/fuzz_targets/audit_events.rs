//! The runtime crate's own JSON reader, checked against serde_json, and the audit-event and
//! syscall-capture readers built on it. For any text:
//! - whatever serde_json accepts, `json::parse` accepts with the same values (strings
//!   decoded, numbers equal, members in order with duplicates kept);
//! - whatever `json::parse` accepts beyond that must be one of its documented leniencies (raw
//!   control characters and unknown escapes in strings, lone surrogates, leading zeros,
//!   numbers out of f64 range, nesting deeper than serde_json's limit);
//! - a parsed value serialised compactly or indented parses back to the same value;
//! - reading the text as an audit stream (documents, events, the built-in rules) and each
//!   line as a syscall capture line never panics, and error lines and columns are in the text.
#![no_main]

use std::fmt;
use std::sync::OnceLock;

use kubesecops_runtime::json::{self, Json};
use kubesecops_runtime::{builtin, event, Matching, Ruleset, SyscallEvent};
use libfuzzer_sys::fuzz_target;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// serde_json's view of a value, keeping members in order and duplicates (as `Json` does).
#[derive(Debug)]
enum Tree {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tree, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Tree>()? {
            members.push((key, value));
        }
        Ok(Tree::Object(members))
    }
}

/// Numbers compare by value: serde_json's float parsing (without its `float_roundtrip`
/// feature) may differ from Rust's correctly rounded one by an ulp or so.
fn same_number(text: &str, theirs: f64) -> bool {
    let ours: f64 = text.parse().expect("a JSON number is a Rust float");
    let diff = (ours - theirs).abs();
    ours == theirs || diff <= ours.abs().max(theirs.abs()) * 4.0 * f64::EPSILON || diff <= f64::MIN_POSITIVE
}

fn assert_same(ours: &Json<'_>, theirs: &Tree, text: &str) {
    match (ours, theirs) {
        (Json::Null, Tree::Null) => {}
        (Json::Bool(a), Tree::Bool(b)) => assert_eq!(a, b),
        (Json::Number(a), Tree::Number(b)) => assert!(same_number(a, *b), "number {a} vs {b} in {text:?}"),
        (Json::String(a), Tree::String(b)) => assert_eq!(a.decoded(), b.as_str(), "string in {text:?}"),
        (Json::Array(a), Tree::Array(b)) => {
            assert_eq!(a.len(), b.len(), "array length in {text:?}");
            for (x, y) in a.iter().zip(b) {
                assert_same(x, y, text);
            }
        }
        (Json::Object(a), Tree::Object(b)) => {
            assert_eq!(a.len(), b.len(), "member count in {text:?}");
            for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                assert_eq!(ka.decoded(), kb.as_str(), "key in {text:?}");
                assert_same(va, vb, text);
            }
        }
        (a, b) => panic!("{a:?} parsed as {b:?} by serde_json in {text:?}"),
    }
}

/// Nesting depth of arrays and objects.
fn depth(value: &Json<'_>) -> usize {
    match value {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(members) => 1 + members.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// True when a string's raw text is strict JSON: no control characters, only the defined
/// escapes, surrogates paired (what serde_json requires of a `&str`).
fn strict_string(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    let hex4 = |at: usize| -> Option<u32> {
        let digits = raw.get(at..at + 4)?;
        digits.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u32::from_str_radix(digits, 16).ok())?
    };
    while i < bytes.len() {
        match bytes[i] {
            0..=0x1f => return false,
            b'\\' => match bytes.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => match hex4(i + 2) {
                    Some(0xD800..=0xDBFF) => {
                        let low = (raw.get(i + 6..i + 8) == Some("\\u")).then(|| hex4(i + 8)).flatten();
                        match low {
                            Some(0xDC00..=0xDFFF) => i += 12,
                            _ => return false,
                        }
                    }
                    Some(0xDC00..=0xDFFF) | None => return false,
                    Some(_) => i += 6,
                },
                _ => return false,
            },
            _ => i += 1,
        }
    }
    true
}

fn strict_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
    !leading_zero && text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// True when serde_json has no reason to reject the value.
fn strict(value: &Json<'_>) -> bool {
    match value {
        Json::Null | Json::Bool(_) => true,
        Json::Number(n) => strict_number(n),
        Json::String(s) => strict_string(s.raw()),
        Json::Array(items) => items.iter().all(strict),
        Json::Object(members) => members.iter().all(|(k, v)| strict_string(k.raw()) && strict(v)),
    }
}

fn builtin_rules() -> &'static (Ruleset, Ruleset) {
    static RULES: OnceLock<(Ruleset, Ruleset)> = OnceLock::new();
    RULES.get_or_init(|| {
        let audit = builtin::ruleset().with_matching(Matching::All);
        let syscall =
            builtin::syscall_loader().compile().expect("built-in syscall rules").with_matching(Matching::All);
        (audit, syscall)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    // Differential: serde_json against json::parse.
    let ours = json::parse(text);
    let theirs = serde_json::from_str::<Tree>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_same(a, b, text),
        (Err(e), Ok(_)) => panic!("serde_json accepts {text:?}, json::parse rejects it: {e}"),
        (Ok(a), Err(e)) => {
            // serde_json's recursion limit is 128 levels.
            assert!(
                depth(a) >= 127 || !strict(a),
                "json::parse accepts {text:?} and nothing in it is lenient, but serde_json rejects it: {e}"
            );
        }
        (Err(_), Err(_)) => {}
    }
    if let Ok(value) = &ours {
        let compact = value.to_compact();
        assert_eq!(json::parse(&compact).as_ref(), Ok(value), "compact form {compact:?} of {text:?}");
        let indented = value.to_indented();
        assert_eq!(json::parse(&indented).as_ref(), Ok(value), "indented form {indented:?} of {text:?}");
        let _ = value.to_field_string();
        let _ = value.pointer(text);
    }

    // Audit streams: documents, events, built-in rules.
    let (audit_rules, syscall_rules) = builtin_rules();
    let lines = text.lines().count().max(1);
    for doc in event::documents(text) {
        match &doc.value {
            Ok(value) => {
                for found in event::events_in(value).into_iter().flatten() {
                    let _ = found.audit_id();
                    let _ = audit_rules.evaluate(&found);
                }
            }
            Err(err) => {
                assert!(err.line >= 1 && err.line <= lines + 1, "error line {} of {lines}", err.line);
                assert!(err.column >= 1, "error column {}", err.column);
            }
        }
    }

    // Syscall capture lines, and their round trip through the capture format.
    for line in text.lines().take(16) {
        if let Ok(event) = SyscallEvent::parse_line(line) {
            let _ = syscall_rules.evaluate_syscall(&event);
            let _ = event.proc.cmdline();
            let again = event.to_json_line();
            assert_eq!(SyscallEvent::parse_line(&again).as_ref(), Ok(&event), "capture line {again:?}");
        }
    }
});
