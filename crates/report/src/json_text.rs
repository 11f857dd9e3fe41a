//! Pieces of pretty JSON written by hand, byte for byte as serde_json's pretty printer writes
//! them: strings (those with nothing to escape, most of a report's, are checked eight bytes
//! at a time and copied whole), numbers, and the `object` of a finding. The JSON and SARIF
//! renderers write their findings with these on large reports; their tests compare the
//! result with serde_json's own output.

use std::io;

use kubesecops_core::ObjectRef;

/// Appends `value` as compact JSON (a string is quoted and escaped as pretty JSON has it).
pub(crate) fn value(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::from)
}

/// Appends `n` in decimal.
pub(crate) fn number(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `text` as a JSON string, exactly as serde_json writes it.
///
/// Most strings of a report (messages, paths, fingerprints) need no escaping at all: they
/// are checked eight bytes at a time and copied whole; the others go through serde_json.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) -> io::Result<()> {
    if needs_escape(text.as_bytes()) {
        return value(out, text);
    }
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Whether `bytes` holds a byte JSON strings must escape: a control character (below
/// 0x20), a quote or a backslash. Bytes of multi-byte UTF-8 characters are 0x80 and above
/// and are written as they are, as serde_json does.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // A high bit is set in the lanes of `v` whose byte is below `n` (for n <= 0x80).
    let below = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGHS;
    let zero = |v: u64| below(v, 1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(chunk);
        let v = u64::from_ne_bytes(lanes);
        if below(v, 0x20) | zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends a newline and `depth` levels of pretty JSON's two-space indentation.
pub(crate) fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + 2 * depth, b' ');
}

/// Appends a newline, `depth` levels of indentation and `"name": ` (a name that needs no
/// escaping).
pub(crate) fn key(out: &mut Vec<u8>, depth: usize, name: &str) {
    newline(out, depth);
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\": ");
}

/// Appends `items` as a pretty JSON array whose closing bracket is at `depth`: one item per
/// line at `depth + 1`, written by `item`; `[]` when there is none.
pub(crate) fn array<T>(
    out: &mut Vec<u8>,
    depth: usize,
    items: &[T],
    mut item: impl FnMut(&mut Vec<u8>, &T) -> io::Result<()>,
) -> io::Result<()> {
    out.push(b'[');
    for (i, each) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        newline(out, depth + 1);
        item(out, each)?;
    }
    if !items.is_empty() {
        newline(out, depth);
    }
    out.push(b']');
    Ok(())
}

/// Appends an [`ObjectRef`] as a pretty JSON object whose closing brace is at `depth`.
pub(crate) fn object(out: &mut Vec<u8>, object: &ObjectRef, depth: usize) -> io::Result<()> {
    out.push(b'{');
    key(out, depth + 1, "apiVersion");
    string(out, &object.api_version)?;
    out.push(b',');
    key(out, depth + 1, "kind");
    string(out, &object.kind)?;
    if !object.namespace.is_empty() {
        out.push(b',');
        key(out, depth + 1, "namespace");
        string(out, &object.namespace)?;
    }
    out.push(b',');
    key(out, depth + 1, "name");
    string(out, &object.name)?;
    newline(out, depth);
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 99, 100, 4_096, 1_000_000_007, u32::MAX] {
            let mut out = Vec::new();
            number(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        let mut out = Vec::new();
        number(&mut out, usize::MAX);
        assert_eq!(out, usize::MAX.to_string().into_bytes());
    }

    #[test]
    fn strings_are_written_exactly_as_serde_json_writes_them() {
        // Every byte in every lane of the eight-byte check, and in the remainder.
        let mut texts: Vec<String> = Vec::new();
        for c in (0u8..0x80).map(char::from).chain(['é', '€', '😀', '\u{7f}', '\u{2028}']) {
            for at in 0..11 {
                let mut text: String = "abcdefghij".chars().take(at).collect();
                text.push(c);
                text.push_str("klmnopq");
                texts.push(text);
            }
        }
        texts.extend(
            ["", "\"", "\\", "plain path/to/file.yaml", "container \"web\" runs privileged"]
                .map(String::from),
        );
        for text in &texts {
            let mut ours = Vec::new();
            string(&mut ours, text).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(text).unwrap(), "{text:?}");
        }
        assert!(needs_escape(b"0123456\n"));
        assert!(!needs_escape("0123456\u{7f}é".as_bytes()));
    }

    #[test]
    fn objects_are_written_as_serde_json_pretty_prints_them_at_any_depth() {
        for namespace in ["", "team \"a\""] {
            let target = ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: namespace.into(),
                name: "web\\1".into(),
            };
            for depth in [0, 3] {
                let mut ours = Vec::new();
                object(&mut ours, &target, depth).unwrap();
                // serde_json, nested `depth` arrays deep, then the nesting taken off.
                let text = match depth {
                    0 => serde_json::to_string_pretty(&target),
                    _ => serde_json::to_string_pretty(&[[[&target]]]),
                }
                .unwrap();
                let expected = text.trim_start_matches(['[', '\n', ' ']).trim_end_matches(['\n', ' ', ']']);
                assert_eq!(String::from_utf8(ours).unwrap(), expected, "depth {depth}");
            }
        }
    }
}
