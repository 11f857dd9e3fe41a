//! Secrets in Kubernetes manifests: the values where credentials end up, decoded and scanned
//! one by one, with findings pointing at the object and the line of the value.
//!
//! Scanned: `Secret.data` (base64, decoded) and `stringData`; `ConfigMap.data`; container
//! `env` values of every pod template; annotations of the object and of its pod template;
//! and the object embedded in `kubectl.kubernetes.io/last-applied-configuration` (parsed,
//! then scanned the same way, reported at the annotation's line). Each value is scanned as
//! `key: value`, so rules that need the name of a setting (generic `password: ...`) see it.

use std::sync::Arc;

use kubesecops_core::Finding;
use kubesecops_k8s::{parse_documents, Node, Object, Pos, Value};

use crate::scanner::{Input, Scanner};

/// The annotation where `kubectl apply` keeps the applied object as JSON.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How deep last-applied annotations are followed (an annotation inside an annotation...).
const MAX_EMBEDDING: usize = 2;

/// One value to scan.
#[derive(Debug)]
struct Field {
    /// Where the value is, in the object's words: `data.password`,
    /// `containers[api].env[DB_PASSWORD]`.
    name: String,
    /// `key: value`, the text scanned.
    text: String,
    /// Length in bytes of the `key: ` prefix of `text`.
    prefix: usize,
    /// Where the value is written.
    pos: Pos,
    /// 1 when the value is written in quotes (its text starts a column later), else 0.
    quote: u32,
    /// The value's lines are the source lines after `pos` (a block scalar); else every match
    /// is reported at `pos`.
    block: bool,
}

impl Field {
    fn new(name: String, key: &str, value: &str, node: &Node) -> Field {
        let prefix = key.len() + 2;
        let quoted = matches!(&node.value, Value::Scalar(s) if !s.plain);
        let block = quoted && value.trim_end().contains('\n');
        let quote = u32::from(quoted && !block);
        Field { name, text: format!("{key}: {value}"), prefix, pos: node.pos, quote, block }
    }
}

/// Decodes standard base64 (with or without padding; whitespace ignored). `None` when the
/// text is not base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        }))
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padding = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (padding <= 2 && bits < 6).then_some(out)
}

/// Text worth scanning from decoded bytes: UTF-8 without NUL bytes.
fn decoded_text(bytes: Vec<u8>) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Collects the values of one object worth scanning.
fn collect(obj: &Object, fields: &mut Vec<Field>, embedded: &mut Vec<(Node, Pos)>) {
    let core = obj.group().is_empty();
    if core && obj.kind() == "Secret" {
        if let Some(data) = obj.root.get("data") {
            for entry in data.entries() {
                let Some(encoded) = entry.value.as_str() else { continue };
                let Some(text) = decode_base64(encoded).and_then(decoded_text) else { continue };
                let mut field = Field::new(format!("data.{}", entry.key), &entry.key, &text, &entry.value);
                // One encoded line holds every decoded line.
                field.block = false;
                fields.push(field);
            }
        }
        if let Some(data) = obj.root.get("stringData") {
            for entry in data.entries() {
                let Some(value) = entry.value.as_str() else { continue };
                fields.push(Field::new(format!("stringData.{}", entry.key), &entry.key, value, &entry.value));
            }
        }
    }
    if core && obj.kind() == "ConfigMap" {
        for entry in obj.root.get("data").map(Node::entries).unwrap_or_default() {
            let Some(value) = entry.value.as_str() else { continue };
            fields.push(Field::new(format!("data.{}", entry.key), &entry.key, value, &entry.value));
        }
    }
    annotations(obj.metadata(), "metadata.annotations", fields, embedded);
    if let Some(template) = obj.pod_template() {
        // A Pod's template metadata is its own metadata, already read.
        if !(core && obj.kind() == "Pod") {
            annotations(template.metadata, "template.metadata.annotations", fields, embedded);
        }
        for container in template.containers() {
            for entry in container.node.get("env").map(Node::items).unwrap_or_default() {
                let Some(name) = entry.get("name").and_then(Node::as_str) else { continue };
                let Some(value) = entry.get("value") else { continue };
                let Some(text) = value.as_str() else { continue };
                fields.push(Field::new(format!("{}.env[{name}]", container.key()), name, text, value));
            }
        }
    }
}

fn annotations(metadata: Option<&Node>, at: &str, fields: &mut Vec<Field>, embedded: &mut Vec<(Node, Pos)>) {
    let Some(annotations) = metadata.and_then(|m| m.get("annotations")) else { return };
    for entry in annotations.entries() {
        let Some(value) = entry.value.as_str() else { continue };
        if entry.key == LAST_APPLIED {
            // The applied object as JSON: scanned as an object of its own, so its Secret data is
            // decoded too. Unparsable JSON is scanned as text.
            if let Some(Ok(doc)) = parse_documents(value).into_iter().next() {
                if let Some(root) = doc.root.filter(Node::is_map) {
                    embedded.push((root, entry.value.pos));
                    continue;
                }
            }
        }
        fields.push(Field::new(format!("{at}[{}]", entry.key), &entry.key, value, &entry.value));
    }
}

/// Scans the values of one object; findings name the object and the field, and point at
/// the line of the value.
pub fn scan_object(scanner: &Scanner, obj: &Object) -> Vec<Finding> {
    let mut findings = Vec::new();
    scan_embedded(scanner, obj, None, 0, &mut findings);
    findings
}

/// Scans `obj`; when it was embedded in an annotation, `at` is where that annotation's value
/// is and every finding points there.
fn scan_embedded(scanner: &Scanner, obj: &Object, at: Option<Pos>, depth: usize, out: &mut Vec<Finding>) {
    let mut fields = Vec::new();
    let mut embedded = Vec::new();
    collect(obj, &mut fields, &mut embedded);
    let object = Some(Arc::clone(&obj.meta));
    for field in &fields {
        let input = Input::new(&obj.path, &field.text);
        for m in scanner.scan(&input) {
            let mut finding = scanner.finding(&m, &obj.path, object.clone());
            let rule = &scanner.rules()[m.rule];
            let (line, column) = match (at, m.line) {
                (Some(pos), _) => (pos.line, pos.column),
                // A block scalar's position is its first content line.
                (None, Some(line)) if field.block => (field.pos.line + line - 1, 0),
                (None, Some(1)) => {
                    // On the value's own line: the column of the secret within it.
                    let skipped = m.column.unwrap_or(1).saturating_sub(1) as usize;
                    let in_value = field.text.chars().take(skipped).count().saturating_sub(field.prefix);
                    (field.pos.line, field.pos.column + field.quote + in_value as u32)
                }
                (None, _) => (field.pos.line, field.pos.column),
            };
            let through = if at.is_some() { format!(" (in {LAST_APPLIED})") } else { String::new() };
            finding.message = format!("{} in {}{through} ({})", rule.title(), field.name, m.redacted);
            finding.location.line = Some(line);
            finding.location.column = (column > 0).then_some(column);
            out.push(finding);
        }
    }
    if depth < MAX_EMBEDDING {
        for (root, pos) in embedded {
            if let Some(inner) = Object::from_root(Arc::clone(&obj.path), root) {
                scan_embedded(scanner, &inner, Some(at.unwrap_or(pos)), depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests;
