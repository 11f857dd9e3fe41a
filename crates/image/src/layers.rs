//! Image layers applied in order, with whiteouts, as a virtual file tree.
//!
//! Only the files the detectors read are kept (package databases, lockfiles, os-release);
//! executables and jars are reduced to the packages they embed as soon as they are read.
//! Nothing is written to disk and no path of a layer is ever used on the host, so `../`
//! entries, absolute paths and links cannot reach outside the view.

use std::collections::BTreeMap;
use std::io::Read;

use crate::detect::{FileKind, Package};
use crate::limits::Limits;
use crate::source::{FileSource, FileVisitor};
use crate::{binary, jar, ImageError};

/// Sees every regular file of every layer it asks for, deleted later or not: secrets in a
/// lower layer stay in the image even when an upper layer hides them.
pub trait LayerObserver {
    /// Whether to hand over the contents of the regular file `path` of `size` bytes.
    fn wants(&self, path: &str, size: u64) -> bool;
    /// The contents of a file it wanted, with the layer it is in.
    fn file(&mut self, layer: &str, path: &str, bytes: &[u8]);
}

#[derive(Debug)]
enum Content {
    /// A file a detector reads.
    File(Vec<u8>),
    /// Packages found inside a binary or jar.
    Derived(Vec<Package>),
}

#[derive(Debug)]
struct Node {
    layer: usize,
    content: Content,
}

/// The union of the layers applied so far, holding only the files scanners need.
#[derive(Debug, Default)]
pub struct LayeredFs {
    nodes: BTreeMap<String, Node>,
    layer_ids: Vec<String>,
    notices: Vec<String>,
}

