//! The writers' output is valid against the vendored CycloneDX 1.6 and SPDX 2.3 schemas, and
//! the readers give back the inventory that was written.

use std::path::Path;

use jsonschema::Registry;
use kubesecops_sbom::{
    cyclonedx, read, spdx, OsInfo, Rating, Sbom, SbomPackage, SbomVulnerability, WriteOptions,
};
use serde_json::Value;

fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator.iter_errors(document).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn cyclonedx_validator() -> jsonschema::Validator {
    let registry = Registry::new()
        .add("http://cyclonedx.org/schema/spdx.schema.json", schema("spdx.schema.json"))
        .unwrap()
        .add("http://cyclonedx.org/schema/jsf-0.82.schema.json", schema("jsf-0.82.schema.json"))
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::draft7::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema("bom-1.6.schema.json"))
        .expect("the CycloneDX schema compiles")
}

fn spdx_validator() -> jsonschema::Validator {
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema("spdx-schema-2.3.json"))
        .expect("the SPDX schema compiles")
}

fn package(name: &str, version: &str, ecosystem: &str, path: &str) -> SbomPackage {
    SbomPackage {
        name: name.into(),
        version: version.into(),
        ecosystem: ecosystem.into(),
        path: path.into(),
        layer: Some("sha256:1111".into()),
        ..SbomPackage::default()
    }
}

fn sample() -> Sbom {
    let mut libssl = package("libssl3", "3.0.11-1~deb12u2", "Debian:12", "var/lib/dpkg/status");
    libssl.source_name = Some("openssl".into());
    Sbom {
        target: "registry.example/app:1.0".into(),
        os: Some(OsInfo { id: "debian".into(), version: "12".into() }),
        packages: vec![
            libssl,
            package("@angular/core", "16.0.0", "npm", "app/package-lock.json"),
            package("github.com/gin-gonic/gin", "v1.9.0", "Go", "app/go.mod"),
            package("org.apache.logging.log4j:log4j-core", "2.14.1", "Maven", "app/lib/log4j-core.jar"),
            package(
                "jinja2",
                "3.1.2",
                "PyPI",
                "usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA",
            ),
            package("weird name", "1.0+local", "crates.io", "Cargo.lock"),
        ],
        vulnerabilities: vec![
            SbomVulnerability {
                id: "DSA-5000-1".into(),
                aliases: vec!["CVE-2024-0001".into()],
                summary: Some("openssl: a flaw".into()),
                rating: Some(Rating {
                    severity: "high".into(),
                    score: Some(7.5),
                    vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into()),
                }),
                affects: vec![(0, Some("3.0.13-1~deb12u1".into()))],
            },
            SbomVulnerability {
                id: "GHSA-xxxx-yyyy-zzzz".into(),
                aliases: Vec::new(),
                summary: None,
                rating: Some(Rating {
                    severity: "medium".into(),
                    score: None,
                    vector: Some("MODERATE".into()),
                }),
                affects: vec![(1, None)],
            },
        ],
    }
}

fn options() -> WriteOptions {
    WriteOptions { tool_version: "0.1.0".into(), created: 1_714_564_800 }
}

