//! Import of 100,000 generated OSV records from one zip archive (the budget: under
//! 10 s), and matching an inventory of 1,000 packages against the resulting store.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kubesecops_vulndb::{generate, import, match_packages, PackageRef, Store};

const RECORDS: u64 = 100_000;

fn write_archive(path: &Path) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for record in generate::records(1, RECORDS) {
        writer.start_file(format!("{}.json", record["id"].as_str().unwrap()), options).unwrap();
        writer.write_all(&serde_json::to_vec(&record).unwrap()).unwrap();
    }
    writer.finish().unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("all.zip");
    write_archive(&archive);
    let mut group = c.benchmark_group("vulndb");
    group.sample_size(10).measurement_time(Duration::from_secs(40)).warm_up_time(Duration::from_secs(1));
    group.bench_function("import_100k_zip", |b| {
        b.iter(|| {
            let db = dir.path().join("db-import");
            let _ = std::fs::remove_dir_all(&db);
            import(&db, std::slice::from_ref(&archive)).unwrap()
        })
    });
    let db = dir.path().join("db");
    import(&db, std::slice::from_ref(&archive)).unwrap();
    let store = Store::open(&db).unwrap();
    let names: Vec<(String, String)> = (0..1_000u64)
        .map(|n| {
            let ecosystem = ["npm", "PyPI", "Debian:12", "Alpine:v3.20", "Go"][(n % 5) as usize];
            (ecosystem.to_string(), generate::package_name(ecosystem, n))
        })
        .collect();
    group.bench_function("match_1000_packages", |b| {
        b.iter(|| {
            let packages = names.iter().map(|(ecosystem, name)| PackageRef {
                ecosystem,
                name,
                version: "1.2.3",
                ..PackageRef::default()
            });
            match_packages(&store, packages).unwrap().len()
        })
    });
    group.bench_function("open_store_100k", |b| b.iter(|| Store::open(&db).unwrap().meta().records));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
