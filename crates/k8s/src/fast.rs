//! A fast path for the block-YAML subset that manifests are almost always written in.
//!
//! `kubectl`, Helm and people write Kubernetes manifests as block mappings and sequences of
//! one-line scalars, with one-line flow collections (`drop: [ALL]`) and literal block scalars
//! (`script: |`). This module builds the [`Node`] tree for exactly that subset straight from
//! the text, without a token queue or events. Anything outside it (anchors, tags, multi-line
//! plain or quoted scalars, multi-line flow collections, folded scalars, tabs, CRLF, explicit
//! keys, duplicate or merge keys, odd indentation, ...) makes [`parse`] return `None`, and the
//! caller parses the document with the full parser instead. For every input it accepts, the
//! tree (values and positions) is the one the full parser builds: `tests/fast_path.rs` and the
//! `fast_path` fuzz target compare the two.

use crate::node::{Entry, Node, Pos, Scalar, Value, MAX_DEPTH};

/// Deepest nesting the fast path handles (deeper documents go to the full parser, which
/// reports the limit).
const FAST_MAX_DEPTH: usize = MAX_DEPTH / 2;
/// Longest key the fast path accepts (the full parser limits simple keys to 1024 characters).
const MAX_KEY_BYTES: usize = 1000;
/// Most nodes of one document on the fast path (the full parser's limit is higher).
const FAST_MAX_NODES: usize = 500_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Only spaces.
    Blank,
    /// Spaces, then `#`.
    Comment,
    /// Anything else.
    Content,
}

#[derive(Clone, Copy)]
struct Line {
    /// Byte offset of the line's first byte.
    start: usize,
    /// Byte offset of its end (the `\n`, or the end of the text).
    end: usize,
    /// Leading spaces.
    indent: usize,
    kind: Kind,
    /// Whether the line is ASCII (byte offsets are columns).
    ascii: bool,
}

/// Parses one document (the text between document markers, as `split_documents` cuts it).
/// `Some(None)` is an empty document; `None` means "not in the subset: use the full parser".
pub(crate) fn parse(text: &str, first_line: u32) -> Option<Option<Node>> {
    let lines = split_lines(text)?;
    let mut parser = Fast { text: text.as_bytes(), src: text, lines, cur: 0, first_line, nodes: 0 };
    let first = parser.next_content(0);
    if first == parser.lines.len() {
        return Some(None);
    }
    let line = parser.lines[first];
    let off = line.start + line.indent;
    let root = parser.node_at(first, off, -1, 0)?;
    if parser.cur != parser.lines.len() || parser.nodes > FAST_MAX_NODES {
        return None;
    }
    Some(Some(root))
}

/// Splits into lines and classifies them; `None` for text the fast path leaves alone
/// (control characters, tabs, CR, characters YAML treats specially, directives, a first
/// `---` line with content, a last line without a line break).
fn split_lines(text: &str) -> Option<Vec<Line>> {
    let bytes = text.as_bytes();
    if bytes.last() != Some(&b'\n') {
        return None;
    }
    let ascii = bytes.is_ascii();
    if !ascii
        && text.chars().any(|c| {
            matches!(c, '\u{80}'..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}')
        })
    {
        return None;
    }
    // Tabs, CR and other control characters are left to the full parser (one pass, no branches).
    if bytes.iter().fold(false, |bad, &b| bad | ((b < 0x20 && b != b'\n') || b == 0x7f)) {
        return None;
    }
    let mut lines = Vec::with_capacity(bytes.len() / 24 + 4);
    let mut start = 0;
    while start < bytes.len() {
        let end = start + text[start..].find('\n').unwrap_or(bytes.len() - start);
        let raw = &bytes[start..end];
        let indent = raw.iter().take_while(|&&b| b == b' ').count();
        let kind = match raw.get(indent) {
            None => Kind::Blank,
            Some(b'#') => Kind::Comment,
            Some(_) => Kind::Content,
        };
        let line_ascii = ascii || raw.is_ascii();
        lines.push(Line { start, end, indent, kind, ascii: line_ascii });
        start = end + 1;
    }
    // Document markers: a leading `---` (alone or before a comment) and a trailing `...`.
    for (i, line) in lines.iter_mut().enumerate() {
        let raw = &bytes[line.start..line.end];
        if line.indent == 0 && (raw.starts_with(b"---") || raw.starts_with(b"...")) {
            let rest = &raw[3..];
            let marker = rest.is_empty() || rest[0] == b' ';
            if !marker {
                continue;
            }
            let trimmed = trim_spaces(rest);
            if !(trimmed.is_empty() || trimmed[0] == b'#') {
                return None;
            }
            if raw[0] == b'-' && i != 0 {
                return None;
            }
            line.kind = Kind::Blank;
        } else if line.indent == 0 && raw.first() == Some(&b'%') {
            return None;
        }
    }
    Some(lines)
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().take_while(|&&b| b == b' ').count();
    let end = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b' ').count();
    if start >= end {
        &[]
    } else {
        &bytes[start..end]
    }
}

