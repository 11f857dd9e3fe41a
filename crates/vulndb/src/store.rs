//! The on-disk store of OSV records.
//!
//! A store is a directory of three files, rewritten whole by [`import`] and only read at scan
//! time:
//! - `records.jsonl`: one compacted [`Record`] per line, sorted by id;
//! - `index.tsv`: `ecosystem<TAB>name<TAB>offset<TAB>length` lines sorted by (ecosystem, name),
//!   pointing into the records file (ecosystem lowercased, PyPI names normalised);
//! - `meta.json`: format name, [`SCHEMA_VERSION`], build time, counts and import sources.
//!
//! Lookups binary-search the index held in memory and read only the records they need.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kubesecops_trust::{TrustError, TrustedKeys, Verified};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::osv::{normalize_name, Record, Severity};

/// Version of the on-disk layout; stores of another version must be re-imported.
pub const SCHEMA_VERSION: u32 = 2;
/// Value of `format` in `meta.json`.
const FORMAT: &str = "kubesecops-vulndb";
const META_FILE: &str = "meta.json";
const RECORDS_FILE: &str = "records.jsonl";
const INDEX_FILE: &str = "index.tsv";
/// Largest JSON file or archive entry read, so a hostile archive cannot exhaust memory.
const MAX_JSON_BYTES: u64 = 256 * 1024 * 1024;

/// Errors of importing and reading a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file is not valid JSON or not an OSV record.
    #[error("{path}:{line}:{column}: not a valid OSV record: {message}")]
    Parse {
        /// The file (`archive.zip!entry.json` inside archives).
        path: String,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A zip archive cannot be read.
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        /// The archive.
        path: String,
        /// The cause.
        source: zip::result::ZipError,
    },
    /// A file or archive entry is larger than the import limit.
    #[error("{path}: larger than the {limit} byte limit")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// No store at the given directory.
    #[error("no vulnerability database at {0} (run `kubesecops db import` first)")]
    Missing(String),
    /// The store was written by another schema version.
    #[error(
        "vulnerability database at {path} has schema {found}, this build reads {expected}: re-import it"
    )]
    Schema {
        /// Store directory.
        path: String,
        /// Schema found.
        found: u32,
        /// Schema expected.
        expected: u32,
    },
    /// The store's files are inconsistent or damaged.
    #[error("vulnerability database at {path} is damaged: {reason}")]
    Corrupt {
        /// Store directory or file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An input's signature is missing, malformed, by an untrusted key or does not match.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// A signed input is older than the one already imported under the same signed name.
    #[error(
        "{path}: signed {signed}, before the {name} already imported (signed {stored}): refusing a \
         rollback to older vulnerability data (`--allow-rollback` accepts it)"
    )]
    Rollback {
        /// The input file.
        path: String,
        /// The name it was signed under.
        name: String,
        /// Its signing time (RFC 3339).
        signed: String,
        /// The signing time of the imported one (RFC 3339).
        stored: String,
    },
    /// An unsigned import into a store that takes only signed inputs.
    #[error(
        "vulnerability database at {path} takes only signed inputs (its last import was verified \
         with key {keys}): pass `--trusted-key`"
    )]
    SignatureRequired {
        /// Store directory.
        path: String,
        /// Ids of the keys of its last import.
        keys: String,
    },
    /// Several inputs were refused; each error names its file.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Refused(Vec<StoreError>),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.display().to_string(), source }
}

/// One import source recorded in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// Path as given to `import` (made absolute).
    pub path: String,
    /// Records read from it at its last import.
    pub records: usize,
    /// Import time, seconds since the Unix epoch.
    pub imported: u64,
}

/// A signed file an import verified, under the name it was signed as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedFile {
    /// Path of the file as imported.
    pub path: String,
    /// Id of the key that signed it.
    pub key: String,
    /// When it was signed (`timestamp:` of the signature's trusted comment), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<u64>,
    /// Import time, seconds since the Unix epoch.
    pub imported: u64,
}

/// Contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Always `kubesecops-vulndb`.
    pub format: String,
    /// Layout version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// Build time, seconds since the Unix epoch.
    pub built: u64,
    /// Records stored (withdrawn ones included).
    pub records: usize,
    /// Withdrawn records.
    pub withdrawn: usize,
    /// Size of `records.jsonl`, to detect a half-written store.
    pub records_bytes: u64,
    /// Lines of `index.tsv`.
    pub index_entries: usize,
    /// Records per ecosystem (as written in the records).
    pub ecosystems: BTreeMap<String, usize>,
    /// Import sources, one per path.
    pub sources: Vec<Source>,
    /// Ids of the keys the last import was verified with. Once set, an import without trusted
    /// keys is refused ([`StoreError::SignatureRequired`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_keys: Vec<String>,
    /// Signed files imported, by the name they were signed under (`file:` of the trusted
    /// comment, else their file name): what rollbacks are judged against.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signed: BTreeMap<String, SignedFile>,
}

impl Meta {
    /// Time since the store was built.
    pub fn age(&self) -> Duration {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        Duration::from_secs(now.saturating_sub(self.built))
    }
}

/// What one `import` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records read from the inputs.
    pub read: usize,
    /// Records newly added or replacing an older version.
    pub stored: usize,
    /// Records in the store afterwards.
    pub total: usize,
}

/// A vulnerability affecting a queried package version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vuln {
    /// Record id.
    pub id: String,
    /// Aliases of the record.
    pub aliases: Vec<String>,
    /// Upstream vulnerabilities of a downstream record (Debian's, Ubuntu's: the CVE).
    pub upstream: Vec<String>,
    /// One-line summary, when the record has one.
    pub summary: Option<String>,
    /// Severity, when the record gives one.
    pub severity: Option<Severity>,
    /// First fixed version above the queried one, when known.
    pub fixed_version: Option<String>,
}

/// The default store directory: `$XDG_CACHE_HOME/kubesecops/db`, else `~/.cache/kubesecops/db`.
pub fn default_dir() -> Option<PathBuf> {
    let cache =
        std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(cache.join("kubesecops").join("db"))
}

/// Formats seconds since the Unix epoch as an RFC 3339 UTC time (`2024-05-01T12:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Parses the contents of one OSV JSON file (a record or an array of records), compacting
/// each record as the store keeps it; `path` names the file in errors.
pub fn parse_records(bytes: &[u8], path: &str) -> Result<Vec<Record>, StoreError> {
    let parse_error = |e: serde_json::Error| StoreError::Parse {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    // A file holds one record or an array of records (as `all.json` feeds do).
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let mut records: Vec<Record> = if first == Some(&b'[') {
        serde_json::from_slice(bytes).map_err(parse_error)?
    } else {
        vec![serde_json::from_slice(bytes).map_err(parse_error)?]
    };
    for record in &mut records {
        if record.id.trim().is_empty() {
            return Err(StoreError::Parse {
                path: path.to_string(),
                line: 1,
                column: 1,
                message: "empty `id`".to_string(),
            });
        }
        record.compact();
    }
    Ok(records)
}

fn read_limited(reader: impl Read, path: &str) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| StoreError::Io { path: path.to_string(), source })?;
    if bytes.len() as u64 > MAX_JSON_BYTES {
        return Err(StoreError::TooLarge { path: path.to_string(), limit: MAX_JSON_BYTES });
    }
    Ok(bytes)
}

/// Archive entries parsed per parallel batch: bounds the raw JSON held in memory at once.
const ZIP_BATCH: usize = 4096;

fn read_zip(path: &Path, out: &mut Vec<Record>) -> Result<(), StoreError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(io_error(path))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|source| StoreError::Zip { path: shown.clone(), source })?;
    let mut batch: Vec<(String, Vec<u8>)> = Vec::with_capacity(ZIP_BATCH);
    let parse_batch = |batch: &mut Vec<(String, Vec<u8>)>, out: &mut Vec<Record>| -> Result<(), StoreError> {
        let parsed: Vec<Result<Vec<Record>, StoreError>> =
            batch.par_iter().map(|(name, bytes)| parse_records(bytes, name)).collect();
        batch.clear();
        for records in parsed {
            out.extend(records?);
        }
        Ok(())
    };
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|source| StoreError::Zip { path: shown.clone(), source })?;
        if entry.is_dir() || !entry.name().ends_with(".json") {
            continue;
        }
        let entry_path = format!("{shown}!{}", entry.name());
        let bytes = read_limited(entry, &entry_path)?;
        batch.push((entry_path, bytes));
        if batch.len() == ZIP_BATCH {
            parse_batch(&mut batch, out)?;
        }
    }
    parse_batch(&mut batch, out)
}

