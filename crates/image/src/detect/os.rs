//! Operating system package databases: dpkg and apk.

use super::Package;
use crate::ImageError;

/// One `Key: value` paragraph with the line it starts on.
struct Paragraph<'a> {
    line: usize,
    fields: Vec<(&'a str, String)>,
}

impl Paragraph<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

/// Splits deb822 text into paragraphs; continuation lines (leading space) extend the
/// previous field.
fn paragraphs(text: &str) -> Vec<Paragraph<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Paragraph<'_>> = None;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        let paragraph = current.get_or_insert_with(|| Paragraph { line: n + 1, fields: Vec::new() });
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = paragraph.fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            paragraph.fields.push((key.trim(), value.trim().to_string()));
        }
    }
    out.extend(current);
    out
}

/// Reads a dpkg status file (or a distroless `status.d/` file): installed packages only,
/// with their source package from `Source: name (version)`.
pub fn parse_dpkg_status(text: &str, path: &str, ecosystem: &str) -> Result<Vec<Package>, ImageError> {
    let mut packages = Vec::new();
    for paragraph in paragraphs(text) {
        let Some(name) = paragraph.get("Package") else { continue };
        // `status.d/` files have no Status field: everything in them is installed.
        if let Some(status) = paragraph.get("Status") {
            if status.split_whitespace().nth(2) != Some("installed") {
                continue;
            }
        }
        let Some(version) = paragraph.get("Version").filter(|v| !v.is_empty()) else {
            return Err(ImageError::Parse {
                path: path.to_string(),
                line: paragraph.line,
                message: format!("installed package {name} has no Version"),
            });
        };
        let mut package = Package::new(name, version, ecosystem, path);
        if let Some(source) = paragraph.get("Source").filter(|s| !s.is_empty()) {
            let (source_name, source_version) = match source.split_once('(') {
                Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim())),
                None => (source.trim(), None),
            };
            if source_name != name {
                package.source_name = Some(source_name.to_string());
            }
            package.source_version = source_version.filter(|v| *v != version).map(str::to_string);
        }
        packages.push(package);
    }
    Ok(packages)
}

/// Reads apk's installed database: `P:` name, `V:` version, `o:` origin per record.
pub fn parse_apk_installed(text: &str, path: &str, ecosystem: &str) -> Result<Vec<Package>, ImageError> {
    let mut packages = Vec::new();
    let mut fields: (Option<&str>, Option<&str>, Option<&str>, usize) = (None, None, None, 0);
    let mut flush =
        |fields: &mut (Option<&str>, Option<&str>, Option<&str>, usize)| -> Result<(), ImageError> {
            let (name, version, origin, line) = std::mem::take(fields);
            match (name, version) {
                (Some(name), Some(version)) => {
                    let mut package = Package::new(name, version, ecosystem, path);
                    package.source_name = origin.filter(|o| *o != name).map(str::to_string);
                    packages.push(package);
                    Ok(())
                }
                (Some(name), None) => Err(ImageError::Parse {
                    path: path.to_string(),
                    line,
                    message: format!("package {name} has no V: line"),
                }),
                _ => Ok(()),
            }
        };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            flush(&mut fields)?;
            continue;
        }
        if fields.3 == 0 {
            fields.3 = n + 1;
        }
        match line.split_once(':') {
            Some(("P", value)) => fields.0 = Some(value.trim()),
            Some(("V", value)) => fields.1 = Some(value.trim()),
            Some(("o", value)) => fields.2 = Some(value.trim()),
            _ => {}
        }
    }
    flush(&mut fields)?;
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl (3.0.11-1)\nVersion: 3.0.11-1~deb12u2\nDescription: ssl\n multi-line\n .\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\n";

    #[test]
    fn dpkg_installed_with_sources() {
        let packages = parse_dpkg_status(STATUS, "var/lib/dpkg/status", "Debian:12").unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].name, "libssl3");
        assert_eq!(packages[0].version, "3.0.11-1~deb12u2");
        assert_eq!(packages[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(packages[0].source_version.as_deref(), Some("3.0.11-1"));
        assert_eq!(packages[1].source_name, None);
        assert_eq!(packages[1].ecosystem, "Debian:12");
    }

    #[test]
    fn dpkg_missing_version_names_line() {
        let err = parse_dpkg_status(
            "Package: a\nVersion: 1\n\nPackage: b\nStatus: install ok installed\n",
            "s",
            "Debian",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "s:4: installed package b has no Version");
    }

    #[test]
    fn apk_records() {
        let text = "C:Q1abc=\nP:libcrypto3\nV:3.3.2-r0\no:openssl\n\nP:musl\nV:1.2.5-r0\no:musl\n";
        let packages = parse_apk_installed(text, "lib/apk/db/installed", "Alpine:v3.20").unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(packages[1].source_name, None);
        assert!(parse_apk_installed("P:x\n", "f", "Alpine").is_err());
    }
}
