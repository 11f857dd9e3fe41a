//! Package discovery over a root filesystem directory written by the test.

use std::fs;
use std::path::Path;

use kubesecops_image::{detect_packages, RootFs};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn finds_os_and_language_packages_with_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
    write(
        root,
        "var/lib/dpkg/status",
        "Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n",
    );
    write(root, "var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\n");
    write(root, "var/lib/dpkg/status.d/tzdata.md5sums", "abc  usr/share/zoneinfo/UTC\n");
    write(root, "srv/app/requirements.txt", "jinja2==3.1.2\n");
    write(root, "srv/app/node_modules/x/package-lock.json", "not read");
    let inventory = detect_packages(&mut RootFs::new(root)).unwrap();
    assert_eq!(inventory.os.as_ref().unwrap().id, "debian");
    let found: Vec<(String, String, String, String)> = inventory
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.ecosystem.clone(), p.path.clone()))
        .collect();
    let expect =
        |n: &str, v: &str, e: &str, p: &str| (n.to_string(), v.to_string(), e.to_string(), p.to_string());
    assert_eq!(
        found,
        vec![
            expect("jinja2", "3.1.2", "PyPI", "srv/app/requirements.txt"),
            expect("zlib1g", "1:1.2.13.dfsg-1", "Debian:12", "var/lib/dpkg/status"),
            expect("tzdata", "2024a-0+deb12u1", "Debian:12", "var/lib/dpkg/status.d/tzdata"),
        ]
    );
    assert_eq!(inventory.packages[1].source_name.as_deref(), Some("zlib"));
}

#[test]
fn alpine_without_os_release_and_broken_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "lib/apk/db/installed", "P:busybox\nV:1.36.1-r29\n\n");
    let inventory = detect_packages(&mut RootFs::new(root)).unwrap();
    assert_eq!(inventory.packages[0].ecosystem, "Alpine");
    write(root, "app/Cargo.lock", "[[package]]\nname = 5\n");
    let err = detect_packages(&mut RootFs::new(root)).unwrap_err();
    assert!(err.to_string().starts_with("app/Cargo.lock:2:"), "{err}");
}
