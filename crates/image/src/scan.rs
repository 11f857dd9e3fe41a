//! Opening an image (archive, layout, registry) and reading its layers once each.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;

use crate::digest::{self, HashingReader};
use crate::layers::{LayerObserver, LayeredFs};
use crate::limits::Limits;
use crate::oci::{select_manifest, Document, ImageConfig, Platform};
use crate::reference::Reference;
use crate::registry::{credentials_from, docker_config_path, Registry};
use crate::tarindex::{self, Member};
use crate::ImageError;

/// How to open an image.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The platform to pick from multi-platform indexes (default `linux/amd64`).
    pub platform: Platform,
    /// Registries (`host[:port]`) spoken to over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Size limits.
    pub limits: Limits,
    /// The docker `config.json` for registry credentials (default: `$DOCKER_CONFIG` or
    /// `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

/// One layer as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDesc {
    /// Where the blob is: a member of the archive, a path of the layout, or a registry digest.
    pub locator: String,
    /// Digest of the blob as stored (compressed), when known.
    pub digest: Option<String>,
    /// Digest of the uncompressed tar, from the config.
    pub diff_id: Option<String>,
    /// Media type, when the manifest names it.
    pub media_type: String,
}

impl LayerDesc {
    /// The id recorded on packages: the blob digest, else the diff id, else the locator.
    pub fn id(&self) -> &str {
        self.digest.as_deref().or(self.diff_id.as_deref()).unwrap_or(&self.locator)
    }
}

enum Blobs {
    Archive { file: File, members: BTreeMap<String, Member> },
    Directory(PathBuf),
    Registry(Box<Registry>),
}

/// An image whose manifest and config have been read and verified; its layers are read by
/// [`scan_image`].
pub struct OpenedImage {
    /// What the user named (path or reference).
    pub input: String,
    /// `docker-archive`, `oci-archive`, `oci-layout` or `registry`.
    pub kind: &'static str,
    /// The image config.
    pub config: ImageConfig,
    /// The config's digest, when known.
    pub config_digest: Option<String>,
    /// Tags the archive or reference names (`repo:tag`).
    pub tags: Vec<String>,
    /// Manifest annotations (`org.opencontainers.image.base.name`, ...).
    pub annotations: BTreeMap<String, String>,
    /// The layers, bottom first.
    pub layers: Vec<LayerDesc>,
    blobs: Blobs,
    limits: Limits,
}

impl std::fmt::Debug for OpenedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedImage")
            .field("input", &self.input)
            .field("kind", &self.kind)
            .field("layers", &self.layers)
            .finish()
    }
}

/// A layer after reading.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    /// The layer id recorded on packages (blob digest, else diff id).
    pub digest: String,
    /// Digest of the uncompressed tar.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Bytes of the blob read.
    pub size: u64,
    /// Uncompressed size.
    pub uncompressed_size: u64,
    /// The build step that made it, from the config history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// The result of reading every layer: the virtual file tree and what each layer was.
#[derive(Debug)]
pub struct ImageScan {
    /// The files kept for detectors, whiteouts applied.
    pub fs: LayeredFs,
    /// The layers, bottom first.
    pub layers: Vec<LayerInfo>,
}

fn looks_like_path(input: &str) -> bool {
    input.starts_with(['/', '.', '~'])
        || [".tar", ".tar.gz", ".tgz", ".oci"].iter().any(|ext| input.ends_with(ext))
        || Reference::parse(input).is_none()
}

