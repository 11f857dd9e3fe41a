//! Virtual file trees the detectors read.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::detect::Package;
use crate::limits::Limits;
use crate::{binary, jar, ImageError};

/// Largest file handed to a detector; package databases and lockfiles are far smaller.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Receives `(path, contents)` of each visited file.
pub type FileVisitor<'a> = dyn FnMut(&str, &[u8]) -> Result<(), ImageError> + 'a;

/// A tree of files, addressed by `/`-separated paths relative to its root (`var/lib/dpkg/status`).
pub trait FileSource {
    /// Calls `visit(path, contents)` for every regular file whose path `wanted` accepts, in a
    /// stable order. Files larger than [`MAX_FILE_BYTES`] are an error naming them.
    fn visit_files(
        &mut self,
        wanted: &dyn Fn(&str) -> bool,
        visit: &mut FileVisitor<'_>,
    ) -> Result<(), ImageError>;

    /// Packages embedded in binaries (Go build info, `cargo auditable`) and jars.
    fn embedded_packages(&mut self, _limits: &Limits) -> Result<Vec<Package>, ImageError> {
        Ok(Vec::new())
    }

    /// The image layer that provides `path`, for sources made of layers.
    fn layer_of(&self, _path: &str) -> Option<String> {
        None
    }
}

/// A root filesystem unpacked in a host directory (`--rootfs DIR`).
#[derive(Debug, Clone)]
pub struct RootFs {
    root: PathBuf,
}

impl RootFs {
    /// A tree rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |error| ImageError::Io { path: path.display().to_string(), error }
}

impl FileSource for RootFs {
    fn visit_files(
        &mut self,
        wanted: &dyn Fn(&str) -> bool,
        visit: &mut FileVisitor<'_>,
    ) -> Result<(), ImageError> {
        // Iterative walk; symbolic links are not followed, so links in the tree cannot lead
        // outside it or into cycles.
        let mut pending = vec![(self.root.clone(), String::new())];
        while let Some((dir, relative)) = pending.pop() {
            let mut entries: Vec<_> = fs::read_dir(&dir)
                .map_err(io_error(&dir))?
                .collect::<Result<_, _>>()
                .map_err(io_error(&dir))?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries.into_iter().rev() {
                let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
                let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
                let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
                if file_type.is_dir() {
                    pending.push((entry.path(), path));
                } else if file_type.is_file() && wanted(&path) {
                    let host_path = entry.path();
                    let file = fs::File::open(&host_path).map_err(io_error(&host_path))?;
                    let mut bytes = Vec::new();
                    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io_error(&host_path))?;
                    if bytes.len() as u64 > MAX_FILE_BYTES {
                        return Err(ImageError::Parse {
                            path,
                            line: 0,
                            message: format!("larger than {MAX_FILE_BYTES} bytes"),
                        });
                    }
                    visit(&path, &bytes)?;
                }
            }
        }
        Ok(())
    }

    fn embedded_packages(&mut self, limits: &Limits) -> Result<Vec<Package>, ImageError> {
        use std::os::unix::fs::PermissionsExt;
        let mut found = Vec::new();
        let mut pending = vec![(self.root.clone(), String::new())];
        while let Some((dir, relative)) = pending.pop() {
            let mut entries: Vec<_> = fs::read_dir(&dir)
                .map_err(io_error(&dir))?
                .collect::<Result<_, _>>()
                .map_err(io_error(&dir))?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
                let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
                let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
                if file_type.is_dir() {
                    pending.push((entry.path(), path));
                    continue;
                }
                if !file_type.is_file() {
                    continue;
                }
                let meta = entry.metadata().map_err(io_error(&entry.path()))?;
                let archive = [".jar", ".war", ".ear"].iter().any(|ext| path.ends_with(ext));
                let executable = meta.permissions().mode() & 0o111 != 0 && meta.len() >= 64;
                if !(archive || executable) || meta.len() > limits.max_binary_bytes {
                    continue;
                }
                let bytes = fs::read(entry.path()).map_err(io_error(&entry.path()))?;
                if archive {
                    // A damaged jar is not a reason to stop the scan; it has no packages.
                    found.extend(jar::packages(&bytes, &path, limits).unwrap_or_default());
                } else if bytes.starts_with(b"\x7fELF") {
                    found.extend(binary::packages(&bytes, &path));
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_wanted_files_only_in_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("b/c")).unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        fs::write(dir.path().join("b/c/d.txt"), "d").unwrap();
        fs::write(dir.path().join("b/skip.bin"), "x").unwrap();
        let mut seen = Vec::new();
        RootFs::new(dir.path())
            .visit_files(&|p| p.ends_with(".txt"), &mut |p, bytes| {
                seen.push((p.to_string(), bytes.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![("a.txt".to_string(), b"a".to_vec()), ("b/c/d.txt".to_string(), b"d".to_vec())]
        );
    }
}
