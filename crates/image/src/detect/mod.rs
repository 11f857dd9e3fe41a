//! Package detectors and the inventory they build.

pub mod lockfiles;
pub mod more_lockfiles;
pub mod os;
pub mod rpm;

use serde::Serialize;

use crate::limits::Limits;
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
    /// RPM's SQLite database (`var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`).
    RpmDb,
    /// `Cargo.lock`.
    CargoLock,
    /// `package-lock.json` (not npm's hidden copy in `node_modules/`).
    NpmLock,
    /// `yarn.lock` (classic and berry).
    YarnLock,
    /// `pnpm-lock.yaml`.
    PnpmLock,
    /// `requirements.txt` and `*requirements*.txt`.
    Requirements,
    /// An installed Python distribution: `*.dist-info/METADATA` or `*.egg-info/PKG-INFO`.
    PythonMetadata,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `go.mod`.
    GoMod,
    /// `Gemfile.lock` (and `gems.locked`).
    GemfileLock,
    /// `composer.lock`.
    ComposerLock,
    /// `META-INF/maven/GROUP/ARTIFACT/pom.properties` outside a jar.
    PomProperties,
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
        if rpm::is_rpmdb_sqlite(path) {
            return Some(Self::RpmDb);
        }
        if let Some(rest) = path.strip_prefix("var/lib/dpkg/status.d/") {
            // distroless keeps one file per package, plus `.md5sums` lists.
            return (!rest.contains('/') && !rest.ends_with(".md5sums")).then_some(Self::DpkgStatus);
        }
        let parent = path.rsplit('/').nth(1).unwrap_or("");
        match name {
            "Cargo.lock" => Some(Self::CargoLock),
            "package-lock.json" if !path.contains("node_modules/") => Some(Self::NpmLock),
            "yarn.lock" if !path.contains("node_modules/") => Some(Self::YarnLock),
            "pnpm-lock.yaml" if !path.contains("node_modules/") => Some(Self::PnpmLock),
            "METADATA" if parent.ends_with(".dist-info") => Some(Self::PythonMetadata),
            "PKG-INFO" if parent.ends_with(".egg-info") => Some(Self::PythonMetadata),
            "poetry.lock" => Some(Self::PoetryLock),
            "Pipfile.lock" => Some(Self::PipfileLock),
            "go.mod" => Some(Self::GoMod),
            "Gemfile.lock" | "gems.locked" => Some(Self::GemfileLock),
            "composer.lock" if !path.contains("vendor/") => Some(Self::ComposerLock),
            "pom.properties" if path.contains("META-INF/maven/") => Some(Self::PomProperties),
            _ if name.ends_with(".txt") && name.contains("requirements") => Some(Self::Requirements),
            _ => None,
        }
    }
}

/// Reads the packages of one file of a known kind (os-release excepted). `os_ecosystem` is
/// the tree's distribution ecosystem, for OS package databases.
pub fn parse_file(
    kind: FileKind,
    text: &str,
    path: &str,
    os_ecosystem: Option<&str>,
) -> Result<Vec<Package>, ImageError> {
    Ok(match kind {
        // Binary formats are read from bytes by `detect_packages_with`.
        FileKind::OsRelease | FileKind::RpmDb => Vec::new(),
        FileKind::DpkgStatus => {
            let ecosystem = os_ecosystem.filter(|e| e.starts_with("Debian") || e.starts_with("Ubuntu"));
            os::parse_dpkg_status(text, path, ecosystem.unwrap_or("Debian"))?
        }
        FileKind::ApkInstalled => {
            let ecosystem = os_ecosystem.filter(|e| !e.starts_with("Debian") && !e.starts_with("Ubuntu"));
            os::parse_apk_installed(text, path, ecosystem.unwrap_or("Alpine"))?
        }
        FileKind::CargoLock => lockfiles::parse_cargo_lock(text, path)?,
        FileKind::NpmLock => lockfiles::parse_package_lock(text, path)?,
        FileKind::YarnLock => more_lockfiles::parse_yarn_lock(text, path)?,
        FileKind::PnpmLock => more_lockfiles::parse_pnpm_lock(text, path)?,
        FileKind::Requirements => lockfiles::parse_requirements(text, path)?,
        FileKind::PythonMetadata => more_lockfiles::parse_python_metadata(text, path)?,
        FileKind::PoetryLock => more_lockfiles::parse_poetry_lock(text, path)?,
        FileKind::PipfileLock => more_lockfiles::parse_pipfile_lock(text, path)?,
        FileKind::GoMod => lockfiles::parse_go_mod(text, path)?,
        FileKind::GemfileLock => more_lockfiles::parse_gemfile_lock(text, path)?,
        FileKind::ComposerLock => more_lockfiles::parse_composer_lock(text, path)?,
        FileKind::PomProperties => more_lockfiles::parse_pom_properties(text, path).into_iter().collect(),
    })
}

/// Reads the packages of every known file in `source`. OS packages take the ecosystem of
/// the tree's os-release (`Debian:12`), or the bare distribution name without one.
pub fn detect_packages(source: &mut dyn FileSource) -> Result<Inventory, ImageError> {
    detect_packages_with(source, &Limits::default())
}

/// [`detect_packages`] with explicit limits for embedded-package reading.
pub fn detect_packages_with(source: &mut dyn FileSource, limits: &Limits) -> Result<Inventory, ImageError> {
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
        let mut found = if *kind == FileKind::RpmDb {
            rpm::parse_rpmdb_sqlite(bytes, path, inventory.os.as_ref())?
        } else {
            parse_file(*kind, &String::from_utf8_lossy(bytes), path, os_ecosystem.as_deref())?
        };
        let layer = source.layer_of(path);
        for package in &mut found {
            package.layer.clone_from(&layer);
        }
        inventory.packages.extend(found);
    }
    inventory.packages.extend(source.embedded_packages(limits)?);
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
