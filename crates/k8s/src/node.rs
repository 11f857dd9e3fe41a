//! A YAML/JSON tree with positions, and a lenient multi-document parser.
//!
//! Kubernetes reads manifests with YAML 1.1 scalar rules (go-yaml v2 through
//! `sigs.k8s.io/yaml`), so plain `yes`/`no`/`on`/`off` are booleans here too. Scalars keep
//! their text and quoting; typing happens on access, so a quoted `"true"` stays a string
//! exactly as the API server would see it.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// A scalar as written: its text and whether it was plain (unquoted, not a block scalar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The scalar's content after unescaping.
    pub text: String,
    /// Plain scalars are typed (null, bool, number); quoted and block scalars are strings.
    pub plain: bool,
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key's text (complex keys are rendered as their YAML-ish text).
    pub key: String,
    /// Where the key is written: the "line of the field".
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar (string, number, bool or null, decided on access).
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<Entry>),
}

/// A node of the tree with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it is.
    pub value: Value,
}

static EMPTY_SEQ: [Node; 0] = [];
static EMPTY_MAP: [Entry; 0] = [];

impl Node {
    /// A plain null scalar at `pos`.
    pub fn null(pos: Pos) -> Node {
        Node { pos, value: Value::Scalar(Scalar { text: String::new(), plain: true }) }
    }

    /// The entry for `key` when this is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| same_key(&e.key, key)),
            _ => None,
        }
    }

    /// The value for `key` when this is a mapping; `None` for absent keys and explicit nulls.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value).filter(|n| !n.is_null())
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// Where the key `key` is written, or else where this node starts.
    pub fn key_pos(&self, key: &str) -> Pos {
        self.entry(key).map_or(self.pos, |e| e.key_pos)
    }

    /// The mapping's entries (empty for other nodes).
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &EMPTY_MAP,
        }
    }

    /// The sequence's items (empty for other nodes).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &EMPTY_SEQ,
        }
    }

    /// True for a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// True for a sequence.
    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq(_))
    }

    /// True for a plain `null`, `~` or empty scalar.
    pub fn is_null(&self) -> bool {
        match &self.value {
            Value::Scalar(s) => s.plain && is_null_text(&s.text),
            _ => false,
        }
    }

    /// The scalar's text for any non-null scalar (numbers and bools included, as written).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !(s.plain && is_null_text(&s.text)) => Some(&s.text),
            _ => None,
        }
    }

    /// The scalar as a string only when YAML types it as a string (quoted, or plain and not
    /// a null, bool or number).
    pub fn as_string(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !s.plain => Some(&s.text),
            Value::Scalar(s) => match resolve_plain(&s.text) {
                Plain::Str => Some(&s.text),
                _ => None,
            },
            _ => None,
        }
    }

    /// A plain boolean scalar (YAML 1.1 forms included, as Kubernetes reads them).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar(s) if s.plain => match resolve_plain(&s.text) {
                Plain::Bool(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }

    /// A plain integer scalar.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar(s) if s.plain => match resolve_plain(&s.text) {
                Plain::Int(i) => Some(i),
                Plain::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
                _ => None,
            },
            _ => None,
        }
    }

    /// The tree as JSON, with YAML typing applied (for policies and snapshots).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Scalar(s) if !s.plain => J::String(s.text.clone()),
            Value::Scalar(s) => match resolve_plain(&s.text) {
                Plain::Null => J::Null,
                Plain::Bool(b) => J::Bool(b),
                Plain::Int(i) => J::from(i),
                Plain::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
                Plain::Str => J::String(s.text.clone()),
            },
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                J::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect())
            }
        }
    }

    /// Number of nodes in this tree (this one included).
    pub fn node_count(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Seq(items) => items.iter().map(Node::node_count).sum(),
            Value::Map(entries) => entries.iter().map(|e| e.value.node_count()).sum(),
        }
    }
}

/// `a == b` for mapping keys, without a `memcmp` call for keys of up to 16 bytes (nearly
/// all of them). Rules look keys up many times per object, and the call was a large share
/// of a scan's time.
#[inline]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Loads that together cover every byte (they overlap when n is not a multiple of the
    // width).
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

fn word4(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(w)
}

fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(w)
}

fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

