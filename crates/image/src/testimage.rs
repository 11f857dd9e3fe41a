//! Writers of small images for tests, benchmarks and fuzzing: layer tars (with whiteouts,
//! links and hostile names), docker-archive tarballs, OCI layouts and OCI archives.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::digest::sha256_digest;

/// One entry of a layer tar.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A regular file with its mode.
    File(String, Vec<u8>, u32),
    /// A directory.
    Dir(String),
    /// A symbolic link `(path, target)`.
    Symlink(String, String),
    /// A hard link `(path, target)`.
    Hardlink(String, String),
    /// A whiteout hiding `path` (writes `.wh.NAME`).
    Whiteout(String),
    /// An opaque-directory marker in `dir`.
    Opaque(String),
    /// A regular file whose name is written verbatim (`../x`, `/abs`), bypassing checks.
    RawName(Vec<u8>, Vec<u8>),
}

impl Entry {
    /// A regular file with mode 0644.
    pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Entry {
        Entry::File(path.to_string(), data.into(), 0o644)
    }

    /// An executable file (mode 0755).
    pub fn exe(path: &str, data: impl Into<Vec<u8>>) -> Entry {
        Entry::File(path.to_string(), data.into(), 0o755)
    }
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(0);
    header
}

/// Writes a raw name into the header's 100-byte name field (longer names are cut).
fn set_raw_name(header: &mut tar::Header, name: &[u8]) {
    let field = &mut header.as_old_mut().name;
    field.fill(0);
    let n = name.len().min(field.len());
    field[..n].copy_from_slice(&name[..n]);
}

/// An uncompressed layer tar of `entries`.
pub fn layer(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let io = |r: std::io::Result<()>| r.expect("writing to memory");
    for entry in entries {
        match entry {
            Entry::File(path, data, mode) => {
                let mut h = header(tar::EntryType::Regular, data.len() as u64, *mode);
                io(builder.append_data(&mut h, path, data.as_slice()));
            }
            Entry::Dir(path) => {
                let mut h = header(tar::EntryType::Directory, 0, 0o755);
                io(builder.append_data(&mut h, path, std::io::empty()));
            }
            Entry::Symlink(path, target) => {
                let mut h = header(tar::EntryType::Symlink, 0, 0o777);
                io(builder.append_link(&mut h, path, target));
            }
            Entry::Hardlink(path, target) => {
                let mut h = header(tar::EntryType::Link, 0, 0o644);
                io(builder.append_link(&mut h, path, target));
            }
            Entry::Whiteout(path) => {
                let (dir, name) = path.rsplit_once('/').map_or(("", path.as_str()), |(d, n)| (d, n));
                let marker = if dir.is_empty() { format!(".wh.{name}") } else { format!("{dir}/.wh.{name}") };
                let mut h = header(tar::EntryType::Regular, 0, 0o644);
                io(builder.append_data(&mut h, marker, std::io::empty()));
            }
            Entry::Opaque(dir) => {
                let mut h = header(tar::EntryType::Regular, 0, 0o644);
                io(builder.append_data(&mut h, format!("{dir}/.wh..wh..opq"), std::io::empty()));
            }
            Entry::RawName(name, data) => {
                let mut h = header(tar::EntryType::Regular, data.len() as u64, 0o644);
                set_raw_name(&mut h, name);
                h.set_cksum();
                io(builder.append(&h, data.as_slice()));
            }
        }
    }
    builder.into_inner().expect("writing to memory")
}

/// Gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// An image config for layers with these diff ids; `container` becomes its `config`.
pub fn config(diff_ids: &[String], container: Value) -> Vec<u8> {
    let history: Vec<Value> =
        diff_ids.iter().enumerate().map(|(i, _)| json!({"created_by": format!("step {i}")})).collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": container,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .expect("serialising JSON")
}

/// Appends a file to a tar being built.
pub fn append(builder: &mut tar::Builder<impl Write>, name: &str, data: &[u8]) {
    let mut h = header(tar::EntryType::Regular, data.len() as u64, 0o644);
    builder.append_data(&mut h, name, data).expect("writing the archive");
}

/// A `docker save` tarball of uncompressed `layers` with the given container config, written
/// to `out` (streamed: layers are written one after another).
pub fn docker_archive(
    out: impl Write,
    layers: &[Vec<u8>],
    container: Value,
    tag: &str,
) -> std::io::Result<()> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_digest(l)).collect();
    let config = config(&diff_ids, container);
    let config_name = format!("{}.json", &sha256_digest(&config)[7..]);
    let layer_names: Vec<String> = diff_ids.iter().map(|d| format!("{}/layer.tar", &d[7..])).collect();
    let manifest = json!([{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]);
    let mut builder = tar::Builder::new(out);
    append(&mut builder, &config_name, &config);
    for (name, layer) in layer_names.iter().zip(layers) {
        append(&mut builder, name, layer);
    }
    append(&mut builder, "manifest.json", &serde_json::to_vec(&manifest).expect("JSON"));
    builder.into_inner()?.flush()
}

/// The files of an OCI layout, as `(path, contents)` pairs, for `layers` (blobs as stored,
/// possibly compressed, with their diff ids): one linux/amd64 manifest tagged `tag`.
pub fn oci_layout_files(layers: &[(Vec<u8>, String)], container: Value, tag: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let diff_ids: Vec<String> = layers.iter().map(|(_, d)| d.clone()).collect();
    let config = config(&diff_ids, container);
    let mut blob = |bytes: Vec<u8>| {
        let digest = sha256_digest(&bytes);
        let size = bytes.len();
        files.push((format!("blobs/sha256/{}", &digest[7..]), bytes));
        (digest, size)
    };
    let (config_digest, config_size) = blob(config);
    let layer_descriptors: Vec<Value> = layers
        .iter()
        .map(|(bytes, _)| {
            let media_type = if bytes.starts_with(&[0x1f, 0x8b]) {
                "application/vnd.oci.image.layer.v1.tar+gzip"
            } else {
                "application/vnd.oci.image.layer.v1.tar"
            };
            let (digest, size) = blob(bytes.clone());
            json!({"mediaType": media_type, "digest": digest, "size": size})
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": layer_descriptors,
    }))
    .expect("JSON");
    let (manifest_digest, manifest_size) = blob(manifest);
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest_size,
        "platform": {"os": "linux", "architecture": "amd64"},
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }]});
    files.push(("oci-layout".to_string(), br#"{"imageLayoutVersion": "1.0.0"}"#.to_vec()));
    files.push(("index.json".to_string(), serde_json::to_vec(&index).expect("JSON")));
    files
}

/// Writes layout files into `dir`.
pub fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

/// A tar of layout files (an OCI archive).
pub fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        append(&mut builder, name, bytes);
    }
    builder.into_inner().expect("writing to memory")
}
