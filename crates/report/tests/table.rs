mod common;

use std::collections::BTreeMap;

use common::{config, lookup, render_string, sample_report};
use kubesecops_core::{Report, ReportError, Severity};
use kubesecops_report::{count_at_or_above, severity_counts, Format, RenderConfig};

#[test]
fn table_groups_by_file_and_summarises() {
    let report = sample_report();
    let text = render_string(&report, Format::Table, &config(&lookup));
    insta::assert_snapshot!(text);
}

#[test]
fn table_has_no_escape_codes_unless_colour_is_asked_for() {
    let report = sample_report();
    let plain = render_string(&report, Format::Table, &config(&lookup));
    assert!(!plain.contains('\x1b'));
    assert!(!plain.lines().any(|line| line.ends_with(' ')), "trailing spaces:\n{plain}");

    let coloured = render_string(&report, Format::Table, &RenderConfig { color: true, ..config(&lookup) });
    assert!(coloured.contains("\x1b[1;31mCRITICAL\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[36mLOW\x1b[0m"), "{coloured}");
    // Colour must not change the layout: without the escapes the text is the plain one.
    assert_eq!(strip_ansi(&coloured), plain);
}

#[test]
fn table_is_deterministic() {
    let report = sample_report();
    let first = render_string(&report, Format::Table, &config(&lookup));
    assert_eq!(first, render_string(&report, Format::Table, &config(&lookup)));
}

#[test]
fn table_says_when_nothing_was_found() {
    let empty = Report::with_findings(Vec::new(), Vec::new());
    assert_eq!(render_string(&empty, Format::Table, &RenderConfig::new("1")), "No findings.\n");

    let with_error =
        Report::with_findings(Vec::new(), vec![ReportError::at("a.yaml", None, "cannot read: denied")]);
    assert_eq!(
        render_string(&with_error, Format::Table, &RenderConfig::new("1")),
        "No findings.\n\n1 error:\n  a.yaml: cannot read: denied\n"
    );
}

#[test]
fn table_of_a_report_without_findings_lists_only_errors() {
    let report = Report::with_section(
        "results",
        serde_json::json!([]),
        vec![ReportError::at("b.yaml", Some(2), "bad"), ReportError::at("c.yaml", None, "worse")],
    );
    assert_eq!(
        render_string(&report, Format::Table, &RenderConfig::new("1")),
        "2 errors:\n  b.yaml:2: bad\n  c.yaml: worse\n"
    );
    let clean = Report::with_section("results", serde_json::json!([]), Vec::new());
    assert_eq!(render_string(&clean, Format::Table, &RenderConfig::new("1")), "");
}

#[test]
fn counts_per_severity() {
    let report = sample_report();
    let findings = report.findings();
    // The sample has 1 LOW, 2 MEDIUM, 3 HIGH and 2 CRITICAL findings; count them independently.
    let mut expected = BTreeMap::new();
    for finding in findings {
        *expected.entry(finding.severity).or_insert(0) += 1;
    }
    let counts = severity_counts(findings);
    for (i, severity) in Severity::ALL.into_iter().enumerate() {
        assert_eq!(counts[i], expected.get(&severity).copied().unwrap_or(0), "{severity}");
    }
    assert_eq!(counts, [1, 2, 3, 2]);
    assert_eq!(count_at_or_above(findings, Severity::Low), 8);
    assert_eq!(count_at_or_above(findings, Severity::High), 5);
    assert_eq!(count_at_or_above(findings, Severity::Critical), 2);
    assert_eq!(severity_counts(&[]), [0; 4]);
}

/// `text` without ANSI SGR sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
