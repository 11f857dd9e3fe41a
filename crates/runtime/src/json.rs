//! A small borrowed JSON tree, built for field extraction from audit events.
//!
//! Strings and numbers keep their source text: numbers are re-emitted exactly as written and
//! strings keep their escapes when the tree is serialised again, which is how the k8saudit
//! plugin (fastjson) renders nested values (`ka.req.binding.subjects`, `jevt.value[/a]`).
//! Decoding of escapes happens only when a string is compared or printed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Deepest nesting accepted; deeper input is rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 512;

/// A JSON string as written between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStr<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> JsonStr<'a> {
    /// The text between the quotes, escapes untouched.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The decoded string (borrowed when it has no escapes).
    pub fn decoded(&self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// Compares the decoded string with `other` without allocating in the common case.
    pub fn eq_str(&self, other: &str) -> bool {
        if self.escaped {
            unescape(self.raw) == other
        } else {
            self.raw == other
        }
    }
}

/// A parsed JSON value borrowing its text from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string.
    String(JsonStr<'a>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object, members in source order (duplicates kept; lookups take the first).
    Object(Vec<(JsonStr<'a>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The member `key` of an object (the first one when a key repeats).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k.eq_str(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows `keys`: object members by name and array elements by decimal index, as
    /// fastjson's `Get(keys...)` does.
    pub fn get_path(&self, keys: &[&str]) -> Option<&Json<'a>> {
        keys.iter().try_fold(self, |value, key| value.child(key))
    }

    /// One step of a path: a member of an object or an element of an array.
    pub fn child(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(_) => self.get(key),
            Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
    }

    /// The decoded string when this is a string.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        match self {
            Json::String(s) => Some(s.decoded()),
            _ => None,
        }
    }

    /// The elements when this is an array.
    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The value as the k8saudit plugin turns it into a field value: strings decoded, anything
    /// else serialised compactly.
    pub fn to_field_string(&self) -> Cow<'a, str> {
        match self {
            Json::String(s) => s.decoded(),
            Json::Number(n) => Cow::Borrowed(n),
            other => Cow::Owned(other.to_compact()),
        }
    }

    /// Compact serialisation, strings and numbers as written in the source.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    /// Appends the compact serialisation to `out`.
    pub fn write_compact(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => {
                out.push('"');
                out.push_str(s.raw);
                out.push('"');
            }
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(key.raw);
                    out.push_str("\":");
                    value.write_compact(out);
                }
                out.push('}');
            }
        }
    }

    /// Indented serialisation with two spaces, in the layout of Go's `json.Indent` (what the
    /// json plugin prints for `jevt.obj`).
    pub fn to_indented(&self) -> String {
        let mut out = String::new();
        self.write_indented(&mut out, 0);
        out
    }

    fn write_indented(&self, out: &mut String, depth: usize) {
        let newline = |out: &mut String, depth: usize| {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        };
        match self {
            Json::Array(items) if !items.is_empty() => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write_indented(out, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Object(members) if !members.is_empty() => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    out.push('"');
                    out.push_str(key.raw);
                    out.push_str("\": ");
                    value.write_indented(out, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
            other => other.write_compact(out),
        }
    }

    /// Resolves an RFC 6901 JSON pointer the way the json plugin does: a leading `/` is
    /// optional, `~1` and `~0` are unescaped, numeric tokens index arrays, and the empty
    /// pointer is the whole value.
    pub fn pointer(&self, pointer: &str) -> Option<&Json<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let path = pointer.strip_prefix('/').unwrap_or(pointer);
        let mut value = self;
        for token in path.split('/') {
            let key: Cow<'_, str> = if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            };
            value = value.child(&key)?;
        }
        Some(value)
    }
}

/// Where and why JSON text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct JsonError {
    /// Byte offset of the problem in the parsed text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses exactly one JSON value (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    let mut parser = Parser::new(text, 0);
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

/// Parses one JSON value starting at byte `start` of `text`; returns it and the offset just
/// after it. Leading whitespace is skipped.
pub fn parse_prefix(text: &str, start: usize) -> Result<(Json<'_>, usize), JsonError> {
    let mut parser = Parser::new(text, start);
    parser.skip_ws();
    let value = parser.value(0)?;
    Ok((value, parser.pos))
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Elements of the arrays being parsed, moved out in one exact-size allocation per array.
    items: Vec<Json<'a>>,
    /// Members of the objects being parsed, likewise.
    members: Vec<(JsonStr<'a>, Json<'a>)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, pos: usize) -> Parser<'a> {
        Parser { text, bytes: text.as_bytes(), pos, items: Vec::new(), members: Vec::new() }
    }

    fn error(&self, message: &str) -> JsonError {
        JsonError { offset: self.pos, message: message.to_string() }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("JSON nested too deeply"));
        }
        match self.bytes.get(self.pos) {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &str, value: Json<'a>) -> Result<Json<'a>, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Json<'a>, JsonError> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos > from
        };
        if !digits(self) {
            return Err(self.error("malformed number"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error("malformed number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error("malformed number"));
            }
        }
        Ok(Json::Number(&self.text[start..self.pos]))
    }

    /// A string. Like fastjson (the k8saudit plugin's parser), raw control characters inside
    /// strings are accepted.
    fn string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        let mut escaped = false;
        loop {
            let Some(i) = memchr::memchr2(b'"', b'\\', &self.bytes[self.pos..]) else {
                self.pos = self.bytes.len();
                return Err(self.error("unterminated string"));
            };
            self.pos += i;
            if self.bytes[self.pos] == b'"' {
                break;
            }
            escaped = true;
            self.pos += 2;
            if self.pos > self.bytes.len() {
                self.pos = self.bytes.len();
                return Err(self.error("unterminated string"));
            }
        }
        let raw = &self.text[start..self.pos];
        self.pos += 1;
        Ok(JsonStr { raw, escaped })
    }

    fn array(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        self.pos += 1;
        let base = self.items.len();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Json::Array(Vec::new()));
        }
        loop {
            self.skip_ws();
            let value = self.value(depth + 1)?;
            self.items.push(value);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(self.items.drain(base..).collect()));
                }
                _ => return Err(self.error("expected ',' or ']' in array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        self.pos += 1;
        let base = self.members.len();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Json::Object(Vec::new()));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key in object"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected ':' after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            self.members.push((key, value));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(self.members.drain(base..).collect()));
                }
                _ => return Err(self.error("expected ',' or '}' in object")),
            }
        }
    }
}

