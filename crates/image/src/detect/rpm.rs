//! RPM packages from the SQLite package database (`rpmdb.sqlite`, RPM 4.16 and later:
//! Fedora 33+, RHEL/Rocky/AlmaLinux 9, openSUSE, SLES 15 SP3+).
//!
//! Two small readers of our own, both over the file's bytes (layers are never extracted):
//! - a read-only SQLite reader: the database header, table b-trees (interior and leaf
//!   pages) with overflow chains, and the record format, enough to list the `Packages`
//!   table's rows (the format is documented at sqlite.org/fileformat.html);
//! - an RPM header reader: the blob of each row is an RPM header (index entries, then a
//!   data store), from which NAME, VERSION, RELEASE, EPOCH, ARCH and SOURCERPM are read.
//!
//! Every offset is checked and every page chain bounded: a damaged or hostile file gives an
//! error naming it, never a panic or a loop. Rows still in a write-ahead log
//! (`rpmdb.sqlite-wal`) are not read; `rpm` checkpoints the log when it closes the database.

use std::collections::HashSet;

use super::Package;
use crate::os_release::OsRelease;
use crate::ImageError;

/// Where RPM keeps its SQLite database (relative, as the detectors see paths).
pub const RPMDB_PATHS: [&str; 2] = ["var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"];

/// Whether `path` is an RPM SQLite database.
pub fn is_rpmdb_sqlite(path: &str) -> bool {
    RPMDB_PATHS.contains(&path.trim_start_matches('/'))
}

fn error(path: &str, message: impl Into<String>) -> ImageError {
    ImageError::Parse { path: path.to_string(), line: 0, message: message.into() }
}

// ---------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------

/// A read-only view of a SQLite database file held in memory.
struct Sqlite<'a> {
    bytes: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: u32,
    path: &'a str,
}