/// The files an input stands for: itself, or for a directory its `*.json` and `*.zip` files,
/// recursively, in name order.
fn input_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let metadata = fs::metadata(path).map_err(io_error(path))?;
    if metadata.is_dir() {
        // Entries' own types: symbolic links to directories are not followed (no loops).
        let mut entries: Vec<(PathBuf, bool)> = Vec::new();
        for entry in fs::read_dir(path).map_err(io_error(path))? {
            let entry = entry.map_err(io_error(path))?;
            let is_dir = entry.file_type().map_err(io_error(&entry.path()))?.is_dir();
            entries.push((entry.path(), is_dir));
        }
        entries.sort();
        for (entry, is_dir) in entries {
            let ext = entry.extension().and_then(|e| e.to_str()).unwrap_or("");
            if is_dir || ext == "json" || ext == "zip" {
                input_files(&entry, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Reads the records of one file: a zip archive or an OSV JSON file.
fn read_file(path: &Path, out: &mut Vec<Record>) -> Result<(), StoreError> {
    if path.extension().is_some_and(|e| e == "zip") {
        return read_zip(path, out);
    }
    let file = File::open(path).map_err(io_error(path))?;
    let bytes = read_limited(file, &path.display().to_string())?;
    out.extend(parse_records(&bytes, &path.display().to_string())?);
    Ok(())
}

/// How [`import_with`] treats signatures.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// With keys, every file read must carry a detached minisign signature (`FILE.minisig`)
    /// by one of them, and the store takes only signed inputs from then on.
    pub trusted: Option<&'a TrustedKeys>,
    /// Accept a signed file signed before the one already imported under the same name.
    pub allow_rollback: bool,
}

/// Imports OSV JSON files, directories (recursively: `*.json` and `*.zip`) and zip archives
/// into the store at `dir`, creating it when missing, without checking signatures: see
/// [`import_with`].
pub fn import(dir: &Path, inputs: &[PathBuf]) -> Result<ImportSummary, StoreError> {
    import_with(dir, inputs, ImportOptions::default())
}

/// Checks every file's signature against `keys` and the signed names already imported;
/// returns what each verified, or every refusal at once.
fn verify_inputs(
    files: &[PathBuf],
    keys: &TrustedKeys,
    signed: &mut BTreeMap<String, SignedFile>,
    allow_rollback: bool,
) -> Result<(), StoreError> {
    let mut refused = Vec::new();
    for file in files {
        let verified: Verified = match keys.verify(file) {
            Ok(verified) => verified,
            Err(e) => {
                refused.push(StoreError::Trust(e));
                continue;
            }
        };
        let name = verified.signed_name.clone().unwrap_or_else(|| {
            file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        });
        let previous = signed.get(&name).and_then(|s| s.signed_at);
        if let (Some(stored), Some(now)) = (previous, verified.signed_at) {
            if now < stored && !allow_rollback {
                refused.push(StoreError::Rollback {
                    path: file.display().to_string(),
                    name,
                    signed: rfc3339(now),
                    stored: rfc3339(stored),
                });
                continue;
            }
        }
        let path = fs::canonicalize(file).unwrap_or_else(|_| file.clone()).display().to_string();
        signed.insert(
            name,
            SignedFile {
                path,
                key: verified.key.to_string(),
                signed_at: verified.signed_at,
                imported: now_secs(),
            },
        );
    }
    match refused.len() {
        0 => Ok(()),
        1 => Err(refused.remove(0)),
        _ => Err(StoreError::Refused(refused)),
    }
}

/// Imports OSV JSON files, directories (recursively: `*.json` and `*.zip`) and zip archives
/// into the store at `dir`, creating it when missing. A record replaces a stored one with the
/// same id unless the stored one was modified later. With trusted keys, every file's signature
/// is checked first, and a file signed before the one already imported under its signed name
/// is refused (a rollback). Nothing is written when an input fails; every refused signature is
/// reported, not only the first.
pub fn import_with(
    dir: &Path,
    inputs: &[PathBuf],
    options: ImportOptions<'_>,
) -> Result<ImportSummary, StoreError> {
    let mut records: BTreeMap<String, Record> = BTreeMap::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut trusted_keys: Vec<String> = Vec::new();
    let mut signed: BTreeMap<String, SignedFile> = BTreeMap::new();
    let existing = if dir.join(META_FILE).exists() { Some(Store::open(dir)?) } else { None };
    if let Some(store) = &existing {
        sources = store.meta.sources.clone();
        trusted_keys = store.meta.trusted_keys.clone();
        signed = store.meta.signed.clone();
    }
    let mut files_per_input = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut files = Vec::new();
        input_files(input, &mut files)?;
        files_per_input.push(files);
    }
    match options.trusted {
        Some(keys) => {
            let all: Vec<PathBuf> = files_per_input.iter().flatten().cloned().collect();
            verify_inputs(&all, keys, &mut signed, options.allow_rollback)?;
            trusted_keys = keys.ids().map(|id| id.to_string()).collect();
        }
        None if !trusted_keys.is_empty() => {
            return Err(StoreError::SignatureRequired {
                path: dir.display().to_string(),
                keys: trusted_keys.join(", "),
            });
        }
        None => {}
    }
    if let Some(store) = &existing {
        for record in store.all_records()? {
            records.insert(record.id.clone(), record);
        }
    }
    let mut read = 0;
    let mut stored = 0;
    for (input, files) in inputs.iter().zip(&files_per_input) {
        let mut batch = Vec::new();
        for file in files {
            read_file(file, &mut batch)?;
        }
        read += batch.len();
        let absolute = fs::canonicalize(input).unwrap_or_else(|_| input.clone()).display().to_string();
        sources.retain(|s| s.path != absolute);
        sources.push(Source { path: absolute, records: batch.len(), imported: now_secs() });
        for record in batch {
            let newer = records.get(&record.id).is_none_or(|old| old.modified <= record.modified);
            if newer {
                stored += 1;
                records.insert(record.id.clone(), record);
            }
        }
    }
    write_store(dir, &records, sources, trusted_keys, signed)?;
    Ok(ImportSummary { read, stored, total: records.len() })
}

/// Index key of a package: lowercased ecosystem and normalised name.
fn index_key(ecosystem: &str, name: &str) -> Option<String> {
    let name = normalize_name(ecosystem, name);
    let ecosystem = ecosystem.trim().to_ascii_lowercase();
    // Tabs and newlines would break the index line format; no real package has them.
    if name.is_empty() || format!("{ecosystem}{name}").contains(['\t', '\n', '\r']) {
        return None;
    }
    Some(format!("{ecosystem}\t{name}"))
}

/// A writer that counts the bytes written through it, for record offsets.
struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn write_store(
    dir: &Path,
    records: &BTreeMap<String, Record>,
    sources: Vec<Source>,
    trusted_keys: Vec<String>,
    signed: BTreeMap<String, SignedFile>,
) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    // Records stream to a temporary file: the store never sits in memory twice.
    let records_path = dir.join(RECORDS_FILE);
    let records_temporary = records_path.with_extension("tmp");
    let file = File::create(&records_temporary).map_err(io_error(&records_temporary))?;
    let mut data = CountingWriter { inner: std::io::BufWriter::new(file), written: 0 };
    let mut index: BTreeSet<(String, u64, u64)> = BTreeSet::new();
    let mut ecosystems: BTreeMap<String, usize> = BTreeMap::new();
    let mut withdrawn = 0;
    for record in records.values() {
        let offset = data.written;
        serde_json::to_writer(&mut data, record).map_err(|e| StoreError::Io {
            path: records_temporary.display().to_string(),
            source: e.into(),
        })?;
        let length = data.written - offset;
        data.write_all(b"\n").map_err(io_error(&records_temporary))?;
        withdrawn += usize::from(record.withdrawn.is_some());
        let mut seen_ecosystems = BTreeSet::new();
        for package in record.affected.iter().filter_map(|a| a.package.as_ref()) {
            if let Some(key) = index_key(&package.ecosystem, &package.name) {
                index.insert((key, offset, length));
            }
            seen_ecosystems.insert(package.ecosystem.clone());
        }
        for ecosystem in seen_ecosystems {
            *ecosystems.entry(ecosystem).or_default() += 1;
        }
    }
    let records_bytes = data.written;
    let file = data.inner.into_inner().map_err(|e| StoreError::Io {
        path: records_temporary.display().to_string(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_error(&records_temporary))?;
    drop(file);
    let mut index_text = String::new();
    for (key, offset, length) in &index {
        index_text.push_str(&format!("{key}\t{offset}\t{length}\n"));
    }
    let meta = Meta {
        format: FORMAT.to_string(),
        schema: SCHEMA_VERSION,
        built: now_secs(),
        records: records.len(),
        withdrawn,
        records_bytes,
        index_entries: index.len(),
        ecosystems,
        sources,
        trusted_keys,
        signed,
    };
    let meta_text = serde_json::to_vec_pretty(&meta)
        .map_err(|e| StoreError::Corrupt { path: dir.display().to_string(), reason: e.to_string() })?;
    // Data files first, metadata last: a reader checks sizes against the metadata, so a crash in
    // between is seen as damage rather than read as a silently smaller database.
    fs::rename(&records_temporary, &records_path).map_err(io_error(&records_path))?;
    write_atomic(&dir.join(INDEX_FILE), index_text.as_bytes())?;
    write_atomic(&dir.join(META_FILE), &meta_text)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))
}

/// One index line held in memory.
#[derive(Debug)]
struct IndexEntry {
    key: Box<str>,
    offset: u64,
    length: u64,
}

/// An opened, read-only store.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    meta: Meta,
    index: Vec<IndexEntry>,
    records: Mutex<File>,
}

