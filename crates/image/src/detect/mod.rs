//! Package detectors and the inventory they build.

pub mod lockfiles;
pub mod os;

use serde::Serialize;

use crate::os_release::OsRelease;
use crate::source::FileSource;
use crate::ImageError;

/// An installed package or locked dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Name as its ecosystem writes it.
    pub name: String,
    /// Version (empty when the file does not pin one, e.g. `requests>=2` in requirements.txt).
    pub version: String,
    /// OSV ecosystem (`Debian:12`, `Alpine:v3.20`, `npm`, `PyPI`, `crates.io`, `Go`).
    pub ecosystem: String,
    /// The file inside the tree it was read from.
    pub path: String,
    /// Source package (dpkg `Source:`, apk origin), when it differs from the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version, when the database gives one that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Image layer (digest) the file came from; `None` for root filesystem directories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

impl Package {
    pub(crate) fn new(name: &str, version: &str, ecosystem: &str, path: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            ecosystem: ecosystem.to_string(),
            path: path.to_string(),
            source_name: None,
            source_version: None,
            layer: None,
        }
    }
}

/// Everything found in a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The distribution, when the tree has an os-release file.
    pub os: Option<OsRelease>,
    /// Packages, in file order.
    pub packages: Vec<Package>,
}

/// The kind of file a path holds, by its location and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `etc/os-release` or `usr/lib/os-release`.
    OsRelease,
    /// `var/lib/dpkg/status` or a file of `var/lib/dpkg/status.d/`.
    DpkgStatus,
    /// `lib/apk/db/installed`.
    ApkInstalled,
    /// `Cargo.lock`.
    CargoLock,
    /// `package-lock.json` (not npm's hidden copy in `node_modules/`).
    NpmLock,
    /// `requirements.txt` and `*requirements*.txt`.
    Requirements,
    /// `go.mod`.
    GoMod,
}

impl FileKind {
    /// The kind of the file at `path` (relative, `/`-separated), if a detector reads it.
    pub fn of(path: &str) -> Option<Self> {
        let path = path.trim_start_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path);
        match path {
            "etc/os-release" | "usr/lib/os-release" => return Some(Self::OsRelease),
            "var/lib/dpkg/status" => return Some(Self::DpkgStatus),
            "lib/apk/db/installed" => return Some(Self::ApkInstalled),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("var/lib/dpkg/status.d/") {
            // distroless keeps one file per package, plus `.md5sums` lists.
            return (!rest.contains('/') && !rest.ends_with(".md5sums")).then_some(Self::DpkgStatus);
        }
        match name {
            "Cargo.lock" => Some(Self::CargoLock),
            "package-lock.json" if !path.contains("node_modules/") => Some(Self::NpmLock),
            "go.mod" => Some(Self::GoMod),
            _ if name.ends_with(".txt") && name.contains("requirements") => Some(Self::Requirements),
            _ => None,
        }
    }
}

/// Reads the packages of every known file in `source`. OS packages take the ecosystem of
/// the tree's os-release (`Debian:12`), or the bare distribution name without one.
pub fn detect_packages(source: &mut dyn FileSource) -> Result<Inventory, ImageError> {
    let mut files: Vec<(String, FileKind, Vec<u8>)> = Vec::new();
    source.visit_files(&|path| FileKind::of(path).is_some(), &mut |path, bytes| {
        if let Some(kind) = FileKind::of(path) {
            files.push((path.to_string(), kind, bytes.to_vec()));
        }
        Ok(())
    })?;
    let mut inventory = Inventory::default();
    // `etc/os-release` wins over `usr/lib/os-release` (it is the one systemd reads first).
    for preferred in ["etc/os-release", "usr/lib/os-release"] {
        if inventory.os.is_none() {
            inventory.os = files
                .iter()
                .find(|(path, kind, _)| *kind == FileKind::OsRelease && path == preferred)
                .and_then(|(_, _, bytes)| OsRelease::parse(&String::from_utf8_lossy(bytes)));
        }
    }
    let os_ecosystem = inventory.os.as_ref().and_then(OsRelease::osv_ecosystem);
    for (path, kind, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        let found = match kind {
            FileKind::OsRelease => continue,
            FileKind::DpkgStatus => {
                let ecosystem =
                    os_ecosystem.as_deref().filter(|e| e.starts_with("Debian") || e.starts_with("Ubuntu"));
                os::parse_dpkg_status(&text, path, ecosystem.unwrap_or("Debian"))?
            }
            FileKind::ApkInstalled => {
                let ecosystem =
                    os_ecosystem.as_deref().filter(|e| !e.starts_with("Debian") && !e.starts_with("Ubuntu"));
                os::parse_apk_installed(&text, path, ecosystem.unwrap_or("Alpine"))?
            }
            FileKind::CargoLock => lockfiles::parse_cargo_lock(&text, path)?,
            FileKind::NpmLock => lockfiles::parse_package_lock(&text, path)?,
            FileKind::Requirements => lockfiles::parse_requirements(&text, path)?,
            FileKind::GoMod => lockfiles::parse_go_mod(&text, path)?,
        };
        inventory.packages.extend(found);
    }
    Ok(inventory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_path() {
        assert_eq!(FileKind::of("var/lib/dpkg/status"), Some(FileKind::DpkgStatus));
        assert_eq!(FileKind::of("var/lib/dpkg/status.d/libc6"), Some(FileKind::DpkgStatus));
        assert_eq!(FileKind::of("var/lib/dpkg/status.d/libc6.md5sums"), None);
        assert_eq!(FileKind::of("app/package-lock.json"), Some(FileKind::NpmLock));
        assert_eq!(FileKind::of("app/node_modules/x/package-lock.json"), None);
        assert_eq!(FileKind::of("srv/dev-requirements.txt"), Some(FileKind::Requirements));
        assert_eq!(FileKind::of("srv/notes.txt"), None);
        assert_eq!(FileKind::of("/lib/apk/db/installed"), Some(FileKind::ApkInstalled));
    }
}
