//! Matching inventories against a store built from records the tests write.

use std::fs;

use kubesecops_vulndb::{import, match_packages, Level, PackageRef, Store};
use serde_json::{json, Value};

fn store_with(records: &[Value]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("records.json");
    fs::write(&input, serde_json::to_vec(&Value::Array(records.to_vec())).unwrap()).unwrap();
    let db = dir.path().join("db");
    import(&db, &[input]).unwrap();
    let store = Store::open(&db).unwrap();
    (dir, store)
}

fn package<'a>(ecosystem: &'a str, name: &'a str, version: &'a str) -> PackageRef<'a> {
    PackageRef { ecosystem, name, version, path: "x", ..PackageRef::default() }
}

fn ids(matches: &[kubesecops_vulndb::VulnMatch], package: usize) -> Vec<String> {
    matches.iter().filter(|m| m.package == package).map(|m| m.vuln.id.clone()).collect()
}

#[test]
fn debian_binaries_match_through_their_source_package() {
    let (_dir, store) = store_with(&[
        json!({
            "id": "DSA-5000-1", "modified": "2024-01-01T00:00:00Z",
            "upstream": ["CVE-2024-0001"],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]}]
        }),
        // The distribution's per-CVE record of the same vulnerability, without a fix.
        json!({
            "id": "DEBIAN-CVE-2024-0001", "modified": "2024-01-01T00:00:00Z",
            "upstream": ["CVE-2024-0001"],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
        }),
    ]);
    let packages = [
        PackageRef {
            source_name: Some("openssl"),
            source_version: Some("3.0.11-1~deb12u2"),
            ..package("Debian:12", "libssl3", "3.0.11-1~deb12u2+b1")
        },
        PackageRef { source_name: Some("openssl"), ..package("Debian:12", "openssl", "3.0.13-1~deb12u1") },
        // Same source, other release: no record.
        PackageRef { source_name: Some("openssl"), ..package("Debian:11", "libssl1.1", "1.1.1n-0+deb11u5") },
        // The binary's own name is not what Debian's records name.
        package("Debian:12", "libssl3", "3.0.11-1~deb12u2"),
    ];
    let matches = match_packages(&store, packages).unwrap();
    assert_eq!(ids(&matches, 0), ["DSA-5000-1"], "two records of one CVE are one finding");
    let libssl = &matches[0];
    assert_eq!(libssl.matched_name, "openssl");
    assert_eq!(libssl.matched_version, "3.0.11-1~deb12u2");
    assert_eq!(libssl.vuln.fixed_version.as_deref(), Some("3.0.13-1~deb12u1"));
    assert_eq!(libssl.vuln.aliases, ["CVE-2024-0001", "DEBIAN-CVE-2024-0001"]);
    // The severity comes from the merged record that has one.
    assert_eq!(libssl.vuln.severity.as_ref().unwrap().level, Level::High);
    // The fixed version no longer matches the DSA, but the DEBIAN-CVE record has no fix.
    assert_eq!(ids(&matches, 1), ["DEBIAN-CVE-2024-0001"]);
    assert!(ids(&matches, 2).is_empty());
    assert!(ids(&matches, 3).is_empty());
}

#[test]
fn alpine_releases_and_origins() {
    let (_dir, store) = store_with(&[json!({
        "id": "ALPINE-CVE-2024-9", "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {"package": {"ecosystem": "Alpine:v3.20", "name": "openssl"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.3.2-r0"}]}]},
            {"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.7-r0"}]}]}
        ]
    })]);
    let packages = [
        PackageRef { source_name: Some("openssl"), ..package("Alpine:v3.20", "libcrypto3", "3.3.1-r3") },
        // A release written the way os-release has it is normalised.
        PackageRef { source_name: Some("openssl"), ..package("alpine:3.19.4", "libcrypto3", "3.1.6-r0") },
        PackageRef { source_name: Some("openssl"), ..package("Alpine:v3.20", "libcrypto3", "3.3.2-r0") },
        PackageRef { source_name: Some("openssl"), ..package("Alpine:v3.18", "libcrypto3", "3.1.0-r0") },
    ];
    let matches = match_packages(&store, packages).unwrap();
    assert_eq!(matches.iter().map(|m| m.package).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(matches[0].vuln.fixed_version.as_deref(), Some("3.3.2-r0"));
    assert_eq!(matches[1].vuln.fixed_version.as_deref(), Some("3.1.7-r0"));
    assert_eq!(matches[1].ecosystem, "Alpine:v3.19");
}

#[test]
fn semver_git_limits_and_lists() {
    let (_dir, store) = store_with(&[
        json!({
            "id": "GO-2024-0001", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-1111", "GHSA-aaaa-bbbb-cccc"],
            "affected": [{"package": {"ecosystem": "Go", "name": "github.com/gin-gonic/gin"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.2.0"}, {"fixed": "1.9.1"}]}]}]
        }),
        json!({
            "id": "OSV-GIT-1", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "crates.io", "name": "gitdep"},
                          "ranges": [{"type": "GIT", "repo": "https://example.invalid/gitdep",
                                      "events": [{"introduced": "0123456789abcdef0123456789abcdef01234567"},
                                                 {"fixed": "89abcdef0123456789abcdef0123456789abcdef"}]}],
                          "versions": ["0.3.0"]}]
        }),
        json!({
            "id": "GHSA-limit", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "RubyGems", "name": "rack"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.8.1"}, {"limit": "3.0"}]}]}]
        }),
    ]);
    let packages = [
        package("Go", "github.com/gin-gonic/gin", "v1.9.0"),
        package("Go", "github.com/gin-gonic/gin", "v1.9.1"),
        package("crates.io", "gitdep", "0.3.0"),
        package("crates.io", "gitdep", "0123456789ab"),
        package("crates.io", "gitdep", "0.4.0"),
        package("RubyGems", "rack", "2.2.8"),
        package("RubyGems", "rack", "3.0.1"),
        package("RubyGems", "rack", ""),
    ];
    let matches = match_packages(&store, packages).unwrap();
    assert_eq!(matches.iter().map(|m| m.package).collect::<Vec<_>>(), [0, 2, 3, 5]);
    assert_eq!(matches[0].vuln.aliases, ["CVE-2024-1111", "GHSA-aaaa-bbbb-cccc"]);
    assert_eq!(matches[0].vuln.fixed_version.as_deref(), Some("1.9.1"));
    assert_eq!(matches[1].vuln.fixed_version, None, "listed versions name no fix");
    assert_eq!(matches[3].vuln.fixed_version.as_deref(), Some("2.2.8.1"));
}