/// One value of a record.
#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    Null,
    Integer(i64),
    Real,
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// Reads a SQLite varint (1 to 9 bytes, big-endian, 7 bits a byte, the ninth byte whole).
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..9 {
        let byte = *bytes.get(i)?;
        if i == 8 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Sqlite<'a> {
    fn open(bytes: &'a [u8], path: &'a str) -> Result<Self, ImageError> {
        if bytes.len() < 100 || &bytes[..16] != b"SQLite format 3\0" {
            return Err(error(path, "not a SQLite 3 database"));
        }
        let page_size = match be_u16(bytes, 16).unwrap_or(0) {
            1 => 65_536,
            n if n >= 512 && n.is_power_of_two() => usize::from(n),
            n => return Err(error(path, format!("invalid SQLite page size {n}"))),
        };
        let reserved = usize::from(bytes[20]);
        if bytes[56..60] != [0, 0, 0, 1] && bytes[56..60] != [0, 0, 0, 0] {
            return Err(error(path, "SQLite text encoding is not UTF-8"));
        }
        let usable = page_size.saturating_sub(reserved);
        if usable < 480 {
            return Err(error(path, "invalid SQLite reserved space"));
        }
        // The header's page count is valid only when written by a recent SQLite; the file's
        // size bounds it either way.
        let pages = (bytes.len() / page_size) as u32;
        Ok(Self { bytes, page_size, usable, pages, path })
    }

    fn page(&self, number: u32) -> Result<&'a [u8], ImageError> {
        if number == 0 || number > self.pages {
            return Err(error(self.path, format!("SQLite page {number} is outside the file")));
        }
        let start = (number as usize - 1) * self.page_size;
        Ok(&self.bytes[start..start + self.page_size])
    }

    /// The payload of a table-leaf cell: the local part plus its overflow chain.
    fn payload(&self, page: &'a [u8], at: usize) -> Result<(i64, Vec<u8>), ImageError> {
        let bad = || error(self.path, "damaged SQLite cell");
        let (size, n1) = varint(page.get(at..).ok_or_else(bad)?).ok_or_else(bad)?;
        let (rowid, n2) = varint(page.get(at + n1..).ok_or_else(bad)?).ok_or_else(bad)?;
        let start = at + n1 + n2;
        let size = usize::try_from(size).map_err(|_| bad())?;
        if size > self.bytes.len() {
            return Err(bad());
        }
        let u = self.usable;
        let max_local = u - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (u - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (u - 4);
            if k <= max_local {
                k
            } else {
                min_local
            }
        };
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(page.get(start..start + local).ok_or_else(bad)?);
        if local < size {
            let mut next = be_u32(page, start + local).ok_or_else(bad)?;
            let mut hops = 0u32;
            while out.len() < size {
                hops += 1;
                if next == 0 || hops > self.pages {
                    return Err(error(self.path, "SQLite overflow chain is broken"));
                }
                let overflow = self.page(next)?;
                next = be_u32(overflow, 0).ok_or_else(bad)?;
                let take = (size - out.len()).min(u - 4);
                out.extend_from_slice(overflow.get(4..4 + take).ok_or_else(bad)?);
            }
        }
        Ok((rowid as i64, out))
    }

    /// Every row of the table b-tree rooted at `root`: (rowid, record payload).
    fn table_rows(&self, root: u32) -> Result<Vec<(i64, Vec<u8>)>, ImageError> {
        let bad = |what: &str| error(self.path, format!("damaged SQLite b-tree: {what}"));
        let mut rows = Vec::new();
        let mut stack = vec![root];
        let mut seen = HashSet::new();
        while let Some(number) = stack.pop() {
            if !seen.insert(number) {
                return Err(bad("a page is reached twice"));
            }
            let page = self.page(number)?;
            // Page 1 starts with the 100-byte database header.
            let header = if number == 1 { 100 } else { 0 };
            let kind = *page.get(header).ok_or_else(|| bad("short page"))?;
            let cells = usize::from(be_u16(page, header + 3).ok_or_else(|| bad("short page"))?);
            let (header_len, interior) = match kind {
                0x0d => (8, false),
                0x05 => (12, true),
                _ => return Err(bad(&format!("page {number} is not a table page (type {kind:#04x})"))),
            };
            let mut children = Vec::new();
            for i in 0..cells {
                let at = usize::from(
                    be_u16(page, header + header_len + 2 * i)
                        .ok_or_else(|| bad("cell pointer outside the page"))?,
                );
                if interior {
                    children.push(be_u32(page, at).ok_or_else(|| bad("cell outside the page"))?);
                } else {
                    rows.push(self.payload(page, at)?);
                }
            }
            if interior {
                children.push(be_u32(page, header + 8).ok_or_else(|| bad("short page"))?);
                // Reversed onto the stack, so rows come out in rowid order.
                stack.extend(children.into_iter().rev());
            }
        }
        Ok(rows)
    }

    /// The root page of table `name`, from the schema table on page 1.
    fn table_root(&self, name: &str) -> Result<Option<u32>, ImageError> {
        for (_, payload) in self.table_rows(1)? {
            let values = record(&payload).ok_or_else(|| error(self.path, "damaged SQLite schema record"))?;
            let text = |i: usize| match values.get(i) {
                Some(Value::Text(t)) => std::str::from_utf8(t).ok(),
                _ => None,
            };
            if text(0) == Some("table") && text(1).is_some_and(|n| n.eq_ignore_ascii_case(name)) {
                if let Some(Value::Integer(root)) = values.get(3) {
                    return Ok(u32::try_from(*root).ok());
                }
            }
        }
        Ok(None)
    }
}

/// Decodes a record: a header of serial types, then the values.
fn record(payload: &[u8]) -> Option<Vec<Value<'_>>> {
    let (header_len, mut at) = varint(payload)?;
    let header_len = usize::try_from(header_len).ok()?;
    let mut body = header_len;
    let mut values = Vec::new();
    while at < header_len {
        let (serial, n) = varint(payload.get(at..header_len)?)?;
        at += n;
        let int = |len: usize, body: usize| -> Option<i64> {
            let bytes = payload.get(body..body + len)?;
            let mut value = i64::from(bytes[0] as i8);
            for b in &bytes[1..] {
                value = (value << 8) | i64::from(*b);
            }
            Some(value)
        };
        let (value, len) = match serial {
            0 => (Value::Null, 0),
            1..=4 => {
                let len = serial as usize;
                (Value::Integer(int(len, body)?), len)
            }
            5 => (Value::Integer(int(6, body)?), 6),
            6 => (Value::Integer(int(8, body)?), 8),
            7 => (Value::Real, 8),
            8 => (Value::Integer(0), 0),
            9 => (Value::Integer(1), 0),
            10 | 11 => return None,
            n => {
                let len = usize::try_from((n - 12) / 2).ok()?;
                let bytes = payload.get(body..body.checked_add(len)?)?;
                (if n % 2 == 0 { Value::Blob(bytes) } else { Value::Text(bytes) }, len)
            }
        };
        if !matches!(value, Value::Null) && payload.len() < body + len {
            return None;
        }
        values.push(value);
        body += len;
    }
    Some(values)
}

// ---------------------------------------------------------------------------------------
// RPM headers
// ---------------------------------------------------------------------------------------

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Largest header RPM itself accepts (`HEADER_DATA_MAX`) and its tag count limit.
const MAX_HEADER_DATA: usize = 256 * 1024 * 1024;
const MAX_HEADER_TAGS: usize = 0xffff;