enum Plain {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// YAML 1.1 resolution of a plain scalar, as go-yaml v2 does it.
fn resolve_plain(text: &str) -> Plain {
    if is_null_text(text) {
        return Plain::Null;
    }
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Plain::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Plain::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Plain::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Plain::Str;
    }
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let int = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        i64::from_str_radix(digits, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Plain::Int(if neg { -i } else { i });
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    match (looks_float, cleaned.parse::<f64>()) {
        (true, Ok(f)) => Plain::Float(f),
        _ => Plain::Str,
    }
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root node; `None` for an empty document (only comments or whitespace).
    pub root: Option<Node>,
    /// Line where the document starts.
    pub line: u32,
}

/// A document that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column of the problem.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// Deepest nesting accepted; deeper documents are rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 256;
/// Most nodes one document may expand to through aliases (guards against "billion laughs").
pub const MAX_NODES: usize = 1_000_000;

/// Parses a YAML (or JSON) stream into documents. Each document is parsed on its own, so an
/// error in one is reported for that document and every other document is still returned.
pub fn parse_documents(text: &str) -> Vec<Result<Document, ParseError>> {
    parse_documents_with(text, true)
}

/// [`parse_documents`] with the full parser only, never the fast path for plain block YAML.
/// The two must give the same result for every input: differential tests and the fuzz target
/// compare them.
#[doc(hidden)]
pub fn parse_documents_full_parser(text: &str) -> Vec<Result<Document, ParseError>> {
    parse_documents_with(text, false)
}

/// How many documents of `text` the fast path builds on its own (the others go to the full
/// parser): for tests and benchmarks.
#[doc(hidden)]
pub fn fast_path_documents(text: &str) -> (usize, usize) {
    let chunks = split_documents(text);
    let fast = chunks.iter().filter(|c| crate::fast::parse(c.text, c.first_line).is_some()).count();
    (fast, chunks.len())
}

fn parse_documents_with(text: &str, fast: bool) -> Vec<Result<Document, ParseError>> {
    split_documents(text)
        .into_iter()
        .map(|chunk| {
            if fast {
                if let Some(root) = crate::fast::parse(chunk.text, chunk.first_line) {
                    return Ok(Document { root: root.filter(|r| !r.is_null()), line: chunk.first_line });
                }
            }
            parse_one(chunk.text, chunk.first_line)
                .map_err(|err| within_text(err, chunk.text, chunk.first_line))
        })
        .filter(|doc| !matches!(doc, Ok(Document { root: None, .. })))
        .collect()
}

/// saphyr ends the stream on a new line, so an error at the end of a text without a final
/// line break comes one line past the text: place it just after the last character instead.
fn within_text(mut err: ParseError, text: &str, first_line: u32) -> ParseError {
    // YAML breaks lines at LF, CRLF and a lone CR.
    let bytes = text.as_bytes();
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    let last = first_line.saturating_add(u32::try_from(breaks).unwrap_or(u32::MAX));
    if err.line > last {
        let tail = text.rsplit(['\n', '\r']).next().unwrap_or(text);
        err.line = last;
        err.column = u32::try_from(tail.chars().count()).unwrap_or(u32::MAX).saturating_add(1);
    }
    err
}

struct Chunk<'a> {
    text: &'a str,
    first_line: u32,
}

/// Splits a stream at `---` and `...` markers in column 0. A marker cannot occur in column 0
/// inside a block scalar, and inside a quoted scalar it is an error anyway, so a textual
/// split gives the same documents while isolating errors.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    let mut line_no = 1u32;
    let mut in_directives = false;
    // One vectorised pass finds the line ends; only lines starting with `-`, `.` or `%` can
    // be markers or directives, so most lines cost one byte comparison.
    let mut line_ends = memchr::memchr_iter(b'\n', bytes);
    while offset < bytes.len() {
        let next = line_ends.next().map_or(bytes.len(), |at| at + 1);
        let mut is_end = false;
        if matches!(bytes[offset], b'-' | b'.' | b'%') {
            let mut bare = &bytes[offset..next];
            while let [rest @ .., b'\n' | b'\r'] = bare {
                bare = rest;
            }
            let marker = |m: &[u8]| bare == m || (bare.starts_with(m) && matches!(bare[3], b' ' | b'\t'));
            let is_start = marker(b"---");
            is_end = marker(b"...");
            if is_start && !in_directives && offset > start {
                chunks.push(Chunk { text: &text[start..offset], first_line: start_line });
                start = offset;
                start_line = line_no;
            }
            if is_start {
                in_directives = false;
            } else if bare.starts_with(b"%") && offset == start {
                in_directives = true;
            }
        }
        offset = next;
        line_no += 1;
        if is_end {
            chunks.push(Chunk { text: &text[start..offset], first_line: start_line });
            start = offset;
            start_line = line_no;
        }
    }
    if start < text.len() {
        chunks.push(Chunk { text: &text[start..], first_line: start_line });
    }
    chunks
}

