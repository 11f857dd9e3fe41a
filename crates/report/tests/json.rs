mod common;

use common::{config, lookup, render_string, sample_report};
use kubesecops_core::{Report, ReportError, SCHEMA_VERSION};
use kubesecops_report::{Format, RenderConfig};

#[test]
fn json_is_the_envelope_pretty_printed() {
    let report = sample_report();
    let text = render_string(&report, Format::Json, &config(&lookup));
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    assert!(text.starts_with("{\n  \"schemaVersion\": "), "{text}");

    // It reads back as the same report.
    let parsed: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed.schema_version, SCHEMA_VERSION);
    assert_eq!(parsed.findings(), report.findings());
    assert_eq!(parsed.errors, report.errors);
    insta::assert_snapshot!(text);
}

#[test]
fn json_keeps_command_sections() {
    let report = Report::with_section(
        "results",
        serde_json::json!([{"id": "x", "status": "FAIL"}]),
        vec![ReportError::at("p.rego", Some(4), "rego_parse_error")],
    );
    let text = render_string(&report, Format::Json, &RenderConfig::new("1"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "schemaVersion": SCHEMA_VERSION,
            "results": [{"id": "x", "status": "FAIL"}],
            "errors": [{"path": "p.rego", "line": 4, "message": "rego_parse_error"}],
        })
    );
}
