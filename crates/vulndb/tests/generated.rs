//! A store of generated records: import, counts and lookups at a size closer to real feeds.

use std::io::Write;

use kubesecops_vulndb::{generate, import, match_packages, PackageRef, Store};

#[test]
fn imports_a_generated_zip_feed_and_finds_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("all.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let records: Vec<serde_json::Value> = generate::records(3, 2_000).collect();
    for record in &records {
        writer.start_file(format!("{}.json", record["id"].as_str().unwrap()), options).unwrap();
        writer.write_all(&serde_json::to_vec(record).unwrap()).unwrap();
    }
    writer.finish().unwrap();
    let db = dir.path().join("db");
    let summary = import(&db, &[archive]).unwrap();
    assert_eq!(summary.read, 2_000);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.meta().records, summary.total);
    assert_eq!(store.meta().ecosystems.values().sum::<usize>(), summary.total);

    // Every record with a `fixed` event matches its own package just below the fix.
    let mut checked = 0;
    for record in records.iter().take(300) {
        let affected = &record["affected"][0];
        let events = affected["ranges"][0]["events"].as_array().unwrap();
        let (Some(introduced), Some(_fixed)) =
            (events[0]["introduced"].as_str(), events.get(1).and_then(|e| e["fixed"].as_str()))
        else {
            continue;
        };
        if introduced == "0" {
            continue;
        }
        let package = PackageRef {
            ecosystem: affected["package"]["ecosystem"].as_str().unwrap(),
            name: affected["package"]["name"].as_str().unwrap(),
            version: introduced,
            ..PackageRef::default()
        };
        let matches = match_packages(&store, [package]).unwrap();
        let id = record["id"].as_str().unwrap();
        assert!(
            matches.iter().any(|m| m.vuln.id == id || m.vuln.aliases.iter().any(|a| a == id)),
            "{id} does not match {package:?}"
        );
        checked += 1;
    }
    assert!(checked > 50, "only {checked} records checked");
}
