//! Images written by the test itself: docker archives, OCI layouts and archives, with
//! whiteouts, links, hostile names, bad digests, truncation and decompression bombs.

use std::io::Write;

use kubesecops_image::binary::testing::{auditable_binary, go_binary};
use kubesecops_image::digest::sha256_digest;
use kubesecops_image::jar::testing::zip;
use kubesecops_image::testimage::{self, gzip, layer, Entry};
use kubesecops_image::{
    detect::detect_packages_with, open_image, scan_image, ImageError, LayerObserver, Limits, OpenOptions,
};
use serde_json::json;

const OS_RELEASE: &str = "ID=debian\nVERSION_ID=\"12\"\n";
const DPKG: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n";

fn base_layer() -> Vec<u8> {
    layer(&[
        Entry::Dir("etc".into()),
        Entry::file("usr/lib/os-release", OS_RELEASE),
        Entry::Symlink("etc/os-release".into(), "../usr/lib/os-release".into()),
        Entry::file("var/lib/dpkg/status", DPKG),
        Entry::file(
            "app/package-lock.json",
            r#"{"lockfileVersion": 3, "packages": {"node_modules/lodash": {"version": "4.17.20"}}}"#,
        ),
        Entry::file("usr/lib/python3/dist-packages/old-1.0.dist-info/METADATA", "Name: old\nVersion: 1.0\n"),
        Entry::file("root/.env", "AWS_SECRET_ACCESS_KEY=deleted-later\n"),
    ])
}

fn upper_layer() -> Vec<u8> {
    layer(&[
        Entry::Whiteout("app/package-lock.json".into()),
        Entry::Whiteout("root/.env".into()),
        Entry::Opaque("usr/lib/python3/dist-packages".into()),
        Entry::file(
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            "Name: requests\nVersion: 2.31.0\n",
        ),
        Entry::exe(
            "usr/local/bin/goapp",
            go_binary("go1.22.1", "path\tx\nmod\tx\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:x"),
        ),
        Entry::exe("usr/local/bin/rustapp", auditable_binary(&[("time", "0.3.20")])),
        Entry::file(
            "opt/app.jar",
            zip(&[(
                "META-INF/maven/org.yaml/snakeyaml/pom.properties",
                b"groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n",
            )]),
        ),
        Entry::exe(
            "usr/local/bin/script.sh",
            "#!/bin/sh\necho this is a shell script and not an ELF binary at all\n",
        ),
        Entry::RawName(
            b"../../var/lib/dpkg/status".to_vec(),
            b"Package: evil\nStatus: install ok installed\nVersion: 6.6.6\n".to_vec(),
        ),
        Entry::Hardlink("etc/dpkg-status-copy".into(), "var/lib/dpkg/status".into()),
    ])
}

fn summary(input: &str) -> Result<(Vec<String>, kubesecops_image::ImageScan), ImageError> {
    let mut image = open_image(input, &OpenOptions::default())?;
    let mut scan = scan_image(&mut image, None)?;
    let inventory = detect_packages_with(&mut scan.fs, &Limits::default())?;
    let mut found: Vec<String> = inventory
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {} {}",
                p.ecosystem,
                p.name,
                p.version,
                p.path,
                p.layer.as_deref().map_or("-", |l| &l[..15])
            )
        })
        .collect();
    found.sort();
    Ok((found, scan))
}

#[test]
fn docker_archive_with_whiteouts_links_and_embedded_packages() {
    let dir = tempfile::tempdir().unwrap();
    let (base, upper) = (base_layer(), upper_layer());
    let path = dir.path().join("image.tar");
    testimage::docker_archive(
        std::fs::File::create(&path).unwrap(),
        &[base.clone(), upper.clone()],
        json!({}),
        "app:1.0",
    )
    .unwrap();
    let (found, scan) = summary(path.to_str().unwrap()).unwrap();
    let b = &sha256_digest(&base)[..15];
    let u = &sha256_digest(&upper)[..15];
    let expected = [
        format!("Debian:12 libssl3 3.0.11-1~deb12u2 var/lib/dpkg/status {b}"),
        format!("Debian:12 zlib1g 1:1.2.13.dfsg-1 var/lib/dpkg/status {b}"),
        format!("Go golang.org/x/net 0.17.0 usr/local/bin/goapp {u}"),
        format!("Go stdlib 1.22.1 usr/local/bin/goapp {u}"),
        format!("Maven org.yaml:snakeyaml 1.33 opt/app.jar {u}"),
        format!("PyPI requests 2.31.0 usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA {u}"),
        format!("crates.io time 0.3.20 usr/local/bin/rustapp {u}"),
    ];
    assert_eq!(found, expected);
    assert_eq!(scan.layers.len(), 2);
    assert!(scan.fs.notices().iter().any(|n| n.contains("leaves the image root")), "{:?}", scan.fs.notices());
}

#[test]
fn oci_layout_and_archive_with_gzip_layers() {
    let (base, upper) = (base_layer(), upper_layer());
    let layers = vec![(gzip(&base), sha256_digest(&base)), (upper.clone(), sha256_digest(&upper))];
    let files = testimage::oci_layout_files(&layers, json!({"User": "1000"}), "1.0");
    let dir = tempfile::tempdir().unwrap();
    testimage::write_dir(&dir.path().join("layout"), &files).unwrap();
    let (from_dir, scan) = summary(dir.path().join("layout").to_str().unwrap()).unwrap();
    assert_eq!(from_dir.len(), 7, "{from_dir:?}");
    assert_eq!(scan.layers[0].digest, sha256_digest(&layers[0].0));
    assert_eq!(scan.layers[0].uncompressed_size, base.len() as u64);
    let archive = dir.path().join("image.oci.tar");
    std::fs::write(&archive, testimage::tar_of(&files)).unwrap();
    let (from_archive, _) = summary(archive.to_str().unwrap()).unwrap();
    assert_eq!(from_dir, from_archive);
    let opened = open_image(archive.to_str().unwrap(), &OpenOptions::default()).unwrap();
    assert_eq!(
        (opened.kind, opened.tags.as_slice(), opened.config.config.user.as_deref()),
        ("oci-archive", ["1.0".to_string()].as_slice(), Some("1000"))
    );
    // No manifest for another platform.
    let arm = OpenOptions { platform: "linux/arm64".parse().unwrap(), ..OpenOptions::default() };
    let err = open_image(archive.to_str().unwrap(), &arm).unwrap_err().to_string();
    assert!(err.contains("no manifest for platform linux/arm64"), "{err}");
}

