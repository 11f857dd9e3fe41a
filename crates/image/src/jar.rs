//! Maven coordinates inside Java archives (jar, war, ear): `META-INF/maven/**/pom.properties`,
//! also in archives nested one or two levels deep (Spring Boot `BOOT-INF/lib/`, `WEB-INF/lib/`).
//!
//! A small zip reader of our own: central directory, stored and deflated entries, every
//! offset and size bounded, so that a hostile archive cannot make it panic or allocate
//! without limit.

use std::io::Read;

use crate::detect::more_lockfiles::parse_pom_properties;
use crate::detect::Package;
use crate::limits::Limits;
use crate::ImageError;

/// Largest `pom.properties` read.
const MAX_PROPERTIES: u64 = 64 * 1024;
/// How deep archives inside archives are opened.
const MAX_DEPTH: usize = 2;

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?)))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()
}

/// One central directory entry.
struct ZipEntry {
    name: String,
    method: usize,
    compressed: usize,
    uncompressed: usize,
    local_offset: usize,
}

fn bad(path: &str, message: &str) -> ImageError {
    ImageError::Parse {
        path: path.to_string(),
        line: 0,
        message: format!("not a readable zip archive: {message}"),
    }
}

fn central_directory(bytes: &[u8], path: &str) -> Result<Vec<ZipEntry>, ImageError> {
    // The end record is in the last 64 KiB + 22 bytes (its comment is at most 65535 bytes).
    let search_from = bytes.len().saturating_sub(65_557);
    let end = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| bad(path, "no end of central directory"))?;
    let count = u16_at(bytes, end + 10).ok_or_else(|| bad(path, "short end record"))?;
    let mut at = u32_at(bytes, end + 16).ok_or_else(|| bad(path, "short end record"))?;
    let mut entries = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        if !bytes.get(at..).is_some_and(|b| b.starts_with(b"PK\x01\x02")) {
            return Err(bad(path, "central directory entry out of place"));
        }
        let field = |offset: usize, wide: bool| {
            if wide {
                u32_at(bytes, at + offset)
            } else {
                u16_at(bytes, at + offset)
            }
        };
        let short = || bad(path, "short central directory entry");
        let method = field(10, false).ok_or_else(short)?;
        let compressed = field(20, true).ok_or_else(short)?;
        let uncompressed = field(24, true).ok_or_else(short)?;
        let name_len = field(28, false).ok_or_else(short)?;
        let extra_len = field(30, false).ok_or_else(short)?;
        let comment_len = field(32, false).ok_or_else(short)?;
        let local_offset = field(42, true).ok_or_else(short)?;
        let name = bytes.get(at + 46..at + 46 + name_len).ok_or_else(short)?;
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            compressed,
            uncompressed,
            local_offset,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// The contents of `entry`, at most `limit` bytes (more is an error).
fn read_entry(bytes: &[u8], entry: &ZipEntry, limit: u64, path: &str) -> Result<Vec<u8>, ImageError> {
    let at = entry.local_offset;
    if !bytes.get(at..).is_some_and(|b| b.starts_with(b"PK\x03\x04")) {
        return Err(bad(path, &format!("{}: local header out of place", entry.name)));
    }
    let short = || bad(path, &format!("{}: short local header", entry.name));
    let name_len = u16_at(bytes, at + 26).ok_or_else(short)?;
    let extra_len = u16_at(bytes, at + 28).ok_or_else(short)?;
    let start = at + 30 + name_len + extra_len;
    let data = bytes
        .get(start..start.saturating_add(entry.compressed))
        .ok_or_else(|| bad(path, &format!("{}: data past the end", entry.name)))?;
    if entry.uncompressed as u64 > limit {
        return Err(bad(path, &format!("{}: larger than {limit} bytes", entry.name)));
    }
    let mut out = Vec::with_capacity(entry.uncompressed.min(1 << 20));
    match entry.method {
        0 => out.extend_from_slice(data),
        8 => {
            flate2::read::DeflateDecoder::new(data)
                .take(limit + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(path, &format!("{}: {e}", entry.name)))?;
        }
        other => return Err(bad(path, &format!("{}: compression method {other} not supported", entry.name))),
    }
    if out.len() as u64 > limit {
        return Err(bad(path, &format!("{}: larger than {limit} bytes", entry.name)));
    }
    Ok(out)
}

fn is_archive_name(name: &str) -> bool {
    [".jar", ".war", ".ear"].iter().any(|ext| name.ends_with(ext))
}

fn collect(
    bytes: &[u8],
    path: &str,
    limits: &Limits,
    depth: usize,
    out: &mut Vec<Package>,
) -> Result<(), ImageError> {
    for entry in central_directory(bytes, path)? {
        if entry.name.starts_with("META-INF/maven/") && entry.name.ends_with("/pom.properties") {
            let text = read_entry(bytes, &entry, MAX_PROPERTIES, path)?;
            out.extend(parse_pom_properties(&String::from_utf8_lossy(&text), path));
        } else if depth < MAX_DEPTH && is_archive_name(&entry.name) {
            let inner = read_entry(bytes, &entry, limits.max_binary_bytes / 2, path)?;
            // A damaged nested archive loses its own packages, not the outer ones.
            let _ = collect(&inner, path, limits, depth + 1, out);
        }
    }
    Ok(())
}

/// Maven packages of the archive `bytes` (found at `path`), nested archives included.
pub fn packages(bytes: &[u8], path: &str, limits: &Limits) -> Result<Vec<Package>, ImageError> {
    let mut out = Vec::new();
    collect(bytes, path, limits, 0, &mut out)?;
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup_by(|a, b| a.name == b.name && a.version == b.version);
    Ok(out)
}

/// Writes small zip archives for tests (stored entries only).
pub mod testing {
    /// A zip archive holding `files` as `(name, contents)`, uncompressed.
    pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, contents) in files {
            let offset = out.len() as u32;
            let size = contents.len() as u32;
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(contents);
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let central_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&central_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::zip;
    use super::*;

    #[test]
    fn pom_properties_in_nested_jars() {
        let pom = b"groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n";
        let inner = zip(&[("META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties", pom)]);
        let outer = zip(&[("BOOT-INF/lib/log4j-core-2.14.1.jar", &inner), ("META-INF/MANIFEST.MF", b"x")]);
        let found = packages(&outer, "app.jar", &Limits::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "org.apache.logging.log4j:log4j-core");
        assert_eq!(found[0].version, "2.14.1");
        assert_eq!(found[0].ecosystem, "Maven");
        assert!(packages(b"not a zip", "x.jar", &Limits::default()).is_err());
        for cut in 0..outer.len() {
            let _ = packages(&outer[..cut], "x.jar", &Limits::default());
        }
    }
}
