//! OCI and Docker image documents: indexes, manifests, configs, and platform selection.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;

use crate::ImageError;

/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list media type.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Platform of a manifest in an index.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An index (OCI) or manifest list (Docker), or a manifest: whichever the document is.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// Media type, when the document states it.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Manifests of an index.
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
    /// Config of a manifest.
    #[serde(default)]
    pub config: Option<Descriptor>,
    /// Layers of a manifest.
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Document {
    /// Parses a JSON document; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, ImageError> {
        let doc: Document = serde_json::from_slice(bytes)
            .map_err(|e| ImageError::image(what, format!("not an image index or manifest: {e}")))?;
        if doc.manifests.is_none() && doc.layers.is_none() {
            if serde_json::from_slice::<Value>(bytes).is_ok_and(|v| v.get("fsLayers").is_some()) {
                return Err(ImageError::image(what, "Docker schema 1 manifests are not supported"));
            }
            return Err(ImageError::image(what, "neither an index (manifests) nor a manifest (layers)"));
        }
        Ok(doc)
    }

    /// True for an index or manifest list.
    pub fn is_index(&self) -> bool {
        self.manifests.is_some() && self.layers.is_none()
    }
}

/// An operating system and architecture (`linux/amd64`, `linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    /// `linux`, `windows`.
    #[serde(default)]
    pub os: String,
    /// `amd64`, `arm64`, ...
    #[serde(default)]
    pub architecture: String,
    /// `v8`, `v7`, ...
    #[serde(default)]
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform { os: "linux".into(), architecture: "amd64".into(), variant: None }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        match parts[..] {
            [os, arch] if !os.is_empty() && !arch.is_empty() => {
                Ok(Platform { os: os.into(), architecture: arch.into(), variant: None })
            }
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform { os: os.into(), architecture: arch.into(), variant: Some(variant.into()) })
            }
            _ => Err(format!("bad platform {s:?}: expected OS/ARCH or OS/ARCH/VARIANT (linux/amd64)")),
        }
    }
}

impl Platform {
    /// Whether an index entry for `other` can run as `self` (a missing variant matches any).
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || other.variant.is_none() || self.variant == other.variant)
    }
}

/// Picks the manifest for `platform` among an index's entries. Entries without a platform
/// (single-image layouts) match; attestations (`unknown/unknown`) never do.
pub fn select_manifest<'a>(
    entries: &'a [Descriptor],
    platform: &Platform,
    what: &str,
) -> Result<&'a Descriptor, ImageError> {
    let candidates: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| d.platform.as_ref().is_none_or(|p| platform.matches(p)))
        .filter(|d| d.platform.is_some() || !d.annotations.contains_key("vnd.docker.reference.type"))
        .collect();
    candidates.first().copied().ok_or_else(|| {
        let available: Vec<String> =
            entries.iter().filter_map(|d| d.platform.as_ref()).map(ToString::to_string).collect();
        ImageError::image(
            what,
            format!(
                "no manifest for platform {platform} (available: {}); use --platform",
                available.join(", ")
            ),
        )
    })
}

/// The parts of an image config the scanners read.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct ImageConfig {
    /// `amd64`, ...
    #[serde(default)]
    pub architecture: String,
    /// `linux`, ...
    #[serde(default)]
    pub os: String,
    /// The container defaults.
    #[serde(default)]
    pub config: ContainerConfig,
    /// Layer diff ids, in order.
    #[serde(default)]
    pub rootfs: RootFsConfig,
    /// Build history.
    #[serde(default)]
    pub history: Vec<History>,
}

/// `config` of an image config: user, environment, ports, health check, labels.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `USER`.
    #[serde(default)]
    pub user: Option<String>,
    /// `ENV`, as `KEY=value`.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// `EXPOSE`, as `80/tcp` keys.
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    /// `HEALTHCHECK`.
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    /// `LABEL`s.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// `ENTRYPOINT`.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
}

/// `Healthcheck` of a container config.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]`, or `["NONE"]`.
    #[serde(default)]
    pub test: Option<Vec<String>>,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct RootFsConfig {
    /// Digests of the uncompressed layers.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// One build step of an image's history.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct History {
    /// The instruction (`/bin/sh -c #(nop) ENV ...`, `RUN ...`).
    #[serde(default)]
    pub created_by: Option<String>,
    /// True when the step made no layer.
    #[serde(default)]
    pub empty_layer: Option<bool>,
}

impl ImageConfig {
    /// Parses a config blob; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, ImageError> {
        serde_json::from_slice(bytes)
            .map_err(|e| ImageError::image(what, format!("not an image config: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_parsing_and_selection() {
        let arm: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(arm.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        let index = Document::parse(
            br#"{"manifests": [
                {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": "sha256:c", "platform": {"os": "unknown", "architecture": "unknown"}}]}"#,
            "i",
        )
        .unwrap();
        let entries = index.manifests.as_deref().unwrap();
        assert_eq!(select_manifest(entries, &Platform::default(), "i").unwrap().digest, "sha256:b");
        assert_eq!(
            select_manifest(entries, &"linux/arm64".parse().unwrap(), "i").unwrap().digest,
            "sha256:a"
        );
        let err = select_manifest(entries, &"linux/s390x".parse().unwrap(), "i").unwrap_err();
        assert!(err.to_string().contains("linux/arm64/v8, linux/amd64"), "{err}");
        assert!(Document::parse(br#"{"schemaVersion": 1, "fsLayers": []}"#, "m").is_err());
    }
}
