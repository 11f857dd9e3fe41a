//! Import and lookup through the on-disk store, with records written by the tests.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use kubesecops_vulndb::{import, Level, Store, StoreError};
use serde_json::json;

fn write_json(path: &Path, value: &serde_json::Value) -> PathBuf {
    fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path.to_path_buf()
}

fn pypi_record(id: &str, modified: &str, fixed: &str) -> serde_json::Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": modified,
        "aliases": ["CVE-2024-0001"],
        "summary": "Template injection",
        "details": "long text that the store does not keep",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "Jinja2", "purl": "pkg:pypi/jinja2"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
        }],
        "references": [{"type": "WEB", "url": "https://example.invalid/advisory"}]
    })
}

fn debian_record() -> serde_json::Value {
    json!({
        "id": "DSA-0001-1",
        "modified": "2024-02-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]
            },
            {
                "package": {"ecosystem": "Debian:11", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u1"}]}]
            }
        ]
    })
}

#[test]
fn imports_files_and_matches_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    fs::create_dir(&inputs).unwrap();
    write_json(&inputs.join("a.json"), &pypi_record("GHSA-aaaa", "2024-01-01T00:00:00Z", "3.1.3"));
    write_json(&inputs.join("b.json"), &debian_record());
    fs::write(inputs.join("notes.txt"), "not a record").unwrap();
    let db = dir.path().join("db");
    let summary = import(&db, &[inputs]).unwrap();
    assert_eq!((summary.read, summary.stored, summary.total), (2, 2, 2));

    let store = Store::open(&db).unwrap();
    // PyPI names are normalised on both sides.
    let hits = store.matches("PyPI", "jinja2", "3.1.2").unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "GHSA-aaaa");
    assert_eq!(hits[0].aliases, vec!["CVE-2024-0001".to_string()]);
    assert_eq!(hits[0].fixed_version.as_deref(), Some("3.1.3"));
    let severity = hits[0].severity.as_ref().unwrap();
    assert_eq!((severity.level, severity.score), (Level::Critical, Some(9.1)));
    assert!(store.matches("PyPI", "Jinja2", "3.1.3").unwrap().is_empty());
    assert!(store.matches("npm", "jinja2", "1.0.0").unwrap().is_empty());

    // Each Debian release uses its own range.
    let bookworm = store.matches("Debian:12", "openssl", "3.0.11-1~deb12u2").unwrap();
    assert_eq!(bookworm[0].fixed_version.as_deref(), Some("3.0.13-1~deb12u1"));
    assert!(store.matches("Debian:12", "openssl", "3.0.13-1~deb12u1").unwrap().is_empty());
    assert_eq!(store.matches("Debian:11", "openssl", "1.1.1n-0+deb11u5").unwrap().len(), 1);
    assert!(store.matches("Debian:11", "openssl", "3.0.0-1").unwrap().is_empty());

    let meta = store.meta();
    assert_eq!(meta.records, 2);
    assert_eq!(meta.ecosystems.get("Debian:12"), Some(&1));
    assert_eq!(meta.sources.len(), 1);
    assert!(meta.age().as_secs() < 600);
}

#[test]
fn newer_records_replace_older_and_withdrawn_never_match() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let old =
        write_json(&dir.path().join("old.json"), &pypi_record("GHSA-aaaa", "2024-01-01T00:00:00Z", "3.1.3"));
    let new =
        write_json(&dir.path().join("new.json"), &pypi_record("GHSA-aaaa", "2024-06-01T00:00:00Z", "3.1.5"));
    import(&db, std::slice::from_ref(&new)).unwrap();
    let summary = import(&db, &[old]).unwrap();
    assert_eq!((summary.stored, summary.total), (0, 1), "an older record must not replace a newer one");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.matches("PyPI", "jinja2", "3.1.4").unwrap()[0].fixed_version.as_deref(), Some("3.1.5"));
    assert_eq!(store.meta().sources.len(), 2);

    let mut withdrawn = pypi_record("GHSA-aaaa", "2024-07-01T00:00:00Z", "3.1.5");
    withdrawn["withdrawn"] = json!("2024-07-01T00:00:00Z");
    let withdrawn = write_json(&dir.path().join("withdrawn.json"), &withdrawn);
    import(&db, &[withdrawn]).unwrap();
    let store = Store::open(&db).unwrap();
    assert!(store.matches("PyPI", "jinja2", "3.1.4").unwrap().is_empty());
    assert_eq!(store.meta().withdrawn, 1);
}

#[test]
fn versions_lists_match_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let record = json!({
        "id": "MAL-0001",
        "affected": [{"package": {"ecosystem": "npm", "name": "evil"}, "versions": ["1.0.1", "1.0.3"]}],
        "database_specific": {"severity": "HIGH"}
    });
    let file = write_json(&dir.path().join("mal.json"), &record);
    let db = dir.path().join("db");
    import(&db, &[file]).unwrap();
    let store = Store::open(&db).unwrap();
    let hits = store.matches("npm", "evil", "1.0.3").unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].severity.as_ref().unwrap().level, Level::High);
    assert!(store.matches("npm", "evil", "1.0.2").unwrap().is_empty());
}

#[test]
fn imports_zip_archives() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("PyPI.zip");
    let mut writer = zip::ZipWriter::new(fs::File::create(&archive).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, record) in [
        ("GHSA-aaaa.json", pypi_record("GHSA-aaaa", "2024-01-01T00:00:00Z", "3.1.3")),
        ("GHSA-bbbb.json", pypi_record("GHSA-bbbb", "2024-01-01T00:00:00Z", "2.0")),
    ] {
        writer.start_file(name, options).unwrap();
        writer.write_all(&serde_json::to_vec(&record).unwrap()).unwrap();
    }
    writer.finish().unwrap();
    let db = dir.path().join("db");
    assert_eq!(import(&db, &[archive]).unwrap().total, 2);
    let store = Store::open(&db).unwrap();
    let mut ids: Vec<String> =
        store.matches("PyPI", "jinja2", "1.0").unwrap().into_iter().map(|v| v.id).collect();
    ids.sort();
    assert_eq!(ids, ["GHSA-aaaa", "GHSA-bbbb"]);
}

#[test]
fn bad_input_names_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    fs::write(&bad, "{\n  \"id\": \"X-1\",\n  \"affected\": 5\n}").unwrap();
    let db = dir.path().join("db");
    let err = import(&db, &[bad]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bad.json:3:"), "{text}");
    assert!(matches!(Store::open(&db), Err(StoreError::Missing(_))));

    let not_zip = dir.path().join("broken.zip");
    fs::write(&not_zip, b"PK\x03\x04 truncated").unwrap();
    assert!(matches!(import(&db, &[not_zip]), Err(StoreError::Zip { .. })));
}

#[test]
fn detects_schema_mismatch_and_damage() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write_json(&dir.path().join("a.json"), &pypi_record("GHSA-aaaa", "2024-01-01T00:00:00Z", "3.1.3"));
    let db = dir.path().join("db");
    import(&db, &[file]).unwrap();

    let records = db.join("records.jsonl");
    let original = fs::read(&records).unwrap();
    fs::write(&records, &original[..original.len() / 2]).unwrap();
    assert!(matches!(Store::open(&db), Err(StoreError::Corrupt { .. })));
    fs::write(&records, &original).unwrap();

    let meta_path = db.join("meta.json");
    let mut meta: serde_json::Value = serde_json::from_slice(&fs::read(&meta_path).unwrap()).unwrap();
    meta["schema"] = json!(99);
    fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    assert!(matches!(Store::open(&db), Err(StoreError::Schema { found: 99, .. })));
}