/// Bytes that cannot start a plain scalar (YAML's indicators).
fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

struct Fast<'t> {
    text: &'t [u8],
    src: &'t str,
    lines: Vec<Line>,
    /// The next content line to look at (`lines.len()` at the end).
    cur: usize,
    first_line: u32,
    nodes: usize,
}

impl Fast<'_> {
    /// The first content line at or after `from` (comments and blank lines skipped).
    fn next_content(&self, from: usize) -> usize {
        let mut i = from;
        while i < self.lines.len() && self.lines[i].kind != Kind::Content {
            i += 1;
        }
        i
    }

    /// The first non-blank line (comments count) at or after `from`.
    fn next_non_blank(&self, from: usize) -> usize {
        let mut i = from;
        while i < self.lines.len() && self.lines[i].kind == Kind::Blank {
            i += 1;
        }
        i
    }

    fn pos(&self, line: usize, off: usize) -> Pos {
        let l = self.lines[line];
        let column = if l.ascii { off - l.start } else { self.src[l.start..off].chars().count() };
        Pos { line: self.first_line + line as u32, column: column as u32 + 1 }
    }

    /// The text between two offsets (always at ASCII bytes or line ends, so at character
    /// boundaries; `None` would only send the document to the full parser).
    fn slice(&self, start: usize, end: usize) -> Option<&str> {
        self.src.get(start..end)
    }

    /// `start..end` without leading and trailing spaces.
    fn trim(&self, mut start: usize, mut end: usize) -> (usize, usize) {
        while start < end && self.text[start] == b' ' {
            start += 1;
        }
        while end > start && self.text[end - 1] == b' ' {
            end -= 1;
        }
        (start, end)
    }

    fn end(&self, line: usize) -> usize {
        self.lines[line].end
    }

    fn is_dash(&self, line: usize) -> bool {
        let l = self.lines[line];
        let off = l.start + l.indent;
        self.text[off] == b'-' && (off + 1 == l.end || self.text[off + 1] == b' ')
    }

    fn skip_spaces(&self, mut off: usize, end: usize) -> usize {
        while off < end && self.text[off] == b' ' {
            off += 1;
        }
        off
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= FAST_MAX_NODES).then_some(())
    }

    /// A block node starting at `off` on `line` (the first content of the node). `parent` is
    /// the indentation of the enclosing block collection (-1 at the root). Sets `cur` to the
    /// next content line after the node.
    fn node_at(&mut self, line: usize, off: usize, parent: isize, depth: usize) -> Option<Node> {
        if depth > FAST_MAX_DEPTH {
            return None;
        }
        let end = self.end(line);
        let b = self.text[off];
        if b == b'-' && (off + 1 == end || self.text[off + 1] == b' ') {
            return self.seq(line, off, false, depth);
        }
        if let Some(key) = self.key_at(line, off)? {
            return self.map(line, off, key, depth);
        }
        if parent < 0 && b != b'[' && b != b'{' {
            return None; // a scalar document: rare, left to the full parser
        }
        self.inline_value(line, off, parent, depth)
    }

    /// When `off` starts a mapping key (`key:` followed by a space or the line end), the key,
    /// its position and the offset of the `:`. `Some(None)`: not a key; `None`: not handled.
    fn key_at(&self, line: usize, off: usize) -> Option<Option<(String, Pos, usize)>> {
        let end = self.end(line);
        let text = self.text;
        let b = text[off];
        if b == b'"' || b == b'\'' {
            let (value, after) = self.quoted(off, end)?;
            let colon = self.skip_spaces(after, end);
            if colon < end && text[colon] == b':' && (colon + 1 == end || text[colon + 1] == b' ') {
                if after - off > MAX_KEY_BYTES {
                    return None;
                }
                return Some(Some((value, self.pos(line, off), colon)));
            }
            return Some(None);
        }
        let dash_plain = b == b'-' && off + 1 < end && text[off + 1] != b' ';
        if is_indicator(b) && !dash_plain {
            return match b {
                // `?x` and `:x` may start plain scalars: left to the full parser.
                b'[' | b'{' | b'|' | b'>' | b'#' | b'-' => Some(None),
                _ => None,
            };
        }
        let mut i = off;
        while i < end {
            match text[i] {
                b':' if i + 1 == end || text[i + 1] == b' ' => {
                    let (start, stop) = self.trim(off, i);
                    let key = self.slice(start, stop)?;
                    if key.len() > MAX_KEY_BYTES
                        || key.bytes().any(|c| matches!(c, b'[' | b']' | b'{' | b'}'))
                    {
                        return None;
                    }
                    if key == "<<" {
                        return None;
                    }
                    return Some(Some((key.to_string(), self.pos(line, off), i)));
                }
                b'#' if text[i - 1] == b' ' => return Some(None),
                _ => i += 1,
            }
        }
        Some(None)
    }

    /// A block mapping whose first key is at `off` on `line`.
    fn map(&mut self, line: usize, off: usize, first: (String, Pos, usize), depth: usize) -> Option<Node> {
        self.count()?;
        let indent = off - self.lines[line].start;
        let (mut line, mut key) = (line, first);
        let map_pos = key.1;
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let (text, key_pos, colon) = key;
            self.count()?;
            let end = self.end(line);
            let value_off = self.skip_spaces(colon + 1, end);
            let value = if value_off == end || self.text[value_off] == b'#' {
                let next = self.next_content(line + 1);
                if next < self.lines.len() && self.lines[next].indent > indent {
                    let l = self.lines[next];
                    self.node_at(next, l.start + l.indent, indent as isize, depth + 1)?
                } else if next < self.lines.len() && self.lines[next].indent == indent && self.is_dash(next) {
                    self.seq(next, self.lines[next].start + indent, true, depth + 1)?
                } else {
                    self.count()?;
                    self.cur = next;
                    Node::null(self.pos(line, colon))
                }
            } else {
                // `a: - b` and `a: b: c` are errors: `inline_value` leaves them to the full
                // parser (a `-` entry is not a value, `: ` ends no plain scalar).
                let b = self.text[value_off];
                if b == b'-' && (value_off + 1 == end || self.text[value_off + 1] == b' ') {
                    return None;
                }
                self.inline_value(line, value_off, indent as isize, depth + 1)?
            };
            entries.push(Entry { key: text, key_pos, value });
            if self.cur == self.lines.len() {
                break;
            }
            let next = self.lines[self.cur];
            if next.indent < indent {
                break;
            }
            if next.indent > indent || self.is_dash(self.cur) {
                return None;
            }
            line = self.cur;
            key = self.key_at(line, next.start + indent)??;
        }
        if has_duplicate_keys(&entries) {
            return None;
        }
        Some(Node { pos: map_pos, value: Value::Map(entries) })
    }

    /// A block sequence whose first `-` is at `off` on `line`. An indentless sequence (the
    /// value of a mapping key at the key's own indentation) starts where its first entry's
    /// content does, as the full parser places it.
    fn seq(&mut self, line: usize, off: usize, indentless: bool, depth: usize) -> Option<Node> {
        self.count()?;
        let indent = off - self.lines[line].start;
        let mut line = line;
        let mut pos = None;
        let mut items = Vec::new();
        loop {
            let end = self.end(line);
            let dash = self.lines[line].start + indent;
            let content = self.skip_spaces(dash + 1, end);
            let empty = content == end || self.text[content] == b'#';
            // The full parser's entry mark: after the `-`, its spaces and any comment.
            let mark = if empty { self.pos(line, end) } else { self.pos(line, content) };
            if empty && content < end && !self.lines[line].ascii {
                return None; // column counting of a non-ASCII comment: leave it to the full parser
            }
            if pos.is_none() {
                pos = Some(if indentless { mark } else { self.pos(line, dash) });
            }
            let item = if empty {
                let next = self.next_content(line + 1);
                if next < self.lines.len() && self.lines[next].indent > indent {
                    let l = self.lines[next];
                    self.node_at(next, l.start + l.indent, indent as isize, depth + 1)?
                } else {
                    self.count()?;
                    self.cur = next;
                    Node::null(mark)
                }
            } else {
                self.node_at(line, content, indent as isize, depth + 1)?
            };
            items.push(item);
            if self.cur == self.lines.len() {
                break;
            }
            let next = self.lines[self.cur];
            if next.indent < indent {
                break;
            }
            if next.indent > indent {
                return None;
            }
            if !self.is_dash(self.cur) {
                if indentless {
                    break;
                }
                return None;
            }
            line = self.cur;
        }
        Some(Node { pos: pos?, value: Value::Seq(items) })
    }

    /// A value that starts on `line` at `off` and is not a block collection: a plain or
    /// quoted scalar, a one-line flow collection or a literal block scalar.
    fn inline_value(&mut self, line: usize, off: usize, parent: isize, depth: usize) -> Option<Node> {
        let end = self.end(line);
        let text = self.text;
        let b = text[off];
        let node = match b {
            b'"' | b'\'' => {
                let (value, after) = self.quoted(off, end)?;
                self.rest_is_comment(after, end)?;
                self.count()?;
                Node { pos: self.pos(line, off), value: Value::Scalar(Scalar { text: value, plain: false }) }
            }
            b'[' | b'{' => {
                let (node, after) = self.flow(line, off, end, depth)?;
                self.rest_is_comment(after, end)?;
                node
            }
            b'|' => return self.literal(line, off, parent),
            b'-' if off + 1 < end
                && !matches!(text[off + 1], b' ' | b'#' | b',' | b'[' | b']' | b'{' | b'}') =>
            {
                self.plain(line, off, end)?
            }
            _ if is_indicator(b) => return None,
            _ => self.plain(line, off, end)?,
        };
        // A more indented line after a scalar would continue it (or be an error).
        let next = self.next_non_blank(line + 1);
        if next < self.lines.len() && self.lines[next].indent as isize > parent {
            return None;
        }
        self.cur = self.next_content(next);
        Some(node)
    }

    /// A one-line plain scalar in block context.
    fn plain(&mut self, line: usize, off: usize, end: usize) -> Option<Node> {
        let text = self.text;
        let mut stop = end;
        let mut i = off;
        while i < end {
            match text[i] {
                b'#' if text[i - 1] == b' ' => {
                    stop = i;
                    break;
                }
                b':' if i + 1 == end || text[i + 1] == b' ' => return None,
                _ => i += 1,
            }
        }
        let (start, stop) = self.trim(off, stop);
        self.count()?;
        Some(Node {
            pos: self.pos(line, off),
            value: Value::Scalar(Scalar { text: self.slice(start, stop)?.to_string(), plain: true }),
        })
    }

    /// Only spaces or a comment from `off` to the line end.
    fn rest_is_comment(&self, off: usize, end: usize) -> Option<()> {
        let rest = self.skip_spaces(off, end);
        (rest == end || (self.text[rest] == b'#' && rest > off)).then_some(())
    }

    /// A quoted scalar that closes on its line: its value and the offset after the closing
    /// quote.
    fn quoted(&self, off: usize, end: usize) -> Option<(String, usize)> {
        let text = self.text;
        let quote = text[off];
        let mut out = String::new();
        let mut i = off + 1;
        let mut run = i;
        while i < end {
            let b = text[i];
            if quote == b'\'' {
                if b == b'\'' {
                    out.push_str(self.slice(run, i)?);
                    if i + 1 < end && text[i + 1] == b'\'' {
                        out.push('\'');
                        i += 2;
                        run = i;
                        continue;
                    }
                    return Some((out, i + 1));
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => {
                    out.push_str(self.slice(run, i)?);
                    return Some((out, i + 1));
                }
                b'\\' => {
                    out.push_str(self.slice(run, i)?);
                    let esc = *text.get(i + 1).filter(|_| i + 1 < end)?;
                    let (ch, len) = match esc {
                        b'\\' => ('\\', 2),
                        b'"' => ('"', 2),
                        b'/' => ('/', 2),
                        b'n' => ('\n', 2),
                        b't' => ('\t', 2),
                        b'r' => ('\r', 2),
                        b'0' => ('\0', 2),
                        b'x' | b'u' | b'U' => {
                            let digits = match esc {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = text.get(i + 2..i + 2 + digits).filter(|_| i + 2 + digits <= end)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            let code = u32::from_str_radix(self.slice(i + 2, i + 2 + digits)?, 16).ok()?;
                            (char::from_u32(code)?, 2 + digits)
                        }
                        _ => return None,
                    };
                    out.push(ch);
                    i += len;
                    run = i;
                }
                _ => i += 1,
            }
        }
        None
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose header is at `off`.
    fn literal(&mut self, line: usize, off: usize, parent: isize) -> Option<Node> {
        let end = self.end(line);
        let text = self.text;
        let mut i = off + 1;
        let chomp = match text.get(i).filter(|_| i < end) {
            Some(b'-') => {
                i += 1;
                b'-'
            }
            Some(b'+') => {
                i += 1;
                b'+'
            }
            _ => b' ',
        };
        if i < end && text[i] != b' ' {
            return None;
        }
        self.rest_is_comment(i, end)?;
        // The first content line fixes the indentation; leading blank lines are left to the
        // full parser (their spaces take part in choosing the indentation).
        let first = line + 1;
        let l = *self.lines.get(first)?;
        if l.kind == Kind::Blank || l.indent as isize <= parent {
            return None;
        }
        let indent = l.indent;
        let mut value = String::new();
        let mut breaks = 0usize;
        let mut j = first;
        while j < self.lines.len() {
            let l = self.lines[j];
            let raw = &text[l.start..l.end];
            if l.indent >= indent && raw.len() > indent {
                if j > first {
                    value.push('\n');
                }
                value.extend(std::iter::repeat_n('\n', breaks));
                breaks = 0;
                value.push_str(self.slice(l.start + indent, l.end)?);
            } else if raw.len() <= indent && raw.iter().all(|&b| b == b' ') {
                breaks += 1;
            } else {
                break;
            }
            j += 1;
        }
        match chomp {
            b'-' => {}
            b'+' => value.extend(std::iter::repeat_n('\n', breaks + 1)),
            _ => value.push('\n'),
        }
        self.count()?;
        let node = Node {
            pos: self.pos(first, self.lines[first].start + indent),
            value: Value::Scalar(Scalar { text: value, plain: false }),
        };
        let next = self.next_non_blank(j);
        if next < self.lines.len() && self.lines[next].indent as isize > parent {
            return None;
        }
        self.cur = self.next_content(next);
        Some(node)
    }

    /// A flow collection or scalar inside a flow collection, closed on this line: the node and
    /// the offset after it.
    fn flow(&mut self, line: usize, off: usize, end: usize, depth: usize) -> Option<(Node, usize)> {
        if depth > FAST_MAX_DEPTH {
            return None;
        }
        self.count()?;
        let text = self.text;
        let pos = self.pos(line, off);
        match text[off] {
            b'[' => {
                let mut items = Vec::new();
                let mut i = self.skip_spaces(off + 1, end);
                if i < end && text[i] == b']' {
                    return Some((Node { pos, value: Value::Seq(items) }, i + 1));
                }
                loop {
                    let (item, after) = self.flow(line, i, end, depth + 1)?;
                    items.push(item);
                    i = self.skip_spaces(after, end);
                    match text.get(i).filter(|_| i < end)? {
                        b',' => {
                            i = self.skip_spaces(i + 1, end);
                            if i >= end || text[i] == b']' {
                                return None;
                            }
                        }
                        b']' => return Some((Node { pos, value: Value::Seq(items) }, i + 1)),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                let mut entries: Vec<Entry> = Vec::new();
                let mut i = self.skip_spaces(off + 1, end);
                if i < end && text[i] == b'}' {
                    return Some((Node { pos, value: Value::Map(entries) }, i + 1));
                }
                loop {
                    let key_pos = self.pos(line, i);
                    let (key, after) = match text[i] {
                        b'"' | b'\'' => self.quoted(i, end)?,
                        _ => {
                            let (k, after) = self.flow_plain(i, end)?;
                            (k.to_string(), after)
                        }
                    };
                    self.count()?;
                    let colon = self.skip_spaces(after, end);
                    if !(colon + 1 < end && text[colon] == b':' && text[colon + 1] == b' ') {
                        return None;
                    }
                    let value_off = self.skip_spaces(colon + 1, end);
                    if value_off >= end || matches!(text[value_off], b',' | b'}' | b'#') {
                        return None;
                    }
                    let (value, after) = self.flow(line, value_off, end, depth + 1)?;
                    if key == "<<" {
                        return None;
                    }
                    entries.push(Entry { key, key_pos, value });
                    i = self.skip_spaces(after, end);
                    match text.get(i).filter(|_| i < end)? {
                        b',' => {
                            i = self.skip_spaces(i + 1, end);
                            if i >= end || text[i] == b'}' {
                                return None;
                            }
                        }
                        b'}' => {
                            if has_duplicate_keys(&entries) {
                                return None;
                            }
                            return Some((Node { pos, value: Value::Map(entries) }, i + 1));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' | b'\'' => {
                let (value, after) = self.quoted(off, end)?;
                // `"a": b` inside a flow sequence is a one-pair mapping: not handled here.
                let next = self.skip_spaces(after, end);
                if next < end && text[next] == b':' {
                    return None;
                }
                Some((Node { pos, value: Value::Scalar(Scalar { text: value, plain: false }) }, after))
            }
            _ => {
                let (value, after) = self.flow_plain(off, end)?;
                if after < end && text[after] == b':' {
                    return None;
                }
                Some((
                    Node { pos, value: Value::Scalar(Scalar { text: value.to_string(), plain: true }) },
                    after,
                ))
            }
        }
    }

    /// A plain scalar inside a flow collection: its text (trailing spaces trimmed) and the
    /// offset where it stops (`,`, `]`, `}`, `:` or the line end).
    fn flow_plain(&self, off: usize, end: usize) -> Option<(&str, usize)> {
        let text = self.text;
        let b = text[off];
        if is_indicator(b)
            && !(b == b'-'
                && off + 1 < end
                && !matches!(text[off + 1], b' ' | b',' | b']' | b'}' | b'[' | b'{' | b'#' | b':'))
        {
            return None;
        }
        let mut i = off;
        while i < end {
            match text[i] {
                b',' | b']' | b'}' | b':' => break,
                b'[' | b'{' | b'#' | b'"' | b'\'' => return None,
                _ => i += 1,
            }
        }
        let (start, stop) = self.trim(off, i);
        if start == stop {
            return None;
        }
        Some((self.slice(start, stop)?, stop))
    }
}

/// Whether two entries share a key (the full parser reports that as an error).
fn has_duplicate_keys(entries: &[Entry]) -> bool {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .any(|(i, e)| entries[..i].iter().any(|p| crate::node::same_key(&p.key, &e.key)));
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries.iter().any(|e| !seen.insert(e.key.as_str()))
}