impl Store {
    /// Opens the store at `dir`, checking its schema version and consistency.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let shown = dir.display().to_string();
        let meta_path = dir.join(META_FILE);
        if !meta_path.exists() {
            return Err(StoreError::Missing(shown));
        }
        let corrupt = |reason: String| StoreError::Corrupt { path: shown.clone(), reason };
        let meta_bytes = fs::read(&meta_path).map_err(io_error(&meta_path))?;
        let raw: serde_json::Value =
            serde_json::from_slice(&meta_bytes).map_err(|e| corrupt(format!("{META_FILE}: {e}")))?;
        if raw.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(corrupt(format!("{META_FILE} is not a {FORMAT} file")));
        }
        let schema = raw.get("schema").and_then(|s| s.as_u64()).unwrap_or(0) as u32;
        if schema != SCHEMA_VERSION {
            return Err(StoreError::Schema { path: shown, found: schema, expected: SCHEMA_VERSION });
        }
        let meta: Meta = serde_json::from_value(raw).map_err(|e| corrupt(format!("{META_FILE}: {e}")))?;
        let records_path = dir.join(RECORDS_FILE);
        let records = File::open(&records_path).map_err(io_error(&records_path))?;
        let size = records.metadata().map_err(io_error(&records_path))?.len();
        if size != meta.records_bytes {
            return Err(corrupt(format!(
                "{RECORDS_FILE} has {size} bytes, {META_FILE} says {}",
                meta.records_bytes
            )));
        }
        let index_path = dir.join(INDEX_FILE);
        let index_file = File::open(&index_path).map_err(io_error(&index_path))?;
        let mut index = Vec::with_capacity(meta.index_entries);
        for (n, line) in BufReader::new(index_file).lines().enumerate() {
            let line = line.map_err(io_error(&index_path))?;
            let bad = || corrupt(format!("{INDEX_FILE}:{}: malformed line", n + 1));
            let mut fields = line.rsplitn(3, '\t');
            let length: u64 = fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad)?;
            let offset: u64 = fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad)?;
            let key = fields.next().filter(|k| k.contains('\t')).ok_or_else(bad)?;
            if offset.saturating_add(length) > size {
                return Err(bad());
            }
            index.push(IndexEntry { key: key.into(), offset, length });
        }
        if index.len() != meta.index_entries || index.windows(2).any(|w| w[0].key > w[1].key) {
            return Err(corrupt(format!("{INDEX_FILE} does not match {META_FILE}")));
        }
        Ok(Self { dir: dir.to_path_buf(), meta, index, records: Mutex::new(records) })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Every stored record, in id order.
    pub fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        let path = self.dir.join(RECORDS_FILE);
        let file = File::open(&path).map_err(io_error(&path))?;
        let mut records = Vec::with_capacity(self.meta.records);
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_error(&path))?;
            records.push(serde_json::from_str(&line).map_err(|e| StoreError::Corrupt {
                path: format!("{}:{}", path.display(), n + 1),
                reason: e.to_string(),
            })?);
        }
        Ok(records)
    }

    fn read_record(&self, entry: &IndexEntry) -> Result<Record, StoreError> {
        let path = self.dir.join(RECORDS_FILE);
        let mut buffer = vec![0; entry.length as usize];
        {
            let mut file = self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            file.seek(SeekFrom::Start(entry.offset)).map_err(io_error(&path))?;
            file.read_exact(&mut buffer).map_err(io_error(&path))?;
        }
        serde_json::from_slice(&buffer).map_err(|e| StoreError::Corrupt {
            path: format!("{} at byte {}", path.display(), entry.offset),
            reason: e.to_string(),
        })
    }

    fn entries(&self, key: &str) -> &[IndexEntry] {
        let start = self.index.partition_point(|e| &*e.key < key);
        let end = self.index.partition_point(|e| &*e.key <= key);
        &self.index[start..end]
    }

    /// Records naming `name` in `ecosystem`. With a release (`Debian:12`), records of the
    /// bare ecosystem (`Debian`) are included too.
    pub fn records_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Record>, StoreError> {
        let mut keys = Vec::new();
        keys.extend(index_key(ecosystem, name));
        if let Some((base, _)) = ecosystem.split_once(':') {
            keys.extend(index_key(base, name));
        }
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        for key in keys {
            for entry in self.entries(&key) {
                if seen.insert(entry.offset) {
                    records.push(self.read_record(entry)?);
                }
            }
        }
        Ok(records)
    }

    /// Vulnerabilities affecting `version` of package `name` in `ecosystem`, per the records'
    /// ranges and version lists; withdrawn records are skipped.
    pub fn matches(&self, ecosystem: &str, name: &str, version: &str) -> Result<Vec<Vuln>, StoreError> {
        let wanted_ecosystems: Vec<String> = std::iter::once(ecosystem)
            .chain(ecosystem.split_once(':').map(|(base, _)| base))
            .map(|e| e.trim().to_ascii_lowercase())
            .collect();
        let wanted_name = normalize_name(ecosystem, name);
        let mut found = Vec::new();
        for record in self.records_for(ecosystem, name)? {
            if record.withdrawn.is_some() {
                continue;
            }
            // Several entries may name the package (one per release): a hit with a fix wins.
            let mut hit: Option<(&crate::osv::Affected, crate::osv::Hit)> = None;
            for affected in &record.affected {
                let Some(package) = affected.package.as_ref() else { continue };
                let same_package = wanted_ecosystems.contains(&package.ecosystem.trim().to_ascii_lowercase())
                    && normalize_name(&package.ecosystem, &package.name) == wanted_name;
                if !same_package {
                    continue;
                }
                if let Some(new) = affected.evaluate(version) {
                    if hit.as_ref().is_none_or(|(_, old)| old.fixed_version.is_none()) {
                        hit = Some((affected, new));
                    }
                }
            }
            if let Some((affected, hit)) = hit {
                found.push(Vuln {
                    id: record.id.clone(),
                    aliases: record.aliases.clone(),
                    upstream: record.upstream.clone(),
                    summary: record.summary.clone(),
                    severity: record.severity_for(affected),
                    fixed_version: hit.fixed_version,
                });
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_564_800), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn index_keys_lowercase_ecosystems_and_reject_tabs() {
        assert_eq!(index_key("PyPI", "Foo_Bar").as_deref(), Some("pypi\tfoo-bar"));
        assert_eq!(index_key("npm", "a\tb"), None);
        assert_eq!(index_key("npm", ""), None);
    }
}