/// The fields of one installed package's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `EPOCH`, when set.
    pub epoch: Option<u32>,
    /// `ARCH` (absent on `gpg-pubkey` pseudo-packages).
    pub arch: Option<String>,
    /// `SOURCERPM` (`openssl-3.0.7-27.el9.src.rpm`).
    pub source_rpm: Option<String>,
}

impl RpmHeader {
    /// Parses a header blob as the database stores it: entry count and data length (both
    /// 32-bit big-endian), the 16-byte index entries (tag, type, offset, count), the data.
    pub fn parse(blob: &[u8]) -> Result<Self, String> {
        let entries = be_u32(blob, 0).ok_or("header shorter than 8 bytes")? as usize;
        let data_len = be_u32(blob, 4).ok_or("header shorter than 8 bytes")? as usize;
        if entries > MAX_HEADER_TAGS || data_len > MAX_HEADER_DATA {
            return Err(format!("header claims {entries} tags and {data_len} data bytes"));
        }
        let data_start = 8 + entries * 16;
        let data = blob
            .get(data_start..data_start + data_len)
            .ok_or_else(|| format!("header of {} bytes is shorter than it claims", blob.len()))?;
        let mut header = Self::default();
        for i in 0..entries {
            let at = 8 + i * 16;
            let (tag, kind, offset, count) = (
                be_u32(blob, at).unwrap_or(0),
                be_u32(blob, at + 4).unwrap_or(0),
                be_u32(blob, at + 8).unwrap_or(0) as usize,
                be_u32(blob, at + 12).unwrap_or(0) as usize,
            );
            let string = || -> Result<String, String> {
                if !matches!(kind, TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY) || count == 0 {
                    return Err(format!("tag {tag} has type {kind}, not a string"));
                }
                let rest = data.get(offset..).ok_or_else(|| format!("tag {tag} points outside the data"))?;
                let end = rest
                    .iter()
                    .position(|b| *b == 0)
                    .ok_or_else(|| format!("tag {tag} is not terminated"))?;
                Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
            };
            match tag {
                TAG_NAME => header.name = string()?,
                TAG_VERSION => header.version = string()?,
                TAG_RELEASE => header.release = string()?,
                TAG_ARCH => header.arch = Some(string()?),
                TAG_SOURCERPM => header.source_rpm = Some(string()?),
                TAG_EPOCH => {
                    if kind != TYPE_INT32 || count == 0 {
                        return Err(format!("EPOCH has type {kind}, not INT32"));
                    }
                    header.epoch = Some(be_u32(data, offset).ok_or("EPOCH points outside the data")?);
                }
                _ => {}
            }
        }
        if header.name.is_empty() {
            return Err("header has no NAME".to_string());
        }
        Ok(header)
    }

    /// `[EPOCH:]VERSION-RELEASE`, the epoch only when it is not 0.
    pub fn evr(&self) -> String {
        let version_release = if self.release.is_empty() {
            self.version.clone()
        } else {
            format!("{}-{}", self.version, self.release)
        };
        match self.epoch.filter(|e| *e != 0) {
            Some(epoch) => format!("{epoch}:{version_release}"),
            None => version_release,
        }
    }

    /// Source package name and version from `SOURCERPM` (`NAME-VERSION-RELEASE.src.rpm`),
    /// the version with this package's epoch (a source RPM's file name has none).
    pub fn source(&self) -> Option<(String, String)> {
        let file = self.source_rpm.as_deref()?;
        let stem = file.strip_suffix(".src.rpm").or_else(|| file.strip_suffix(".nosrc.rpm"))?;
        let mut parts = stem.rsplitn(3, '-');
        let (release, version, name) = (parts.next()?, parts.next()?, parts.next()?);
        if name.is_empty() {
            return None;
        }
        let version = match self.epoch.filter(|e| *e != 0) {
            Some(epoch) => format!("{epoch}:{version}-{release}"),
            None => format!("{version}-{release}"),
        };
        Some((name.to_string(), version))
    }
}

