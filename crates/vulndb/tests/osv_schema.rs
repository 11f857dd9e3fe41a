//! The generated records (used by the import benchmark) are valid OSV: checked against the
//! OSV schema from the conformance suites, when that sibling folder is present.

use std::path::PathBuf;

use kubesecops_vulndb::generate;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites/osv-schema/validation/schema.json")
}

#[test]
fn generated_records_are_valid_osv() {
    let path = schema_path();
    if !path.exists() {
        // Unit tests must pass on a clone without ../shared: say so instead of passing silently.
        eprintln!("SKIPPED generated_records_are_valid_osv: {} is not present", path.display());
        return;
    }
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator =
        jsonschema::options().should_validate_formats(true).build(&schema).expect("OSV schema compiles");
    let mut checked = 0;
    for record in generate::records(11, 2_000) {
        let errors: Vec<String> =
            validator.iter_errors(&record).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", record["id"]);
        checked += 1;
    }
    assert_eq!(checked, 2_000);
    // The validator is not a rubber stamp: a record with an unknown ecosystem fails.
    let mut bad = generate::record(11, 0);
    bad["affected"][0]["package"]["ecosystem"] = "NotAnEcosystem".into();
    assert!(!validator.is_valid(&bad));
}
