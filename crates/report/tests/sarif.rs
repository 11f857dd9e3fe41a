mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{config, lookup, render_string, sample_report};
use kubesecops_core::{Report, ReportError, Severity};
use kubesecops_report::{Format, RenderConfig};
use serde_json::{json, Value};

fn sarif(report: &Report, config: &RenderConfig<'_>) -> Value {
    let text = render_string(report, Format::Sarif, config);
    assert!(text.ends_with("}\n"));
    serde_json::from_str(&text).expect("SARIF output is JSON")
}

fn schema_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft4::options()
        .should_validate_formats(true)
        // Draft-04 has no `uri-reference` format, so the validator would skip it: check it here.
        .with_format("uri-reference", is_uri_reference)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

/// The characters RFC 3986 allows in a URI reference, with `%` only as `%XX`.
fn is_uri_reference(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            if !(i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit())
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&byte)) {
            return false;
        }
        i += 1;
    }
    true
}

fn schema_errors(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator.iter_errors(log).map(|error| format!("{}: {error}", error.instance_path())).collect()
}

#[test]
fn sarif_snapshot() {
    // The text as written, so that the snapshot also pins the key order.
    insta::assert_snapshot!(render_string(&sample_report(), Format::Sarif, &config(&lookup)));
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let validator = schema_validator();
    let reports = [
        sample_report(),
        Report::with_findings(Vec::new(), Vec::new()),
        Report::with_section("results", json!([1]), vec![ReportError::at("", None, "no input named")]),
    ];
    let mut with_info = config(&lookup);
    with_info.information_uri = Some("https://example.com/kubesecops");
    let configs = [config(&lookup), RenderConfig::new("1.0.0"), with_info];
    for report in &reports {
        for config in &configs {
            let log = sarif(report, config);
            let errors = schema_errors(&validator, &log);
            assert!(errors.is_empty(), "schema errors: {errors:#?}\n{log:#}");
        }
    }
}

#[test]
fn large_logs_validate_against_the_schema() {
    // From 8,192 findings the results are written by hand, in chunks on the thread pool.
    let sample = sample_report();
    let findings: Vec<_> = sample.findings().iter().cycle().take(8_300).cloned().collect();
    let report = Report::with_findings(findings, sample.errors.clone());
    let log = sarif(&report, &config(&lookup));
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(8_300));
    let errors = schema_errors(&schema_validator(), &log);
    assert!(errors.is_empty(), "schema errors: {:#?}", &errors[..errors.len().min(20)]);
}

#[test]
fn schema_check_rejects_broken_logs() {
    // The validation above means something only if the schema catches mistakes.
    let validator = schema_validator();
    let mut log = sarif(&sample_report(), &config(&lookup));
    assert!(schema_errors(&validator, &log).is_empty());

    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0);
    assert!(!schema_errors(&validator, &log).is_empty());

    let mut log = sarif(&sample_report(), &config(&lookup));
    log["runs"][0]["results"][0]["level"] = json!("critical");
    assert!(!schema_errors(&validator, &log).is_empty());

    let mut log = sarif(&sample_report(), &config(&lookup));
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("my app/values.yaml");
    assert!(!schema_errors(&validator, &log).is_empty(), "format checks are on");
}

#[test]
fn results_point_at_their_rules() {
    let report = sample_report();
    let log = sarif(&report, &config(&lookup));
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kubesecops");
    assert_eq!(run["tool"]["driver"]["version"], common::TOOL_VERSION);
    assert!(run["tool"]["driver"].get("informationUri").is_none());

    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules.iter().map(|rule| rule["id"].as_str().unwrap()).collect();
    let used: BTreeSet<&str> = report.findings().iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(rule_ids, used.into_iter().collect::<Vec<_>>(), "one rule per id used, sorted");

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings().len());
    for (result, finding) in results.iter().zip(report.findings()) {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["ruleId"], finding.rule.id.as_str());
        assert_eq!(result["message"]["text"], finding.message.as_str());
        let level = match finding.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "note",
        };
        assert_eq!(result["level"], level);
        assert_eq!(result["partialFingerprints"]["kubesecopsFingerprint/v1"], finding.fingerprint.as_str());
        assert_eq!(result["properties"]["severity"], finding.severity.as_str());
    }
}