/// The OSV ecosystem of an RPM distribution's packages, from its os-release.
pub fn rpm_ecosystem(os: Option<&OsRelease>) -> String {
    let Some(os) = os else { return "RPM".to_string() };
    let version = os.version_id.as_deref().unwrap_or("");
    let major = version.split('.').next().unwrap_or("");
    let pretty = os.pretty_name.as_deref().unwrap_or("");
    let with = |name: &str, release: &str| {
        if release.is_empty() {
            name.to_string()
        } else {
            format!("{name}:{release}")
        }
    };
    match os.id.as_str() {
        "rocky" => with("Rocky Linux", major),
        "almalinux" => with("AlmaLinux", major),
        // Red Hat's ecosystems are per product stream (a CPE); the bare name is the honest part.
        "rhel" => "Red Hat".to_string(),
        "opensuse-leap" | "opensuse-tumbleweed" => with("openSUSE", pretty.trim_start_matches("openSUSE ")),
        "sles" | "sled" | "sle-micro" => with("SUSE", pretty.trim_start_matches("SUSE ")),
        "azurelinux" | "mariner" => with("Azure Linux", version),
        "photon" => with("Photon OS", version),
        "openeuler" => with("openEuler", version),
        "mageia" => with("Mageia", major),
        other => with(other, version),
    }
}