/// Decodes JSON string escapes on a best-effort basis: a malformed escape is kept as written
/// (fastjson does the same), lone surrogates become U+FFFD.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let mut chars = rest[1..].chars();
        let consumed = match chars.next() {
            Some('"') => push(&mut out, '"', 2),
            Some('\\') => push(&mut out, '\\', 2),
            Some('/') => push(&mut out, '/', 2),
            Some('b') => push(&mut out, '\u{8}', 2),
            Some('f') => push(&mut out, '\u{c}', 2),
            Some('n') => push(&mut out, '\n', 2),
            Some('r') => push(&mut out, '\r', 2),
            Some('t') => push(&mut out, '\t', 2),
            Some('u') => match hex4(&rest[2..]) {
                Some(high @ 0xD800..=0xDBFF) => {
                    let low = rest[6..].strip_prefix("\\u").and_then(hex4);
                    match low {
                        Some(low @ 0xDC00..=0xDFFF) => {
                            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            push(&mut out, char::from_u32(code).unwrap_or('\u{FFFD}'), 12)
                        }
                        _ => push(&mut out, '\u{FFFD}', 6),
                    }
                }
                Some(code) => push(&mut out, char::from_u32(code).unwrap_or('\u{FFFD}'), 6),
                None => push(&mut out, '\\', 1),
            },
            _ => push(&mut out, '\\', 1),
        };
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    out
}

fn push(out: &mut String, c: char, consumed: usize) -> usize {
    out.push(c);
    consumed
}

fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(digits, 16).ok()
    } else {
        None
    }
}

/// Writes `text` as a JSON string literal (with quotes) into `out`.
pub fn write_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reserialises_compactly_keeping_source_text() {
        let text = r#" { "a" : [1, 2.50, -3e+2], "b": {"c": "x\"y", "d": null}, "e": true } "#;
        let value = parse(text).unwrap();
        assert_eq!(value.to_compact(), r#"{"a":[1,2.50,-3e+2],"b":{"c":"x\"y","d":null},"e":true}"#);
        assert_eq!(value.get_path(&["b", "c"]).unwrap().as_str().unwrap(), "x\"y");
        assert_eq!(value.get_path(&["a", "1"]).unwrap().to_field_string(), "2.50");
    }

    #[test]
    fn indents_like_go() {
        let value = parse(r#"{"a":[1,{}],"b":[],"c":{"d":"e"}}"#).unwrap();
        assert_eq!(
            value.to_indented(),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": [],\n  \"c\": {\n    \"d\": \"e\"\n  }\n}"
        );
    }

    #[test]
    fn pointer_unescapes_tokens_and_indexes_arrays() {
        let value = parse(r#"{"a/b":{"~c":[10,20]},"":1}"#).unwrap();
        assert_eq!(value.pointer("/a~1b/~0c/1").unwrap().to_field_string(), "20");
        assert_eq!(value.pointer("a~1b/~0c/0").unwrap().to_field_string(), "10");
        assert!(value.pointer("/a~1b/~0c/2").is_none());
        assert!(value.pointer("/missing").is_none());
        assert_eq!(value.pointer("").unwrap(), &value);
    }

    #[test]
    fn unescapes_best_effort() {
        assert_eq!(unescape(r"a\nb\u00e9\ud83d\ude00\q"), "a\nbé😀\\q");
        assert_eq!(unescape(r"\ud800x"), "\u{FFFD}x");
    }

    #[test]
    fn first_duplicate_key_wins() {
        let value = parse(r#"{"k":1,"k":2}"#).unwrap();
        assert_eq!(value.get("k").unwrap().to_field_string(), "1");
    }

    #[test]
    fn rejects_malformed_input_with_offsets() {
        for bad in ["{", "[1,]", r#"{"a" 1}"#, "tru", "01x", "\"abc", "{\"a\":1}}", "-"] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
        let err = parse(r#"{"a": nope}"#).unwrap_err();
        assert_eq!(err.offset, 6);
    }

    #[test]
    fn prefix_parsing_returns_the_end_offset() {
        let text = "{\"a\":1}\n[2]";
        let (first, end) = parse_prefix(text, 0).unwrap();
        assert_eq!(first.to_compact(), "{\"a\":1}");
        let (second, end2) = parse_prefix(text, end).unwrap();
        assert_eq!(second.to_compact(), "[2]");
        assert_eq!(end2, text.len());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(MAX_DEPTH + 10);
        assert!(parse(&text).is_err());
    }
}