#[test]
fn cyclonedx_output_is_valid_and_reads_back() {
    let sbom = sample();
    let document = cyclonedx::write(&sbom, &options());
    assert_eq!(errors(&cyclonedx_validator(), &document), Vec::<String>::new());
    assert_eq!(document["specVersion"], "1.6");
    assert_eq!(
        document["components"][1]["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12&upstream=openssl"
    );
    assert_eq!(document["vulnerabilities"][0]["ratings"][0]["method"], "CVSSv31");
    assert_eq!(document["vulnerabilities"][0]["affects"][0]["versions"][1]["status"], "unaffected");

    let back = read(&serde_json::to_vec(&document).unwrap(), "bom.json").unwrap();
    assert_eq!(back.target, sbom.target);
    assert_eq!(back.os, sbom.os);
    assert_eq!(back.packages.len(), sbom.packages.len());
    for (read, written) in back.packages.iter().zip(&sbom.packages) {
        assert_eq!(
            (&read.name, &read.version, &read.ecosystem, &read.path, &read.layer, &read.source_name),
            (
                &written.name,
                &written.version,
                &written.ecosystem,
                &written.path,
                &written.layer,
                &written.source_name
            )
        );
    }
}

#[test]
fn spdx_output_is_valid_and_reads_back() {
    let sbom = sample();
    let document = spdx::write(&sbom, &options());
    assert_eq!(errors(&spdx_validator(), &document), Vec::<String>::new());
    assert_eq!(document["creationInfo"]["created"], "2024-05-01T12:00:00Z");
    // What the specification requires and the schema does not check: identifiers of the form
    // `SPDXRef-[A-Za-z0-9.-]+`, relationships between existing elements, a namespace URI.
    let mut ids = vec!["SPDXRef-DOCUMENT".to_string()];
    for package in document["packages"].as_array().unwrap() {
        let id = package["SPDXID"].as_str().unwrap();
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
        ids.push(id.to_string());
    }
    for relationship in document["relationships"].as_array().unwrap() {
        for end in ["spdxElementId", "relatedSpdxElement"] {
            assert!(ids.iter().any(|id| relationship[end] == id.as_str()), "{relationship}");
        }
    }
    assert!(document["documentNamespace"].as_str().unwrap().starts_with("https://"));
    let back = read(&serde_json::to_vec(&document).unwrap(), "sbom.spdx.json").unwrap();
    assert_eq!(back.os, sbom.os);
    let summary: Vec<(&str, &str, &str, &str)> = back
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.ecosystem.as_str(), p.path.as_str()))
        .collect();
    let expected: Vec<(&str, &str, &str, &str)> = sbom
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.ecosystem.as_str(), p.path.as_str()))
        .collect();
    assert_eq!(summary, expected);
    assert_eq!(back.packages[0].source_name.as_deref(), Some("openssl"));
    assert_eq!(back.packages[0].layer.as_deref(), Some("sha256:1111"));
}

#[test]
fn an_empty_inventory_is_still_a_valid_document() {
    let sbom = Sbom { target: "scratch".into(), ..Sbom::default() };
    assert!(errors(&cyclonedx_validator(), &cyclonedx::write(&sbom, &options())).is_empty());
    assert!(errors(&spdx_validator(), &spdx::write(&sbom, &options())).is_empty());
}

#[test]
fn the_validator_rejects_a_broken_document() {
    // Guards the tests above: a validator that accepted anything would pass them.
    let mut document = cyclonedx::write(&sample(), &options());
    document["components"][0]["type"] = "not-a-type".into();
    assert!(!errors(&cyclonedx_validator(), &document).is_empty());
    let mut spdx_document = spdx::write(&sample(), &options());
    spdx_document["packages"][1]["primaryPackagePurpose"] = "NOT-A-PURPOSE".into();
    assert!(!errors(&spdx_validator(), &spdx_document).is_empty());
}

#[test]
fn readers_report_where_documents_are_wrong() {
    let err = read(b"{\"bomFormat\": \"CycloneDX\",\n \"components\": [{\"type\": \"library\", \"name\": \"a\", \"purl\": \"npm/a\"}]}", "x.json")
        .unwrap_err();
    assert!(err.to_string().contains("x.json: /components/0/purl"), "{err}");
    let err = read(b"{\"spdxVersion\": \"SPDX-2.3\", \"packages\": 5}", "s.json").unwrap_err();
    assert!(err.to_string().contains("s.json: /packages"), "{err}");
    let err = read(b"{\"hello\": 1}", "h.json").unwrap_err();
    assert!(err.to_string().contains("not a CycloneDX"), "{err}");
    let err = read(b"{\n  \"bomFormat\": ", "t.json").unwrap_err();
    assert!(err.to_string().starts_with("t.json:2:"), "{err}");
}

#[test]
fn reads_nested_components_and_other_tools_properties() {
    let document = br#"{
      "bomFormat": "CycloneDX", "specVersion": "1.5",
      "metadata": {"component": {"type": "container", "name": "alpine:3.20"}},
      "components": [
        {"type": "operating-system", "name": "alpine", "version": "3.20.3"},
        {"type": "library", "name": "libcrypto3", "version": "3.3.2-r0",
         "purl": "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64",
         "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "openssl"},
                        {"name": "aquasecurity:trivy:SrcVersion", "value": "3.3.2-r0"}],
         "components": [{"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}]},
        {"type": "file", "name": "README"}
      ]
    }"#;
    let sbom = read(document, "trivy.json").unwrap();
    assert_eq!(sbom.target, "alpine:3.20");
    assert_eq!(sbom.packages.len(), 2);
    let crypto = &sbom.packages[0];
    assert_eq!(crypto.ecosystem, "Alpine:v3.20");
    assert_eq!(
        (crypto.source_name.as_deref(), crypto.source_version.as_deref()),
        (Some("openssl"), Some("3.3.2-r0"))
    );
    assert_eq!((sbom.packages[1].name.as_str(), sbom.packages[1].ecosystem.as_str()), ("left-pad", "npm"));
}