#[test]
fn rules_are_described_from_metadata() {
    let log = sarif(&sample_report(), &config(&lookup));
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = |id: &str| rules.iter().find(|rule| rule["id"] == id).unwrap().clone();

    let privileged = rule("KSO-T001");
    assert_eq!(privileged["name"], "PrivilegedContainer");
    assert_eq!(privileged["shortDescription"]["text"], "Privileged container");
    assert_eq!(
        privileged["fullDescription"]["text"],
        "Containers whose `securityContext.privileged` is `true`."
    );
    let markdown = privileged["help"]["markdown"].as_str().unwrap();
    assert!(markdown.starts_with("## What it checks\nContainers whose"), "{markdown}");
    assert!(markdown.contains("Aliases: ALIAS-1, ALIAS-2."), "{markdown}");
    assert!(privileged["help"]["text"].as_str().unwrap().contains("## Fix\nRemove it."));
    assert_eq!(privileged["defaultConfiguration"]["level"], "error");
    assert_eq!(privileged["properties"]["security-severity"], "9.5");
    assert_eq!(
        privileged["properties"]["tags"],
        json!(["security", "pod-security", "CIS 5.2.2", "MITRE-ATTACK T1611"])
    );
    assert_eq!(privileged["properties"]["aliases"], json!(["ALIAS-1", "ALIAS-2"]));

    // No doc: no full description or help beyond the identifiers.
    let limits = rule("KSO-T003");
    assert!(limits.get("fullDescription").is_none());
    assert_eq!(limits["help"]["text"], "Frameworks: PSS restricted:limits.");
    assert_eq!(limits["defaultConfiguration"]["level"], "warning");
    assert_eq!(limits["properties"]["security-severity"], "5.5");

    // The rule default decides the rule's level, even when a finding was raised to HIGH.
    let latest = rule("KSO-T004");
    assert_eq!(latest["defaultConfiguration"]["level"], "note");
    assert_eq!(latest["properties"]["security-severity"], "2.0");

    // Unknown to the lookup: only the id, ranked by its worst finding (MEDIUM).
    let policy = rule("policy.deny_root");
    assert_eq!(
        policy,
        json!({"id": "policy.deny_root", "defaultConfiguration": {"level": "warning"},
               "properties": {"tags": ["security"], "security-severity": "5.5"}})
    );
}

#[test]
fn rules_without_lookup_use_the_findings_titles() {
    let log = sarif(&sample_report(), &RenderConfig::new("1"));
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let latest = rules.iter().find(|rule| rule["id"] == "KSO-T004").unwrap();
    assert_eq!(latest["shortDescription"]["text"], "Image uses latest tag");
    assert_eq!(latest["name"], "ImageUsesLatestTag");
    // Worst finding of the rule is HIGH.
    assert_eq!(latest["defaultConfiguration"]["level"], "error");
    assert_eq!(latest["properties"]["security-severity"], "8.0");
    assert_eq!(latest["properties"]["aliases"], json!(["ALIAS-4"]));
    assert!(latest.get("help").is_none());
}

#[test]
fn locations_place_files_lines_and_live_objects() {
    let log = sarif(&sample_report(), &config(&lookup));
    let results = log["runs"][0]["results"].as_array().unwrap();
    let location = |message_start: &str| {
        let result = results
            .iter()
            .find(|r| r["message"]["text"].as_str().unwrap().starts_with(message_start))
            .unwrap_or_else(|| panic!("no result {message_start:?}"));
        assert_eq!(result["locations"].as_array().unwrap().len(), 1);
        result["locations"][0].clone()
    };

    assert_eq!(
        location("container \"web\" runs privileged"),
        json!({"physicalLocation": {"artifactLocation": {"uri": "deploy/web.yaml"},
                                    "region": {"startLine": 14, "startColumn": 9}}})
    );
    assert_eq!(
        location("container \"db\""),
        json!({"physicalLocation": {"artifactLocation": {"uri": "deploy/db.yaml"}, "region": {"startLine": 20}}})
    );
    assert_eq!(
        location("policy denied"),
        json!({"physicalLocation": {"artifactLocation": {"uri": "charts/my%20app/values.yaml"}}})
    );
    assert_eq!(location("container \"x\"")["physicalLocation"]["artifactLocation"]["uri"], "stdin");
    let live = results.iter().find(|r| r["locations"][0].get("physicalLocation").is_none()).unwrap();
    assert_eq!(
        live["locations"][0],
        json!({"logicalLocations": [{"name": "debug", "kind": "resource",
                                     "fullyQualifiedName": "cluster://kind-dev/Pod/kube-system/debug"}]})
    );
    assert_eq!(
        live["properties"]["object"],
        json!({"apiVersion": "v1", "kind": "Pod", "namespace": "kube-system", "name": "debug"})
    );
}

#[test]
fn errors_become_tool_execution_notifications() {
    let log = sarif(&sample_report(), &config(&lookup));
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"],
        json!([
            {"level": "error", "message": {"text": "mapping values are not allowed in this context"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "broken.yaml"}, "region": {"startLine": 3}}}]},
            {"level": "error", "message": {"text": "unsupported kind \"Widget\" <skipped>"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "deploy/web.yaml"}}}]},
        ])
    );

    let clean = sarif(&Report::with_findings(Vec::new(), Vec::new()), &RenderConfig::new("1"));
    assert_eq!(clean["runs"][0]["invocations"], json!([{"executionSuccessful": true}]));
    assert_eq!(clean["runs"][0]["results"], json!([]));
    assert_eq!(clean["runs"][0]["tool"]["driver"]["rules"], json!([]));
}
