//! Packages embedded in executables: Go build information (Go 1.18 and later) and the
//! dependency list `cargo auditable` stores in a `.dep-v0` section.

use std::io::Read;

use serde::Deserialize;

use crate::detect::Package;

/// Start of Go's build information blob, at a 16-byte aligned offset of the binary.
const GO_BUILDINFO_MAGIC: &[u8] = b"\xff Go buildinf:";

/// Largest decompressed `cargo auditable` dependency list read.
const MAX_AUDIT_JSON: u64 = 8 * 1024 * 1024;

/// Packages found in an executable (ELF): Go modules and standard library, or Rust crates.
/// A binary with neither has none.
pub fn packages(bytes: &[u8], path: &str) -> Vec<Package> {
    let mut found = go_build_info(bytes, path);
    if let Some(section) = elf_section(bytes, ".dep-v0") {
        found.extend(cargo_auditable(section, path));
    }
    found
}

/// Reads an unsigned LEB128 varint at `pos`; returns the value and the position after it.
fn uvarint(bytes: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(pos)?;
        pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((value, pos));
        }
    }
    None
}

fn varint_string(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let (len, start) = uvarint(bytes, pos)?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some((bytes.get(start..end)?, end))
}

/// Go build information: the module lines (`mod`, `dep`, `=>`) and the toolchain version,
/// which becomes the `stdlib` package. Only the inline format of Go 1.18+ is read; older
/// binaries keep it behind pointers into the data segment and give nothing.
fn go_build_info(bytes: &[u8], path: &str) -> Vec<Package> {
    let Some(start) = (0..bytes.len().saturating_sub(32))
        .step_by(16)
        .find(|&i| bytes[i] == 0xff && bytes[i..].starts_with(GO_BUILDINFO_MAGIC))
    else {
        return Vec::new();
    };
    let flags = bytes[start + 15];
    if flags & 0x2 == 0 {
        return Vec::new();
    }
    let Some((version, next)) = varint_string(bytes, start + 32) else { return Vec::new() };
    let Some((mod_info, _)) = varint_string(bytes, next) else { return Vec::new() };
    let version = String::from_utf8_lossy(version);
    // The module text is framed by 16-byte sentinels.
    let mod_info = if mod_info.len() >= 33 && mod_info[mod_info.len() - 17] == b'\n' {
        &mod_info[16..mod_info.len() - 16]
    } else {
        mod_info
    };
    let mut packages: Vec<Package> = Vec::new();
    for line in String::from_utf8_lossy(mod_info).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            ["mod", module, version, ..] | ["dep", module, version, ..] if version != "(devel)" => {
                packages.push(Package::new(module, version.trim_start_matches('v'), "Go", path));
            }
            // A replacement applies to the dependency just before it.
            ["=>", module, version, ..] => {
                if let Some(last) = packages.last_mut() {
                    last.name = module.to_string();
                    last.version = version.trim_start_matches('v').to_string();
                }
            }
            _ => {}
        }
    }
    // `go1.22.1`, possibly followed by ` X:experiment` flags.
    let toolchain = version.split_whitespace().next().unwrap_or("").trim_start_matches("go");
    if !toolchain.is_empty() && toolchain.starts_with(|c: char| c.is_ascii_digit()) {
        packages.push(Package::new("stdlib", toolchain, "Go", path));
    }
    packages
}

fn read_u16(bytes: &[u8], at: usize, little: bool) -> Option<u64> {
    let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
    Some(u64::from(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) }))
}

fn read_u32(bytes: &[u8], at: usize, little: bool) -> Option<u64> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u64::from(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }))
}

fn read_u64(bytes: &[u8], at: usize, little: bool) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(if little { u64::from_le_bytes(b) } else { u64::from_be_bytes(b) })
}

/// The contents of the ELF section named `wanted`, with every offset bounds-checked.
pub fn elf_section<'a>(bytes: &'a [u8], wanted: &str) -> Option<&'a [u8]> {
    if !bytes.starts_with(b"\x7fELF") {
        return None;
    }
    let wide = *bytes.get(4)? == 2;
    let little = *bytes.get(5)? == 1;
    let word = |at: usize| if wide { read_u64(bytes, at, little) } else { read_u32(bytes, at, little) };
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (
            word(0x28)?,
            read_u16(bytes, 0x3a, little)?,
            read_u16(bytes, 0x3c, little)?,
            read_u16(bytes, 0x3e, little)?,
        )
    } else {
        (
            word(0x20)?,
            read_u16(bytes, 0x2e, little)?,
            read_u16(bytes, 0x30, little)?,
            read_u16(bytes, 0x32, little)?,
        )
    };
    let section = |index: u64| -> Option<(u64, u64, u64)> {
        let at = usize::try_from(shoff.checked_add(index.checked_mul(shentsize)?)?).ok()?;
        let name = read_u32(bytes, at, little)?;
        let (offset, size) = if wide {
            (read_u64(bytes, at + 24, little)?, read_u64(bytes, at + 32, little)?)
        } else {
            (read_u32(bytes, at + 16, little)?, read_u32(bytes, at + 20, little)?)
        };
        Some((name, offset, size))
    };
    let slice = |offset: u64, size: u64| -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        bytes.get(start..start.checked_add(usize::try_from(size).ok()?)?)
    };
    let (_, names_offset, names_size) = section(shstrndx)?;
    let names = slice(names_offset, names_size)?;
    for index in 0..shnum {
        let (name, offset, size) = section(index)?;
        let name = names.get(usize::try_from(name).ok()?..)?;
        let end = name.iter().position(|&b| b == 0)?;
        if &name[..end] == wanted.as_bytes() {
            return slice(offset, size);
        }
    }
    None
}

