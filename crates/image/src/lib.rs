//! Package discovery for kubesecops' image scanner.
//!
//! Detectors read package databases (dpkg, apk), `/etc/os-release` and language lockfiles
//! (Cargo.lock, package-lock.json, requirements.txt, go.mod) from a [`FileSource`]: a virtual
//! file tree, so the same detectors run on a root filesystem directory ([`RootFs`]) and, later,
//! on image layers. Every [`Package`] records the file it came from.

pub mod detect;
pub mod os_release;
pub mod source;

pub use detect::{detect_packages, Inventory, Package};
pub use os_release::OsRelease;
pub use source::{FileSource, FileVisitor, RootFs};

/// Errors of reading a file tree or a package file.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path (on the host or inside the image).
        path: String,
        /// The cause.
        source: std::io::Error,
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
}