/// Opens `input`: an existing file (docker-archive or OCI archive), an existing directory (OCI
/// layout), or else an image reference pulled from its registry.
pub fn open_image(input: &str, options: &OpenOptions) -> Result<OpenedImage, ImageError> {
    let path = Path::new(input);
    if path.is_dir() {
        let blobs = Blobs::Directory(path.to_path_buf());
        return open_local(input, blobs, options);
    }
    if path.is_file() {
        let mut file = File::open(path).map_err(|e| ImageError::Io { path: input.into(), error: e })?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(|e| ImageError::Io { path: input.into(), error: e })?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] || n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(ImageError::image(
                input,
                "compressed archive: decompress it first (the image tarball must be seekable)",
            ));
        }
        let members = tarindex::index(&mut file, input)?;
        return open_local(input, Blobs::Archive { file, members }, options);
    }
    if looks_like_path(input) {
        return Err(ImageError::Io {
            path: input.into(),
            error: io::Error::new(
                io::ErrorKind::NotFound,
                "no such file or directory (and not an image reference)",
            ),
        });
    }
    open_registry(input, options)
}

impl Blobs {
    fn exists(&self, locator: &str) -> bool {
        match self {
            Blobs::Archive { members, .. } => members.contains_key(locator),
            Blobs::Directory(dir) => dir.join(locator).is_file(),
            Blobs::Registry(_) => true,
        }
    }

    fn open(&mut self, locator: &str, input: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        match self {
            Blobs::Archive { file, members } => {
                let member = *members.get(locator).ok_or_else(|| {
                    ImageError::image(input, format!("{locator} is missing from the archive"))
                })?;
                file.seek(SeekFrom::Start(member.offset))
                    .map_err(|e| ImageError::Io { path: input.into(), error: e })?;
                Ok(Box::new(Read::take(&*file, member.size)))
            }
            Blobs::Directory(dir) => {
                let path = dir.join(locator);
                let file = File::open(&path).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        ImageError::image(input, format!("{locator} is missing from the layout"))
                    } else {
                        ImageError::Io { path: path.display().to_string(), error: e }
                    }
                })?;
                Ok(Box::new(file))
            }
            Blobs::Registry(registry) => Ok(registry.blob(locator)?),
        }
    }

    fn read(&mut self, locator: &str, input: &str, limit: u64) -> Result<Vec<u8>, ImageError> {
        let mut bytes = Vec::new();
        self.open(locator, input)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::image(input, format!("{locator}: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(ImageError::Limit {
                what: format!("{input}: {locator}"),
                message: format!("larger than {limit} bytes (documents are small; this is not an image)"),
            });
        }
        Ok(bytes)
    }
}

/// `blobs/sha256/<hex>` of a digest.
fn blob_path(digest: &str, what: &str) -> Result<String, ImageError> {
    digest::validate(digest, what)?;
    Ok(format!("blobs/{}", digest.replacen(':', "/", 1)))
}