#[derive(Deserialize)]
struct AuditInfo {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
}

/// Crates of a `cargo auditable` section (zlib-compressed JSON); local crates (the
/// workspace itself) are left out.
fn cargo_auditable(section: &[u8], path: &str) -> Vec<Package> {
    let mut json = Vec::new();
    let decoder = flate2::read::ZlibDecoder::new(section);
    if decoder.take(MAX_AUDIT_JSON).read_to_end(&mut json).is_err() {
        return Vec::new();
    }
    let Ok(info) = serde_json::from_slice::<AuditInfo>(&json) else { return Vec::new() };
    info.packages
        .iter()
        .filter(|p| p.source != "local")
        .map(|p| Package::new(&p.name, &p.version, "crates.io", path))
        .collect()
}

/// Test helpers that build minimal binaries (shared with the integration tests).
pub mod testing {
    use std::io::Write;

    /// A minimal 64-bit little-endian ELF file with one named section holding `contents`.
    pub fn elf_with_section(name: &str, contents: &[u8]) -> Vec<u8> {
        let names = [b"\0".as_slice(), name.as_bytes(), b"\0.shstrtab\0"].concat();
        let data_offset = 64u64;
        let names_offset = data_offset + contents.len() as u64;
        let shoff = names_offset + names.len() as u64;
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[6] = 1;
        out[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        out[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        out[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        out[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(contents);
        out.extend_from_slice(&names);
        let header = |name: u32, offset: u64, size: u64| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[24..32].copy_from_slice(&offset.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            h
        };
        out.extend(header(0, 0, 0));
        out.extend(header(1, data_offset, contents.len() as u64));
        out.extend(header(name.len() as u32 + 2, names_offset, names.len() as u64));
        out
    }

    /// A binary with a `cargo auditable` section listing `crates` as `(name, version)`.
    pub fn auditable_binary(crates: &[(&str, &str)]) -> Vec<u8> {
        let packages: Vec<serde_json::Value> = crates
            .iter()
            .map(|(n, v)| serde_json::json!({"name": n, "version": v, "source": "crates.io"}))
            .chain([serde_json::json!({"name": "app", "version": "0.1.0", "source": "local", "root": true})])
            .collect();
        let json = serde_json::to_vec(&serde_json::json!({ "packages": packages })).unwrap_or_default();
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = encoder.write_all(&json);
        elf_with_section(".dep-v0", &encoder.finish().unwrap_or_default())
    }

    /// A binary with Go 1.18+ build information: toolchain `go_version` and module lines.
    pub fn go_binary(go_version: &str, module_lines: &str) -> Vec<u8> {
        let mut out = b"\x7fELF\x02\x01\x01".to_vec();
        out.resize(48, 0);
        out.extend_from_slice(super::GO_BUILDINFO_MAGIC);
        out.push(8);
        out.push(2);
        out.resize(48 + 32, 0);
        let sentinel = [0x30u8; 16];
        let info = [&sentinel[..], module_lines.as_bytes(), b"\n", &sentinel[..]].concat();
        for text in [go_version.as_bytes(), &info[..]] {
            let mut len = text.len() as u64;
            loop {
                let byte = (len & 0x7f) as u8;
                len >>= 7;
                out.push(if len == 0 { byte } else { byte | 0x80 });
                if len == 0 {
                    break;
                }
            }
            out.extend_from_slice(text);
        }
        out.resize(out.len() + 64, 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn go_build_info_modules_replacements_and_stdlib() {
        let bin = go_binary(
            "go1.22.1",
            "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:x\ndep\tgithub.com/a/b\tv1.0.0\th1:y\n=>\tgithub.com/fork/b\tv1.0.1\th1:z\nbuild\t-compiler=gc",
        );
        let found: Vec<String> =
            packages(&bin, "usr/bin/app").iter().map(|p| format!("{}@{}", p.name, p.version)).collect();
        assert_eq!(found, ["golang.org/x/net@0.17.0", "github.com/fork/b@1.0.1", "stdlib@1.22.1"]);
    }

    #[test]
    fn cargo_auditable_section() {
        let bin = auditable_binary(&[("serde", "1.0.200"), ("time", "0.3.20")]);
        assert!(elf_section(&bin, ".dep-v0").is_some());
        let found: Vec<String> =
            packages(&bin, "bin/x").iter().map(|p| format!("{}@{}", p.name, p.version)).collect();
        assert_eq!(found, ["serde@1.0.200", "time@0.3.20"]);
        // Truncated or corrupt binaries give nothing, never a panic.
        for cut in [10, 70, bin.len() - 10] {
            let _ = packages(&bin[..cut], "bin/x");
        }
    }
}