enum Frame {
    Seq { node_pos: Pos, anchor: usize, items: Vec<Node> },
    Map { node_pos: Pos, anchor: usize, entries: Vec<Entry>, pending_key: Option<(String, Pos)> },
}

struct Builder {
    first_line: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
}

impl Builder {
    fn pos(&self, span: &Span) -> Pos {
        Pos {
            line: (span.start.line() as u32).saturating_add(self.first_line - 1),
            column: span.start.col() as u32 + 1,
        }
    }

    fn error(&self, span: &Span, message: impl Into<String>) -> ParseError {
        let pos = self.pos(span);
        ParseError { line: pos.line, column: pos.column, message: message.into() }
    }

    /// Places a finished node into its parent (or as the root).
    fn push(&mut self, node: Node, span: &Span) -> Result<(), ParseError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match frame {
            Frame::Seq { items, .. } => items.push(node),
            Frame::Map { entries, pending_key, .. } => match pending_key.take() {
                None => {
                    let pos = node.pos;
                    let key = match node.value {
                        Value::Scalar(s) => s.text,
                        _ => serde_json::to_string(&node.to_json()).unwrap_or_default(),
                    };
                    *pending_key = Some((key, pos));
                }
                Some((key, key_pos)) => {
                    if key != "<<" && entries.iter().any(|e| e.key == key) {
                        return Err(self.error(span, format!("duplicate mapping key {key:?}")));
                    }
                    entries.push(Entry { key, key_pos, value: node });
                }
            },
        }
        Ok(())
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), ParseError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(
                self.error(span, format!("document expands to more than {MAX_NODES} nodes (alias bomb?)"))
            );
        }
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseError> {
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                self.count(1, &span)?;
                let node = Node {
                    pos: self.pos(&span),
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        plain: matches!(style, ScalarStyle::Plain),
                    }),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node, &span)?;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.count(1, &span)?;
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.error(&span, format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                let node_pos = self.pos(&span);
                self.stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { node_pos, anchor, items: Vec::new() }
                } else {
                    Frame::Map { node_pos, anchor, entries: Vec::new(), pending_key: None }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { node_pos, anchor, items }) => {
                        (Node { pos: node_pos, value: Value::Seq(items) }, anchor)
                    }
                    Some(Frame::Map { node_pos, anchor, entries, .. }) => {
                        (Node { pos: node_pos, value: Value::Map(apply_merge_keys(entries)) }, anchor)
                    }
                    None => return Err(self.error(&span, "unbalanced collection end")),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node, &span)?;
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(self.error(&span, "alias to an unknown anchor"));
                };
                let mut node = target.clone();
                self.count(node.node_count(), &span)?;
                node.pos = self.pos(&span);
                self.push(node, &span)?;
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
        Ok(())
    }
}

/// Resolves `<<` merge keys: entries of the merged mapping(s) that the mapping does not set.
fn apply_merge_keys(entries: Vec<Entry>) -> Vec<Entry> {
    if !entries.iter().any(|e| e.key == "<<") {
        return entries;
    }
    let mut own: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut merged: Vec<Entry> = Vec::new();
    for entry in entries {
        if entry.key != "<<" {
            own.push(entry);
            continue;
        }
        let sources: Vec<Node> = match entry.value.value {
            Value::Map(_) => vec![entry.value],
            Value::Seq(items) => items,
            Value::Scalar(_) => vec![],
        };
        for source in sources {
            if let Value::Map(src) = source.value {
                for e in src {
                    if !merged.iter().any(|m| m.key == e.key) {
                        merged.push(e);
                    }
                }
            }
        }
    }
    for m in merged {
        if !own.iter().any(|e| e.key == m.key) {
            own.push(m);
        }
    }
    own
}