/// Normalises a tar entry name to a relative `/`-separated path; `None` when `..` would
/// climb above the root (such an entry is skipped, never resolved on the host).
pub fn normalize_path(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Executables start with this: only ELF files are searched for build information.
const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

fn is_archive(path: &str) -> bool {
    [".jar", ".war", ".ear"].iter().any(|ext| path.ends_with(ext))
}

impl LayeredFs {
    /// An empty view.
    pub fn new() -> Self {
        Self::default()
    }

    /// Things skipped on the way (entries leaving the root, files over a limit).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The id of the layer that provides `path`, when the view holds it.
    pub fn layer_of(&self, path: &str) -> Option<&str> {
        self.nodes.get(path).and_then(|node| self.layer_ids.get(node.layer)).map(String::as_str)
    }

    /// The paths the view holds, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// Removes `path` and everything below it that lower layers provided.
    fn hide(&mut self, path: &str, current: usize) {
        if self.nodes.get(path).is_some_and(|node| node.layer < current) {
            self.nodes.remove(path);
        }
        self.hide_below(path, current);
    }

    /// Removes everything below directory `dir` (`""` is the root) that lower layers provided.
    fn hide_below(&mut self, dir: &str, current: usize) {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .filter(|(_, node)| node.layer < current)
            .map(|(key, _)| key.clone())
            .collect();
        for key in doomed {
            self.nodes.remove(&key);
        }
    }

    /// Applies one uncompressed layer tar stream on top of the view. `layer_id` is recorded
    /// on every package found in it. The stream is read up to the tar end-of-archive marker;
    /// the caller drains the rest (for its digest).
    pub fn apply_layer(
        &mut self,
        reader: impl Read,
        layer_id: &str,
        limits: &Limits,
        mut observer: Option<&mut dyn LayerObserver>,
    ) -> Result<(), ImageError> {
        let current = self.layer_ids.len();
        self.layer_ids.push(layer_id.to_string());
        let malformed = |e: std::io::Error| ImageError::image(layer_id, format!("unreadable layer tar: {e}"));
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(malformed)? {
            let mut entry = entry.map_err(malformed)?;
            let raw_path = entry.path_bytes().into_owned();
            let Some(path) = normalize_path(&raw_path) else {
                self.notices.push(format!(
                    "{layer_id}: entry {:?} leaves the image root; skipped",
                    String::from_utf8_lossy(&raw_path)
                ));
                continue;
            };
            if path.is_empty() {
                continue;
            }
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
            if name == ".wh..wh..opq" {
                self.hide_below(dir, current);
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let target = if dir.is_empty() { hidden.to_string() } else { format!("{dir}/{hidden}") };
                self.hide(&target, current);
                continue;
            }
            let entry_type = entry.header().entry_type();
            if entry_type.is_dir() {
                // A directory replaces a file of the same name below it.
                if self.nodes.get(&path).is_some_and(|node| node.layer < current) {
                    self.nodes.remove(&path);
                }
                continue;
            }
            // Any other entry replaces what lower layers had at this path.
            self.hide(&path, current);
            if entry_type.is_hard_link() {
                // A hard link shares the contents of a file already in the view.
                let target = entry.link_name_bytes().and_then(|t| normalize_path(&t));
                if let Some(node) = target.and_then(|t| self.nodes.get(&t)) {
                    let content = match &node.content {
                        Content::File(bytes) if FileKind::of(&path).is_some() => Content::File(bytes.clone()),
                        Content::Derived(packages) => Content::Derived(
                            packages.iter().cloned().map(|p| Package { path: path.clone(), ..p }).collect(),
                        ),
                        Content::File(_) => continue,
                    };
                    self.nodes.insert(path, Node { layer: current, content });
                }
                continue;
            }
            if !(entry_type.is_file() || entry_type.is_contiguous() || entry_type.is_gnu_sparse()) {
                continue; // symbolic links, devices, fifos: nothing to read
            }
            let size = entry.size();
            let kind = FileKind::of(&path);
            let executable = entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0);
            let archive_file = kind.is_none() && is_archive(&path);
            let maybe_binary = kind.is_none() && !archive_file && executable && size >= 64;
            let observed = observer.as_ref().is_some_and(|o| o.wants(&path, size));
            if kind.is_none() && !archive_file && !maybe_binary && !observed {
                continue;
            }
            let bound = if kind.is_some() { limits.max_file_bytes } else { limits.max_binary_bytes };
            let mut bytes = Vec::new();
            if maybe_binary && !observed {
                // Read the magic first: most executables in an image are scripts or tiny.
                let mut magic = [0u8; 4];
                entry.read_exact(&mut magic).map_err(malformed)?;
                if &magic != ELF_MAGIC {
                    continue;
                }
                bytes.extend_from_slice(&magic);
            }
            if size > bound && !observed {
                self.notices.push(format!(
                    "{layer_id}: {path}: {size} bytes, over the {bound}-byte limit for files read; skipped"
                ));
                continue;
            }
            bytes.reserve(size.min(bound) as usize);
            (&mut entry).take(bound + 1).read_to_end(&mut bytes).map_err(malformed)?;
            if let Some(observer) = observer.as_deref_mut().filter(|_| observed) {
                observer.file(layer_id, &path, &bytes);
            }
            if bytes.len() as u64 > bound {
                if kind.is_some() || maybe_binary || archive_file {
                    self.notices.push(format!(
                        "{layer_id}: {path}: over the {bound}-byte limit for files read; skipped"
                    ));
                }
                continue;
            }
            let content = if kind.is_some() {
                Content::File(bytes)
            } else if archive_file {
                match jar::packages(&bytes, &path, limits) {
                    Ok(found) if !found.is_empty() => Content::Derived(found),
                    Ok(_) => continue,
                    Err(e) => {
                        self.notices.push(format!("{layer_id}: {e}"));
                        continue;
                    }
                }
            } else if bytes.starts_with(ELF_MAGIC) {
                let found = binary::packages(&bytes, &path);
                if found.is_empty() {
                    continue;
                }
                Content::Derived(found)
            } else {
                continue;
            };
            self.nodes.insert(path, Node { layer: current, content });
        }
        Ok(())
    }

    /// Packages found inside binaries and jars, with their layers.
    pub fn embedded_packages(&self) -> Vec<Package> {
        let mut out = Vec::new();
        for node in self.nodes.values() {
            if let Content::Derived(packages) = &node.content {
                let layer = self.layer_ids.get(node.layer).cloned();
                out.extend(packages.iter().cloned().map(|p| Package { layer: layer.clone(), ..p }));
            }
        }
        out
    }
}

impl FileSource for LayeredFs {
    fn visit_files(
        &mut self,
        wanted: &dyn Fn(&str) -> bool,
        visit: &mut FileVisitor<'_>,
    ) -> Result<(), ImageError> {
        for (path, node) in &self.nodes {
            if let Content::File(bytes) = &node.content {
                if wanted(path) {
                    visit(path, bytes)?;
                }
            }
        }
        Ok(())
    }

    fn embedded_packages(&mut self, _limits: &Limits) -> Result<Vec<Package>, ImageError> {
        Ok(LayeredFs::embedded_packages(self))
    }

    fn layer_of(&self, path: &str) -> Option<String> {
        LayeredFs::layer_of(self, path).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses_escapes() {
        assert_eq!(normalize_path(b"./etc/os-release").as_deref(), Some("etc/os-release"));
        assert_eq!(normalize_path(b"/a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(normalize_path(b"a/../b").as_deref(), Some("b"));
        assert_eq!(normalize_path(b"../etc/passwd"), None);
        assert_eq!(normalize_path(b"a/../../x"), None);
    }
}
