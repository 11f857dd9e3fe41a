//! Software bills of materials for kubesecops.
//!
//! - [`Sbom`]: the inventory an SBOM describes: the scanned target, its distribution, its
//!   packages (with the file and image layer each came from) and, optionally, the
//!   vulnerabilities found in them.
//! - [`cyclonedx::write`] (CycloneDX 1.6 JSON) and [`spdx::write`] (SPDX 2.3 JSON).
//! - [`read`]: either format back into an [`Sbom`], so `kubesecops sbom PATH` can match it.
//! - [`purl`]: package URLs per ecosystem.

pub mod cyclonedx;
pub mod purl;
pub mod spdx;

use kubesecops_vulndb::{PackageRef, VulnMatch};
use serde::Serialize;

/// Errors of reading an SBOM.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// Not JSON.
    #[error("{path}:{line}:{column}: not valid JSON: {message}")]
    Json {
        /// The file.
        path: String,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON, but neither a CycloneDX nor an SPDX document.
    #[error("{path}: not a CycloneDX (`bomFormat`) or SPDX (`spdxVersion`) JSON document")]
    UnknownFormat {
        /// The file.
        path: String,
    },
    /// A field has the wrong shape.
    #[error("{path}: {pointer}: {message}")]
    Field {
        /// The file.
        path: String,
        /// JSON pointer of the field (`/components/3/purl`).
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

/// The distribution of the scanned target.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OsInfo {
    /// os-release `ID` (`debian`, `alpine`).
    pub id: String,
    /// os-release `VERSION_ID` (`12`, `3.20.3`).
    pub version: String,
}

/// One package of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SbomPackage {
    /// Name as its ecosystem writes it.
    pub name: String,
    /// Version.
    pub version: String,
    /// OSV ecosystem (`Debian:12`, `npm`); empty when a read component has no known one.
    pub ecosystem: String,
    /// The file inside the image the package was read from.
    pub path: String,
    /// Image layer of that file.
    pub layer: Option<String>,
    /// Source package, when known.
    pub source_name: Option<String>,
    /// Source package version, when it differs.
    pub source_version: Option<String>,
    /// The package URL as read from a document (written ones are computed).
    pub purl: Option<String>,
}

impl SbomPackage {
    /// The package as the matcher takes it.
    pub fn as_ref(&self) -> PackageRef<'_> {
        PackageRef {
            name: &self.name,
            version: &self.version,
            ecosystem: &self.ecosystem,
            source_name: self.source_name.as_deref(),
            source_version: self.source_version.as_deref(),
            path: &self.path,
            layer: self.layer.as_deref(),
        }
    }

    /// The package URL: the one read, else one computed from the ecosystem.
    pub fn purl(&self) -> Option<String> {
        self.purl.clone().or_else(|| {
            purl::purl_for(
                &self.ecosystem,
                &self.name,
                &self.version,
                self.source_name.as_deref(),
                self.source_version.as_deref(),
            )
            .map(|p| p.to_text())
        })
    }
}

/// A severity rating of a vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    /// `critical`, `high`, `medium`, `low`, `none` or `unknown`.
    pub severity: String,
    /// CVSS base score, when computed.
    pub score: Option<f64>,
    /// The CVSS vector (or label) the rating came from.
    pub vector: Option<String>,
}

/// A vulnerability found in the inventory (CycloneDX `vulnerabilities`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SbomVulnerability {
    /// Vulnerability id.
    pub id: String,
    /// Other ids.
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Rating, when the record has one.
    pub rating: Option<Rating>,
    /// Affected packages (indexes into [`Sbom::packages`]) and the fixed version for each.
    pub affects: Vec<(usize, Option<String>)>,
}

/// The inventory an SBOM describes.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Sbom {
    /// The scanned target (image reference, archive or directory).
    pub target: String,
    /// Its distribution, when known.
    pub os: Option<OsInfo>,
    /// Packages, in inventory order.
    pub packages: Vec<SbomPackage>,
    /// Vulnerabilities, in id order.
    pub vulnerabilities: Vec<SbomVulnerability>,
}

impl Sbom {
    /// Packages as the matcher takes them (indexes match [`Sbom::packages`]).
    pub fn package_refs(&self) -> Vec<PackageRef<'_>> {
        self.packages.iter().map(SbomPackage::as_ref).collect()
    }

    /// Records matches (made from [`Sbom::package_refs`]) as the document's vulnerabilities,
    /// one per vulnerability id with every affected package.
    pub fn set_vulnerabilities(&mut self, matches: &[VulnMatch]) {
        let mut by_id: std::collections::BTreeMap<&str, SbomVulnerability> =
            std::collections::BTreeMap::new();
        for found in matches {
            let vuln = &found.vuln;
            let entry = by_id.entry(&vuln.id).or_insert_with(|| SbomVulnerability {
                id: vuln.id.clone(),
                aliases: vuln.aliases.clone(),
                summary: vuln.summary.clone(),
                rating: vuln.severity.as_ref().map(|s| Rating {
                    severity: s.level.as_str().to_ascii_lowercase(),
                    score: s.score,
                    vector: Some(s.source.clone()).filter(|v| !v.is_empty()),
                }),
                affects: Vec::new(),
            });
            if !entry.affects.iter().any(|(p, _)| *p == found.package) {
                entry.affects.push((found.package, vuln.fixed_version.clone()));
            }
        }
        self.vulnerabilities = by_id.into_values().collect();
    }
}

/// Reads a CycloneDX or SPDX JSON document; `path` names it in errors.
pub fn read(bytes: &[u8], path: &str) -> Result<Sbom, SbomError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| SbomError::Json {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if value.get("bomFormat").is_some() {
        cyclonedx::read(&value, path)
    } else if value.get("spdxVersion").is_some() {
        spdx::read(&value, path)
    } else {
        Err(SbomError::UnknownFormat { path: path.to_string() })
    }
}

/// Document metadata the writers need: the tool's version and the creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// kubesecops' version.
    pub tool_version: String,
    /// Seconds since the Unix epoch (documents are reproducible for a given time).
    pub created: u64,
}

impl WriteOptions {
    /// Options for now.
    pub fn now(tool_version: &str) -> Self {
        let created =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        Self { tool_version: tool_version.to_string(), created }
    }
}

/// A name-based UUID (version 5 layout, SHA-256 digest) of the document's content: two
/// documents of the same inventory at the same time get the same serial number.
pub(crate) fn content_uuid(sbom: &Sbom, options: &WriteOptions) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(sbom).unwrap_or_default());
    hasher.update(options.created.to_le_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