/// Most re-indentation retries for one document (see [`reindent_for_go_yaml`]).
const MAX_REINDENT_RETRIES: usize = 64;

/// go-yaml (what kubectl and the API server use) accepts continuation lines of quoted scalars
/// and flow collections that are not indented past the enclosing block; saphyr rejects them.
/// Leading white space of such lines carries no meaning (it is folded away in quoted scalars
/// and ignored in flow collections), so indenting them changes no value and no line number.
/// Returns the text with the offending lines indented, or `None` when the error is another one.
fn reindent_for_go_yaml(text: &str, err: &ScanError) -> Option<String> {
    let info = err.info();
    if info.contains("tabs disallowed within this context") {
        return tabs_to_spaces_in_flow(text, err.marker().line().checked_sub(1)?);
    }
    let quoted = info.contains("invalid indentation in quoted scalar");
    if !quoted && !info.contains("invalid indentation in flow construct") {
        return None;
    }
    let marker = err.marker();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let first = marker.line().checked_sub(1)?;
    let target: Vec<usize> = if quoted {
        // The marker is the opening quote: indent every continuation line up to the closing one.
        let start: usize = text.char_indices().nth(marker.index()).map(|(b, _)| b)?;
        let quote = text[start..].chars().next()?;
        let mut end = None;
        let mut chars = text[start + quote.len_utf8()..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match (quote, c) {
                ('"', '\\') => {
                    chars.next();
                }
                ('\'', '\'') if chars.peek().map(|&(_, n)| n) == Some('\'') => {
                    chars.next();
                }
                (q, c) if c == q => {
                    end = Some(start + quote.len_utf8() + i);
                    break;
                }
                _ => {}
            }
        }
        let last = text[..end?].matches('\n').count();
        (first + 1..=last).collect()
    } else {
        vec![first]
    };
    let pad = " ".repeat(marker.col().max(1));
    for i in target {
        let line = lines.get_mut(i)?;
        line.insert_str(0, &pad);
    }
    Some(lines.concat())
}

/// go-yaml treats tabs as white space between the tokens of a flow collection, also at the
/// start of a continuation line; saphyr takes them for block indentation. When line `index`
/// (0-based) lies inside a flow collection, its leading tabs become spaces: one character
/// each, so columns stay the same. `None` outside flow collections (an error there too).
fn tabs_to_spaces_in_flow(text: &str, index: usize) -> Option<String> {
    let start = text.split_inclusive('\n').take(index).map(str::len).sum::<usize>();
    let line = text[start..].split_inclusive('\n').next()?;
    let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
    if !line[..indent_len].contains('\t') {
        return None;
    }
    // Flow depth at the start of the line: brackets outside quotes and comments.
    let mut depth = 0usize;
    let mut chars = text[..start].chars().peekable();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\n') if quote.is_none() => comment = false,
            _ if comment => {}
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some('\''), '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'')
                if depth > 0 || matches!(previous, ' ' | ':' | '-' | '\n' | '[' | '{' | ',') =>
            {
                quote = Some(c)
            }
            (None, '#') if matches!(previous, ' ' | '\t' | '\n') => comment = true,
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    if depth == 0 || quote.is_some() {
        return None;
    }
    let fixed: String = line[..indent_len].chars().map(|_| ' ').collect();
    Some(format!("{}{fixed}{}", &text[..start], &text[start + indent_len..]))
}

fn parse_one(text: &str, first_line: u32) -> Result<Document, ParseError> {
    let mut current = std::borrow::Cow::Borrowed(text);
    for _ in 0..MAX_REINDENT_RETRIES {
        match parse_one_exact(&current, first_line) {
            Err((err, Some(scan))) => match reindent_for_go_yaml(&current, &scan) {
                Some(fixed) => current = std::borrow::Cow::Owned(fixed),
                None => return Err(err),
            },
            other => return other.map_err(|(err, _)| err),
        }
    }
    parse_one_exact(&current, first_line).map_err(|(err, _)| err)
}