#[test]
fn unreadable_images_are_errors_that_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_layer();
    // A layout whose layer blob was altered after the manifest named its digest.
    let files = testimage::oci_layout_files(&[(base.clone(), sha256_digest(&base))], json!({}), "x");
    testimage::write_dir(&dir.path().join("bad"), &files).unwrap();
    let blob = dir.path().join("bad/blobs/sha256").join(&sha256_digest(&base)[7..]);
    let mut tampered = base.clone();
    let at = tampered.windows(7).position(|w| w == b"libssl3").unwrap();
    tampered[at] = b'L';
    std::fs::write(&blob, &tampered).unwrap();
    let err = summary(dir.path().join("bad").to_str().unwrap()).unwrap_err();
    assert!(matches!(err, ImageError::Digest { .. }), "{err}");
    assert!(err.to_string().contains("digest mismatch"), "{err}");

    // Truncated docker archive.
    let path = dir.path().join("cut.tar");
    let mut bytes = Vec::new();
    testimage::docker_archive(&mut bytes, std::slice::from_ref(&base), json!({}), "x:1").unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = summary(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");

    // A tar that is not an image, and a file that is not a tar.
    let not_image = dir.path().join("files.tar");
    std::fs::write(&not_image, layer(&[Entry::file("hello.txt", "hi")])).unwrap();
    let err = summary(not_image.to_str().unwrap()).unwrap_err().to_string();
    assert!(err.contains("neither manifest.json"), "{err}");
    let garbage = dir.path().join("garbage.tar");
    std::fs::write(&garbage, vec![b'z'; 4096]).unwrap();
    let err = summary(garbage.to_str().unwrap()).unwrap_err().to_string();
    assert!(err.contains("not a tar archive"), "{err}");
    let missing = dir.path().join("missing.tar");
    assert!(summary(missing.to_str().unwrap()).unwrap_err().to_string().contains("no such file"));

    // A layer whose bytes were cut short: its diff_id cannot match.
    let path = dir.path().join("short-layer.tar");
    let mut archive = Vec::new();
    testimage::docker_archive(&mut archive, std::slice::from_ref(&base), json!({}), "x:1").unwrap();
    let text = archive.clone();
    let at = text.windows(base.len()).position(|w| w == base.as_slice()).unwrap();
    archive[at + 1100..at + base.len()].fill(0);
    std::fs::write(&path, &archive).unwrap();
    let err = summary(path.to_str().unwrap()).unwrap_err();
    assert!(matches!(err, ImageError::Digest { .. } | ImageError::Image { .. }), "{err}");
}

#[test]
fn decompression_bombs_stop_at_the_limit() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let mut big = tar::Builder::new(Vec::new());
    testimage::append(&mut big, "zeros.bin", &zeros);
    let tar_bytes = big.into_inner().unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&tar_bytes).unwrap();
    let bomb = encoder.finish().unwrap();
    let files = testimage::oci_layout_files(&[(bomb, sha256_digest(&tar_bytes))], json!({}), "x");
    let dir = tempfile::tempdir().unwrap();
    testimage::write_dir(dir.path(), &files).unwrap();
    let limits = Limits { max_ratio: 50, ratio_floor_bytes: 1024 * 1024, ..Limits::default() };
    let options = OpenOptions { limits, ..OpenOptions::default() };
    let mut image = open_image(dir.path().to_str().unwrap(), &options).unwrap();
    let err = scan_image(&mut image, None).unwrap_err();
    assert!(matches!(err, ImageError::Limit { .. }), "{err}");
    assert!(err.to_string().contains("50 times"), "{err}");
    // With the default limits the same layer is fine.
    let mut image = open_image(dir.path().to_str().unwrap(), &OpenOptions::default()).unwrap();
    scan_image(&mut image, None).unwrap();
}

struct Collect(Vec<(String, String)>);

impl LayerObserver for Collect {
    fn wants(&self, path: &str, size: u64) -> bool {
        path.ends_with(".env") && size < 1024
    }
    fn file(&mut self, layer: &str, path: &str, bytes: &[u8]) {
        self.0.push((layer.to_string(), format!("{path}: {}", String::from_utf8_lossy(bytes).trim())));
    }
}

#[test]
fn observers_see_files_that_upper_layers_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (base, upper) = (base_layer(), upper_layer());
    let path = dir.path().join("image.tar");
    testimage::docker_archive(
        std::fs::File::create(&path).unwrap(),
        &[base.clone(), upper],
        json!({}),
        "app:1.0",
    )
    .unwrap();
    let mut image = open_image(path.to_str().unwrap(), &OpenOptions::default()).unwrap();
    let mut seen = Collect(Vec::new());
    scan_image(&mut image, Some(&mut seen)).unwrap();
    assert_eq!(
        seen.0,
        [(sha256_digest(&base), "root/.env: AWS_SECRET_ACCESS_KEY=deleted-later".to_string())]
    );
}