/// The digest named by an archive member path, when the name is one (`blobs/sha256/<hex>`,
/// `<hex>.json`, `<hex>/layer.tar` is not: that hex is a v1 id).
fn digest_of_member(locator: &str) -> Option<String> {
    let hex = locator.strip_prefix("blobs/sha256/").or_else(|| locator.strip_suffix(".json"))?;
    let digest = format!("sha256:{hex}");
    digest::validate(&digest, locator).ok().map(|_| digest)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn open_local(input: &str, mut blobs: Blobs, options: &OpenOptions) -> Result<OpenedImage, ImageError> {
    let limits = options.limits;
    let is_archive = matches!(blobs, Blobs::Archive { .. });
    if blobs.exists("manifest.json") {
        let bytes = blobs.read("manifest.json", input, limits.max_document_bytes)?;
        let manifests: Vec<ArchiveManifest> = serde_json::from_slice(&bytes).map_err(|e| {
            ImageError::image(
                format!("{input}: manifest.json"),
                format!("not a docker-archive manifest: {e}"),
            )
        })?;
        let manifest = manifests
            .into_iter()
            .next()
            .ok_or_else(|| ImageError::image(format!("{input}: manifest.json"), "lists no image"))?;
        let config_locator = tarindex_name(&manifest.config);
        let config_bytes = blobs.read(&config_locator, input, limits.max_document_bytes)?;
        let config_digest = digest_of_member(&config_locator);
        if let Some(expected) = &config_digest {
            digest::verify(&config_bytes, expected, &format!("{input}: config {config_locator}"))?;
        }
        let config = ImageConfig::parse(&config_bytes, &format!("{input}: {config_locator}"))?;
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers.len() {
            return Err(ImageError::image(
                input,
                format!(
                    "manifest.json lists {} layers but the config has {} diff_ids",
                    manifest.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let layers = manifest
            .layers
            .iter()
            .zip(diff_ids)
            .map(|(layer, diff_id)| {
                let locator = tarindex_name(layer);
                LayerDesc {
                    digest: digest_of_member(&locator),
                    diff_id: Some(diff_id.clone()),
                    locator,
                    media_type: String::new(),
                }
            })
            .collect();
        return Ok(OpenedImage {
            input: input.to_string(),
            kind: if is_archive { "docker-archive" } else { "docker-directory" },
            config_digest: config_digest.or_else(|| Some(digest::sha256_digest(&config_bytes))),
            config,
            tags: manifest.repo_tags.unwrap_or_default(),
            annotations: BTreeMap::new(),
            layers,
            blobs,
            limits,
        });
    }
    if blobs.exists("index.json") {
        let bytes = blobs.read("index.json", input, limits.max_document_bytes)?;
        let index = Document::parse(&bytes, &format!("{input}: index.json"))?;
        let mut tags = Vec::new();
        let (manifest, _) = resolve(index, &options.platform, input, &mut tags, |digest| {
            let locator = blob_path(digest, input)?;
            let bytes = blobs.read(&locator, input, limits.max_document_bytes)?;
            digest::verify(&bytes, digest, &format!("{input}: {locator}"))?;
            Ok(bytes)
        })?;
        return finish_manifest(
            input,
            if is_archive { "oci-archive" } else { "oci-layout" },
            manifest,
            blobs,
            tags,
            limits,
            true,
        );
    }
    let what = if is_archive { "archive" } else { "directory" };
    Err(ImageError::image(
        input,
        format!("not an image {what}: it has neither manifest.json (docker save) nor index.json (OCI layout); for an unpacked root filesystem use --rootfs"),
    ))
}

/// Normalised archive member name.
fn tarindex_name(name: &str) -> String {
    crate::layers::normalize_path(name.as_bytes()).unwrap_or_default()
}

/// Follows indexes down to one manifest for `platform`. `fetch` returns a verified blob.
fn resolve(
    mut document: Document,
    platform: &Platform,
    input: &str,
    tags: &mut Vec<String>,
    mut fetch: impl FnMut(&str) -> Result<Vec<u8>, ImageError>,
) -> Result<(Document, Option<String>), ImageError> {
    let mut manifest_digest = None;
    for _ in 0..8 {
        if !document.is_index() {
            return Ok((document, manifest_digest));
        }
        let entries = document.manifests.as_deref().unwrap_or_default();
        let chosen = select_manifest(entries, platform, input)?;
        if let Some(name) = chosen.annotations.get("org.opencontainers.image.ref.name") {
            tags.push(name.clone());
        }
        let digest = chosen.digest.clone();
        let bytes = fetch(&digest)?;
        document = Document::parse(&bytes, &format!("{input}: {digest}"))?;
        manifest_digest = Some(digest);
    }
    Err(ImageError::image(input, "indexes nested more than 8 deep"))
}

fn finish_manifest(
    input: &str,
    kind: &'static str,
    manifest: Document,
    mut blobs: Blobs,
    tags: Vec<String>,
    limits: Limits,
    local: bool,
) -> Result<OpenedImage, ImageError> {
    let config_descriptor =
        manifest.config.clone().ok_or_else(|| ImageError::image(input, "manifest has no config"))?;
    let config_locator =
        if local { blob_path(&config_descriptor.digest, input)? } else { config_descriptor.digest.clone() };
    digest::validate(&config_descriptor.digest, input)?;
    let config_bytes = blobs.read(&config_locator, input, limits.max_document_bytes)?;
    digest::verify(&config_bytes, &config_descriptor.digest, &format!("{input}: config"))?;
    let config = ImageConfig::parse(&config_bytes, &format!("{input}: config {}", config_descriptor.digest))?;
    let descriptors = manifest.layers.clone().unwrap_or_default();
    let diff_ids = &config.rootfs.diff_ids;
    if !diff_ids.is_empty() && diff_ids.len() != descriptors.len() {
        return Err(ImageError::image(
            input,
            format!(
                "manifest lists {} layers but the config has {} diff_ids",
                descriptors.len(),
                diff_ids.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    for (i, d) in descriptors.iter().enumerate() {
        digest::validate(&d.digest, input)?;
        layers.push(LayerDesc {
            locator: if local { blob_path(&d.digest, input)? } else { d.digest.clone() },
            digest: Some(d.digest.clone()),
            diff_id: diff_ids.get(i).cloned(),
            media_type: d.media_type.clone(),
        });
    }
    Ok(OpenedImage {
        input: input.to_string(),
        kind,
        config,
        config_digest: Some(config_descriptor.digest),
        tags,
        annotations: manifest.annotations,
        layers,
        blobs,
        limits,
    })
}

fn open_registry(input: &str, options: &OpenOptions) -> Result<OpenedImage, ImageError> {
    let reference =
        Reference::parse(input).ok_or_else(|| ImageError::image(input, "not an image reference"))?;
    let insecure = options.insecure_registries.iter().any(|h| h.trim_end_matches('/') == reference.registry);
    let credentials = match options.docker_config.clone().or_else(docker_config_path) {
        Some(config) => credentials_from(&config, &reference.registry)?,
        None => None,
    };
    let mut registry = Registry::new(&reference, insecure, credentials, options.limits.max_document_bytes);
    let (bytes, _) = registry.manifest(reference.manifest_ref())?;
    if let Some(digest) = &reference.digest {
        digest::verify(&bytes, digest, &format!("{reference}: manifest"))?;
    }
    let document = Document::parse(&bytes, &format!("{reference}: manifest"))?;
    let mut tags: Vec<String> = reference
        .tag
        .iter()
        .map(|t| format!("{}/{}:{t}", reference.registry, reference.repository))
        .collect();
    let mut ignored = Vec::new();
    let (manifest, _) = resolve(document, &options.platform, input, &mut ignored, |digest| {
        digest::validate(digest, input)?;
        let (bytes, _) = registry.manifest(digest)?;
        digest::verify(&bytes, digest, &format!("{reference}: manifest {digest}"))?;
        Ok(bytes)
    })?;
    tags.dedup();
    finish_manifest(
        input,
        "registry",
        manifest,
        Blobs::Registry(Box::new(registry)),
        tags,
        options.limits,
        false,
    )
}

/// Compression of a layer blob, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
    Plain,
}

fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::Plain
    }
}

/// Fails the stream once it produced more than the limits allow.
struct Bounded<R> {
    inner: R,
    produced: u64,
    compressed: Rc<Cell<u64>>,
    limits: Limits,
    tripped: Rc<RefCell<Option<String>>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let limits = &self.limits;
        let message = if self.produced > limits.max_layer_bytes {
            Some(format!("uncompressed layer larger than {} bytes", limits.max_layer_bytes))
        } else if self.produced > limits.ratio_floor_bytes
            && self.produced > self.compressed.get().saturating_mul(limits.max_ratio)
        {
            Some(format!(
                "decompresses to more than {} times its compressed size (a decompression bomb?)",
                limits.max_ratio
            ))
        } else {
            None
        };
        if let Some(message) = message {
            *self.tripped.borrow_mut() = Some(message.clone());
            return Err(io::Error::other(message));
        }
        Ok(n)
    }
}

/// Reads one layer blob (gzip, zstd or plain tar): checks its digests and applies it to `fs`.
pub fn read_layer(
    raw: &mut dyn Read,
    layer: &LayerDesc,
    fs: &mut LayeredFs,
    limits: &Limits,
    observer: Option<&mut dyn LayerObserver>,
) -> Result<LayerInfo, ImageError> {
    let id = layer.id().to_string();
    let corrupt =
        |e: io::Error| ImageError::image(&id, format!("unreadable layer (truncated or corrupt): {e}"));
    let mut compressed = HashingReader::new(raw, true);
    let counter = compressed.counter();
    let tripped = Rc::new(RefCell::new(None));
    let (format, uncompressed_size, diff_hash, applied) = {
        let mut buffered = BufReader::with_capacity(256 * 1024, &mut compressed);
        let head = buffered.fill_buf().map_err(corrupt)?;
        if head.is_empty() {
            return Err(ImageError::image(&id, "layer blob is empty"));
        }
        let format = sniff(head);
        let decoder: Box<dyn Read + '_> = match format {
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Box::new(
                ruzstd::decoding::StreamingDecoder::new(buffered)
                    .map_err(|e| ImageError::image(&id, format!("bad zstd layer: {e}")))?,
            ),
            Compression::Plain => Box::new(buffered),
        };
        let bounded = Bounded {
            inner: decoder,
            produced: 0,
            compressed: counter,
            limits: *limits,
            tripped: Rc::clone(&tripped),
        };
        let mut uncompressed =
            HashingReader::new(bounded, format != Compression::Plain && layer.diff_id.is_some());
        let applied = fs
            .apply_layer(&mut uncompressed, &id, limits, observer)
            .and_then(|()| io::copy(&mut uncompressed, &mut io::sink()).map(|_| ()).map_err(corrupt));
        let size = uncompressed.count();
        (format, size, uncompressed.finish(), applied)
    };
    if let Some(message) = tripped.borrow_mut().take() {
        return Err(ImageError::Limit { what: format!("layer {id}"), message });
    }
    applied?;
    io::copy(&mut compressed, &mut io::sink()).map_err(corrupt)?;
    let size = compressed.count();
    let blob_hash = compressed.finish().unwrap_or_default();
    if let Some(expected) = &layer.digest {
        if *expected != blob_hash {
            return Err(ImageError::Digest {
                what: format!("layer {}", layer.locator),
                expected: expected.clone(),
                actual: blob_hash,
            });
        }
    }
    if let Some(expected) = &layer.diff_id {
        let actual =
            if format == Compression::Plain { blob_hash.clone() } else { diff_hash.unwrap_or_default() };
        if *expected != actual {
            return Err(ImageError::Digest {
                what: format!("layer {} (uncompressed, diff_id)", layer.locator),
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(LayerInfo { digest: id, diff_id: layer.diff_id.clone(), size, uncompressed_size, created_by: None })
}

/// Reads every layer of `image` in order, once, verifying digests; `observer` sees the
/// files it asks for in every layer.
pub fn scan_image(
    image: &mut OpenedImage,
    mut observer: Option<&mut dyn LayerObserver>,
) -> Result<ImageScan, ImageError> {
    let mut fs = LayeredFs::new();
    let mut layers = Vec::new();
    let steps: Vec<Option<String>> = image
        .config
        .history
        .iter()
        .filter(|h| h.empty_layer != Some(true))
        .map(|h| h.created_by.clone())
        .collect();
    let limits = image.limits;
    for (i, layer) in image.layers.clone().iter().enumerate() {
        let mut raw = image.blobs.open(&layer.locator, &image.input)?;
        let observer = observer.as_mut().map(|o| &mut **o as &mut dyn LayerObserver);
        let mut info = read_layer(&mut raw, layer, &mut fs, &limits, observer)?;
        info.created_by = steps.get(i).cloned().flatten();
        layers.push(info);
    }
    Ok(ImageScan { fs, layers })
}
