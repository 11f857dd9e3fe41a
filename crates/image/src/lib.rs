//! Container image scanning for kubesecops.
//!
//! An image comes from a docker-archive tarball, an OCI archive or layout directory, a
//! registry, or an unpacked root filesystem ([`open_image`], [`RootFs`]). Its layers are read
//! once each, as streams, with their digests checked on the way ([`scan_image`]); the files the
//! detectors need are kept in a [`LayeredFs`], a virtual view of the layers with whiteouts
//! applied. Detectors read package databases (dpkg, apk), `/etc/os-release`, language
//! lockfiles and binaries (Go build info, `cargo auditable`, jars) from a [`FileSource`], so
//! the same detectors run on directories and images. Every [`Package`] records the file (and
//! layer) it came from. [`compliance`] holds the image and Dockerfile rules.

pub mod binary;
pub mod compliance;
pub mod detect;
pub mod digest;
pub mod dockerfile;
pub mod jar;
pub mod layers;
pub mod limits;
pub mod oci;
pub mod os_release;
pub mod reference;
pub mod registry;
pub mod scan;
pub mod source;
pub mod tarindex;
pub mod testimage;

pub use detect::{detect_packages, Inventory, Package};
pub use layers::{LayerObserver, LayeredFs};
pub use limits::Limits;
pub use oci::{ImageConfig, Platform};
pub use os_release::OsRelease;
pub use scan::{open_image, scan_image, ImageScan, LayerInfo, OpenOptions, OpenedImage};
pub use source::{FileSource, FileVisitor, RootFs};

/// Errors of reading an image, a file tree or a package file.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file or directory could not be read.
    // The cause is in the message, not a `#[source]`, so that error chains do not repeat it.
    #[error("{path}: {error}")]
    Io {
        /// The path (on the host or inside the image).
        path: String,
        /// The cause.
        error: std::io::Error,
    },
    /// A package file is malformed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file inside the image.
        path: String,
        /// Line of the problem (1-based; 0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The input is not a readable image: not an archive, truncated, missing parts.
    #[error("{input}: {message}")]
    Image {
        /// The image reference or archive path, with the part inside it when known.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// Content does not have the digest its manifest promises.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    Digest {
        /// The blob or layer.
        what: String,
        /// The digest the manifest or config names.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
    /// A size or decompression limit was exceeded.
    #[error("{what}: {message}")]
    Limit {
        /// The layer or file.
        what: String,
        /// Which limit, and how to raise it.
        message: String,
    },
    /// A registry request failed.
    #[error("registry {registry}: {message}")]
    Registry {
        /// Registry host.
        registry: String,
        /// What failed.
        message: String,
    },
}

impl ImageError {
    /// An [`ImageError::Image`] error.
    pub fn image(input: impl Into<String>, message: impl Into<String>) -> Self {
        ImageError::Image { input: input.into(), message: message.into() }
    }
}
