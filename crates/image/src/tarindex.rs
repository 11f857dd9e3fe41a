//! An index of a tar file's members (name → offset and size), built by reading only the
//! headers and seeking over the contents. Image archives are read this way: the manifest
//! first, then each layer in manifest order, straight from the archive file.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use crate::layers::normalize_path;
use crate::ImageError;

/// Where a member's contents are in the tar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Offset of the first content byte.
    pub offset: u64,
    /// Content size.
    pub size: u64,
}

/// Parses a numeric header field: octal text, or GNU base-256 (high bit set).
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// A pax `path=` record, if the extended header has one.
fn pax_path(data: &[u8]) -> Option<Vec<u8>> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        let record = rest.get(space + 1..len)?;
        if let Some(value) = record.strip_prefix(b"path=") {
            return Some(value.strip_suffix(b"\n").unwrap_or(value).to_vec());
        }
        rest = rest.get(len..)?;
    }
    None
}

/// Largest GNU long-name or pax header read.
const MAX_META: u64 = 1024 * 1024;

/// Reads every header of the tar file `file` (of `input` for messages). Regular files only;
/// names normalised. A header that is not tar, or contents running past the end of the
/// file, are errors.
pub fn index<R: Read + Seek>(file: &mut R, input: &str) -> Result<BTreeMap<String, Member>, ImageError> {
    let length = file.seek(SeekFrom::End(0)).map_err(|e| ImageError::Io { path: input.into(), error: e })?;
    let mut offset = 0u64;
    let mut members = BTreeMap::new();
    let mut long_name: Option<Vec<u8>> = None;
    let mut header = [0u8; 512];
    let io = |e: std::io::Error| ImageError::Io { path: input.into(), error: e };
    loop {
        if offset + 512 > length {
            if offset == length && offset > 0 {
                break; // no end-of-archive blocks, but nothing cut either
            }
            return Err(ImageError::image(input, "truncated tar archive (header past the end of the file)"));
        }
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(&mut header).map_err(io)?;
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let checksum = number(&header[148..156]);
        let computed: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) })
            .sum();
        if checksum != Some(computed) {
            let what = if offset == 0 { "not a tar archive" } else { "corrupt tar header" };
            return Err(ImageError::image(input, format!("{what} (bad header checksum at byte {offset})")));
        }
        let size = number(&header[124..136])
            .ok_or_else(|| ImageError::image(input, format!("bad size field at byte {offset}")))?;
        let data = offset + 512;
        let padded = size.div_ceil(512).checked_mul(512).and_then(|p| data.checked_add(p));
        let next = padded.ok_or_else(|| ImageError::image(input, "member size out of range"))?;
        if data + size > length {
            return Err(ImageError::image(
                input,
                format!("truncated tar archive: member at byte {offset} needs {size} bytes past the end"),
            ));
        }
        let kind = header[156];
        let read_meta = |file: &mut R| -> Result<Vec<u8>, ImageError> {
            if size > MAX_META {
                return Err(ImageError::image(
                    input,
                    format!("tar metadata of {size} bytes at byte {offset}"),
                ));
            }
            let mut buf = vec![0u8; size as usize];
            file.read_exact(&mut buf).map_err(io)?;
            Ok(buf)
        };
        match kind {
            b'L' => long_name = Some(cstr(&read_meta(file)?).to_vec()),
            b'x' => {
                if let Some(path) = pax_path(&read_meta(file)?) {
                    long_name = Some(path);
                }
            }
            b'0' | b'\0' | b'7' => {
                let name = long_name.take().unwrap_or_else(|| {
                    let name = cstr(&header[0..100]);
                    let prefix = cstr(&header[345..500]);
                    if &header[257..262] == b"ustar" && !prefix.is_empty() {
                        [prefix, b"/", name].concat()
                    } else {
                        name.to_vec()
                    }
                });
                if let Some(name) = normalize_path(&name) {
                    members.insert(name, Member { offset: data, size });
                }
            }
            _ => long_name = None,
        }
        offset = next;
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn tar_with(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn indexes_members_with_long_names() {
        let long = format!("{}/file.json", "d".repeat(150));
        let bytes = tar_with(&[("manifest.json", b"[]"), (&long, b"abc")]);
        let members = index(&mut Cursor::new(&bytes), "x.tar").unwrap();
        let m = members[&long];
        assert_eq!(&bytes[m.offset as usize..(m.offset + m.size) as usize], b"abc");
        assert!(members.contains_key("manifest.json"));
    }

    #[test]
    fn truncation_and_garbage_are_errors() {
        let bytes = tar_with(&[("a", &[7u8; 2000])]);
        let err = index(&mut Cursor::new(&bytes[..1500]), "x.tar").unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        let err = index(&mut Cursor::new(vec![b'x'; 1024]), "x.tar").unwrap_err().to_string();
        assert!(err.contains("not a tar archive"), "{err}");
        let err = index(&mut Cursor::new(Vec::new()), "x.tar").unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