/// Reads the packages of an `rpmdb.sqlite` file. `gpg-pubkey` entries (imported signing
/// keys, not packages) are skipped.
pub fn parse_rpmdb_sqlite(
    bytes: &[u8],
    path: &str,
    os: Option<&OsRelease>,
) -> Result<Vec<Package>, ImageError> {
    let db = Sqlite::open(bytes, path)?;
    let root = db.table_root("Packages")?.ok_or_else(|| error(path, "no `Packages` table"))?;
    let ecosystem = rpm_ecosystem(os);
    let mut packages = Vec::new();
    for (rowid, payload) in db.table_rows(root)? {
        let values = record(&payload).ok_or_else(|| error(path, format!("damaged record in row {rowid}")))?;
        let Some(blob) = values.iter().find_map(|v| if let Value::Blob(b) = v { Some(*b) } else { None })
        else {
            continue;
        };
        let header = RpmHeader::parse(blob).map_err(|e| error(path, format!("package row {rowid}: {e}")))?;
        if header.name == "gpg-pubkey" {
            continue;
        }
        let mut package = Package::new(&header.name, &header.evr(), &ecosystem, path);
        if let Some((source_name, source_version)) = header.source() {
            if source_name != header.name {
                package.source_name = Some(source_name);
            }
            if source_version != package.version {
                package.source_version = Some(source_version);
            }
        }
        packages.push(package);
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes an RPM header as the database stores it.
    fn header_blob(tags: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, value) in tags {
            if *kind == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&kind.to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            data.extend_from_slice(value);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(tags.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    fn string(text: &str) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        bytes
    }

    fn package_blob(name: &str, epoch: Option<u32>, version: &str, release: &str, source: &str) -> Vec<u8> {
        let mut tags = vec![
            (TAG_NAME, TYPE_STRING, string(name)),
            (TAG_VERSION, TYPE_STRING, string(version)),
            (TAG_RELEASE, TYPE_STRING, string(release)),
            (TAG_ARCH, TYPE_STRING, string("x86_64")),
            (TAG_SOURCERPM, TYPE_STRING, string(source)),
            // A tag the reader does not need, as real headers have hundreds.
            (1004, TYPE_I18NSTRING, string("a summary")),
        ];
        if let Some(epoch) = epoch {
            tags.push((TAG_EPOCH, TYPE_INT32, epoch.to_be_bytes().to_vec()));
        }
        header_blob(&tags)
    }

    /// Writes an rpmdb.sqlite with SQLite itself, with the table RPM creates.
    fn write_rpmdb(blobs: &[Vec<u8>]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rpmdb.sqlite");
        let db = rusqlite::Connection::open(&file).unwrap();
        db.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL,
                                PRIMARY KEY(key, hnum, idx)) WITHOUT ROWID;",
        )
        .unwrap();
        for blob in blobs {
            db.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob]).unwrap();
        }
        drop(db);
        std::fs::read(&file).unwrap()
    }

    fn rocky() -> OsRelease {
        OsRelease::parse("ID=\"rocky\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n")
            .unwrap()
    }

    #[test]
    fn reads_packages_from_an_sqlite_rpmdb() {
        let blobs = vec![
            package_blob("openssl-libs", Some(1), "3.0.7", "27.el9", "openssl-3.0.7-27.el9.src.rpm"),
            package_blob("bash", None, "5.1.8", "9.el9", "bash-5.1.8-9.el9.src.rpm"),
            header_blob(&[
                (TAG_NAME, TYPE_STRING, string("gpg-pubkey")),
                (TAG_VERSION, TYPE_STRING, string("350d275d")),
            ]),
        ];
        let bytes = write_rpmdb(&blobs);
        let packages = parse_rpmdb_sqlite(&bytes, "var/lib/rpm/rpmdb.sqlite", Some(&rocky())).unwrap();
        assert_eq!(packages.len(), 2);
        let ssl = &packages[0];
        assert_eq!((ssl.name.as_str(), ssl.version.as_str()), ("openssl-libs", "1:3.0.7-27.el9"));
        assert_eq!(ssl.ecosystem, "Rocky Linux:9");
        assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
        assert_eq!(ssl.source_version, None, "same epoch:version-release as the binary");
        assert_eq!(ssl.path, "var/lib/rpm/rpmdb.sqlite");
        let bash = &packages[1];
        assert_eq!(
            (bash.name.as_str(), bash.version.as_str(), bash.source_name.as_deref()),
            ("bash", "5.1.8-9.el9", None)
        );
    }

    #[test]
    fn follows_interior_pages_and_overflow_chains() {
        // Enough rows for a multi-level b-tree, and headers larger than a page (overflow).
        let mut blobs = Vec::new();
        for i in 0..600 {
            let filler = "x".repeat(if i % 7 == 0 { 9000 } else { 40 });
            let mut tags = vec![
                (TAG_NAME, TYPE_STRING, string(&format!("pkg{i}"))),
                (TAG_VERSION, TYPE_STRING, string("1.0")),
                (TAG_RELEASE, TYPE_STRING, string(&format!("{i}.fc40"))),
            ];
            tags.push((1005, TYPE_STRING, string(&filler)));
            blobs.push(header_blob(&tags));
        }
        let bytes = write_rpmdb(&blobs);
        let packages = parse_rpmdb_sqlite(&bytes, "usr/lib/sysimage/rpm/rpmdb.sqlite", None).unwrap();
        assert_eq!(packages.len(), 600);
        for (i, package) in packages.iter().enumerate() {
            assert_eq!(package.name, format!("pkg{i}"));
            assert_eq!(package.version, format!("1.0-{i}.fc40"));
        }
        assert_eq!(packages[0].ecosystem, "RPM");
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let bytes = write_rpmdb(&[package_blob("a", None, "1", "1", "a-1-1.src.rpm")]);
        assert!(parse_rpmdb_sqlite(b"not sqlite", "db", None)
            .unwrap_err()
            .to_string()
            .contains("not a SQLite"));
        // Every truncation and a byte flipped at many places: an error or a result, no panic.
        for cut in (0..bytes.len()).step_by(97) {
            let _ = parse_rpmdb_sqlite(&bytes[..cut], "db", None);
        }
        for at in (0..bytes.len()).step_by(13) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xff;
            let _ = parse_rpmdb_sqlite(&damaged, "db", None);
        }
        let no_table = {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("x.sqlite");
            let db = rusqlite::Connection::open(&file).unwrap();
            db.execute_batch("CREATE TABLE Other (a INTEGER);").unwrap();
            drop(db);
            std::fs::read(&file).unwrap()
        };
        let err = parse_rpmdb_sqlite(&no_table, "var/lib/rpm/rpmdb.sqlite", None).unwrap_err();
        assert!(
            err.to_string().contains("var/lib/rpm/rpmdb.sqlite") && err.to_string().contains("Packages"),
            "{err}"
        );
    }

    #[test]
    fn header_errors_are_specific() {
        assert!(RpmHeader::parse(&[0, 0]).unwrap_err().contains("shorter than 8"));
        let mut blob = package_blob("a", None, "1", "1", "a-1-1.src.rpm");
        blob.truncate(blob.len() - 3);
        assert!(RpmHeader::parse(&blob).unwrap_err().contains("shorter than it claims"));
        let nameless = header_blob(&[(TAG_VERSION, TYPE_STRING, string("1"))]);
        assert_eq!(RpmHeader::parse(&nameless).unwrap_err(), "header has no NAME");
        let wrong_type = header_blob(&[(TAG_NAME, TYPE_INT32, 5u32.to_be_bytes().to_vec())]);
        assert!(RpmHeader::parse(&wrong_type).unwrap_err().contains("not a string"));
    }

    #[test]
    fn paths_and_ecosystems() {
        assert!(is_rpmdb_sqlite("var/lib/rpm/rpmdb.sqlite"));
        assert!(is_rpmdb_sqlite("/usr/lib/sysimage/rpm/rpmdb.sqlite"));
        assert!(!is_rpmdb_sqlite("var/lib/rpm/Packages"));
        let leap = OsRelease::parse(
            "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\n",
        );
        assert_eq!(rpm_ecosystem(leap.as_ref()), "openSUSE:Leap 15.5");
        assert_eq!(rpm_ecosystem(Some(&rocky())), "Rocky Linux:9");
    }
}
