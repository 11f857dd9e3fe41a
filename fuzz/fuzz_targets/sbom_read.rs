//! The SBOM readers (CycloneDX and SPDX JSON, package URLs): any bytes give an inventory or
//! an error, never a panic; an inventory read back writes valid-shaped documents again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sbom) = kubesecops_sbom::read(data, "fuzz.json") else { return };
    let options = kubesecops_sbom::WriteOptions { tool_version: "0".into(), created: 0 };
    let document = kubesecops_sbom::cyclonedx::write(&sbom, &options);
    // What was written reads back to the same packages.
    let again = kubesecops_sbom::read(&serde_json::to_vec(&document).unwrap(), "again.json").unwrap();
    assert_eq!(again.packages.len(), sbom.packages.len());
    let _ = kubesecops_sbom::spdx::write(&sbom, &options);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(purl) = kubesecops_sbom::purl::Purl::parse(text) {
            assert_eq!(kubesecops_sbom::purl::Purl::parse(&purl.to_text()).unwrap(), purl);
        }
    }
});