/// Parses one document; a scanner error is returned with the raw error for re-indentation.
fn parse_one_exact(text: &str, first_line: u32) -> Result<Document, (ParseError, Option<ScanError>)> {
    let mut builder =
        Builder { first_line, stack: Vec::new(), anchors: HashMap::new(), nodes: 0, root: None };
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e: ScanError| {
            let err = ParseError {
                line: (e.marker().line() as u32).saturating_add(first_line - 1),
                column: e.marker().col() as u32 + 1,
                message: e.info().to_string(),
            };
            (err, Some(e))
        })?;
        if let Event::DocumentStart(_) = event {
            documents += 1;
            if documents > 1 {
                return Err((builder.error(&span, "unexpected second document in one chunk"), None));
            }
        }
        builder.on_event(event, span).map_err(|e| (e, None))?;
    }
    let root = builder.root.filter(|root| !root.is_null());
    Ok(Document { root, line: first_line })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-by-line form of `split_documents`, kept as its oracle.
    fn split_by_lines(text: &str) -> Vec<(String, u32)> {
        let (mut chunks, mut start, mut start_line, mut offset, mut line_no, mut in_directives) =
            (Vec::new(), 0, 1, 0, 1, false);
        for line in text.split_inclusive('\n') {
            let bare = line.trim_end_matches(['\n', '\r']);
            let is_start = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
            let is_end = bare == "..." || bare.starts_with("... ") || bare.starts_with("...\t");
            if is_start && !in_directives && offset > start {
                chunks.push((text[start..offset].to_string(), start_line));
                (start, start_line) = (offset, line_no);
            }
            if is_start {
                in_directives = false;
            } else if bare.starts_with('%') && offset == start {
                in_directives = true;
            }
            offset += line.len();
            line_no += 1;
            if is_end {
                chunks.push((text[start..offset].to_string(), start_line));
                (start, start_line) = (offset, line_no);
            }
        }
        if start < text.len() {
            chunks.push((text[start..].to_string(), start_line));
        }
        chunks
    }

    #[test]
    fn documents_split_at_markers_as_line_by_line_splitting_does() {
        let lines = [
            "---",
            "--- ",
            "---\t#c",
            "---x",
            "--",
            "----",
            "...",
            "... ",
            "...x",
            "..",
            "%YAML 1.2",
            "%TAG ! x",
            "a: 1",
            "- b",
            " ---",
            "-",
            ".",
            "%",
            "",
            "\r",
            "---\r",
            "...\r\r",
            "é: ü",
        ];
        // Every pair and triple of lines, with and without a final newline.
        for a in lines {
            for b in lines {
                for c in lines {
                    for end in ["", "\n", "\r\n"] {
                        let text = format!("{a}\n{b}\n{c}{end}");
                        let ours: Vec<(String, u32)> = split_documents(&text)
                            .iter()
                            .map(|c| (c.text.to_string(), c.first_line))
                            .collect();
                        assert_eq!(ours, split_by_lines(&text), "{text:?}");
                    }
                }
            }
        }
        assert!(split_documents("").is_empty());
    }

    #[test]
    fn keys_compare_equal_exactly_when_their_bytes_do() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "acc",
            "name",
            "nama",
            "image",
            "images",
            "securityContext",
            "securityContexu",
            "xecurityContext",
            "runAsNonRoot",
            "allowPrivilegeEscalation",
            "allowPrivilegeEscalatioN",
            "0123456789abcdef",
            "0123456789abcdeF",
            "é",
            "ée",
        ];
        for a in words {
            for b in words {
                assert_eq!(same_key(a, b), a == b, "{a:?} {b:?}");
            }
        }
        // Every length, with a difference at every position.
        for n in 0..24 {
            let a: String = (0..n).map(|i| char::from(b'a' + i as u8)).collect();
            assert!(same_key(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone().into_bytes();
                b[at] = b'Z';
                assert!(!same_key(&a, std::str::from_utf8(&b).unwrap()), "{n} {at}");
            }
        }
    }

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text);
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0).unwrap().root.unwrap()
    }

    #[test]
    fn positions_are_one_based_and_keys_are_tracked() {
        let root = one("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: x\n");
        assert_eq!(root.pos, Pos { line: 1, column: 1 });
        let c = &root.path(&["spec", "containers"]).unwrap().items()[0];
        assert_eq!(c.pos.line, 5);
        assert_eq!(c.key_pos("image"), Pos { line: 6, column: 5 });
    }

    #[test]
    fn scalars_are_typed_on_access() {
        let root = one("a: true\nb: \"true\"\nc: 0755\nd: yes\ne: ~\nf: 1.5\ng: text\n");
        assert_eq!(root.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(root.get("b").unwrap().as_bool(), None);
        assert_eq!(root.get("b").unwrap().as_string(), Some("true"));
        assert_eq!(root.get("c").unwrap().as_i64(), Some(0o755));
        assert_eq!(root.get("d").unwrap().as_bool(), Some(true));
        assert!(root.get("e").is_none());
        assert!(root.entry("e").unwrap().value.is_null());
        assert_eq!(root.get("f").unwrap().to_json(), serde_json::json!(1.5));
        assert_eq!(root.get("g").unwrap().as_string(), Some("text"));
    }

    #[test]
    fn a_broken_document_does_not_hide_the_others() {
        let docs = parse_documents("a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n");
        assert_eq!(docs.len(), 3);
        assert!(docs[0].is_ok());
        let err = docs[1].as_ref().unwrap_err();
        assert!(err.line >= 3, "{err:?}");
        let last = docs[2].as_ref().unwrap();
        assert_eq!(last.root.as_ref().unwrap().entries()[0].key_pos.line, 6);
    }

    #[test]
    fn errors_at_the_end_of_the_input_are_on_its_last_line() {
        // saphyr ends the stream on a new line, so an error at the end of a text without a
        // final line break came one line past the end.
        let at = |text: &str| {
            let err = parse_documents(text).into_iter().find_map(Result::err).expect("an error");
            (err.line, err.column)
        };
        assert_eq!(at("a: ["), (1, 5));
        assert_eq!(at("- a\n b)\ns"), (3, 2));
        assert_eq!(at("x: 1\n---\na: [é"), (3, 6));
        assert_eq!(at("a: [\r"), (2, 1));
        assert_eq!(at("a: [\n"), (2, 1));
    }

    #[test]
    fn json_and_flow_style_parse() {
        let root = one("{\n  \"kind\": \"Pod\",\n  \"spec\": {\"hostPID\": true}\n}\n");
        assert_eq!(root.path(&["spec", "hostPID"]).unwrap().as_bool(), Some(true));
        assert_eq!(root.key_pos("spec").line, 3);
    }

    #[test]
    fn merge_keys_and_aliases() {
        let root = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        let d = root.get("derived").unwrap();
        assert_eq!(d.get("x").unwrap().as_i64(), Some(1));
        assert_eq!(d.get("y").unwrap().as_i64(), Some(3));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_errors() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse_documents(&bomb)[0].as_ref().unwrap_err().message.contains("alias"));
        let deep = "[".repeat(10_000);
        assert!(parse_documents(&deep)[0].is_err());
    }

    #[test]
    fn continuation_lines_go_yaml_accepts() {
        let root = one("a:\n  b: \"first\n  second\"\n  c: 'x\n  y'\nd: [\n    1,\n  2]\ne: 3\n");
        assert_eq!(root.path(&["a", "b"]).unwrap().as_str(), Some("first second"));
        assert_eq!(root.path(&["a", "c"]).unwrap().as_str(), Some("x y"));
        assert_eq!(root.get("d").unwrap().items().len(), 2);
        assert_eq!(root.key_pos("e").line, 9, "lines are unchanged");
        let still_bad = parse_documents("a: \"never closed\nb: 1\n");
        assert!(still_bad[0].is_err());
    }

    #[test]
    fn tabs_at_line_start_inside_flow_collections() {
        let root = one("a:\n  b:\n    [\n      \"x\",\n\t      \"y\",\n    ]\nc: 1\n");
        let items: Vec<_> = root.path(&["a", "b"]).unwrap().items().iter().filter_map(Node::as_str).collect();
        assert_eq!(items, ["x", "y"]);
        assert_eq!(root.path(&["a", "b"]).unwrap().items()[1].pos, Pos { line: 5, column: 8 });
        assert_eq!(root.key_pos("c").line, 7);
        // In block context a tab is still not indentation.
        assert!(parse_documents("a:\n\tb: 1\n")[0].is_err());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_documents("a: 1\na: 2\n").remove(0).unwrap_err();
        assert!(err.message.contains("duplicate"), "{err}");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn empty_documents_are_dropped() {
        assert!(parse_documents("# only a comment\n---\n---\n").is_empty());
        assert_eq!(parse_documents("---\na: 1\n...\n---\nb: 2\n").len(), 2);
    }
}
