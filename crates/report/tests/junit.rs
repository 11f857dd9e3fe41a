mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{config, lookup, render_string, sample_report};
use kubesecops_core::{Report, ReportError};
use kubesecops_report::{Format, RenderConfig};

fn junit(report: &Report) -> String {
    render_string(report, Format::Junit, &config(&lookup))
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!(junit(&sample_report()));
}

#[test]
fn one_suite_per_file_with_counts() {
    let xml = junit(&sample_report());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kubesecops\" tests=\"10\" failures=\"8\" errors=\"2\">\n"));
    let suites: Vec<&str> = xml.lines().filter(|line| line.trim_start().starts_with("<testsuite ")).collect();
    assert_eq!(
        suites,
        [
            "  <testsuite name=\"-\" tests=\"1\" failures=\"1\" errors=\"0\">",
            "  <testsuite name=\"broken.yaml\" tests=\"1\" failures=\"0\" errors=\"1\">",
            "  <testsuite name=\"charts/my app/values.yaml\" tests=\"1\" failures=\"1\" errors=\"0\">",
            "  <testsuite name=\"cluster://kind-dev\" tests=\"1\" failures=\"1\" errors=\"0\">",
            "  <testsuite name=\"deploy/db.yaml\" tests=\"2\" failures=\"2\" errors=\"0\">",
            "  <testsuite name=\"deploy/web.yaml\" tests=\"4\" failures=\"3\" errors=\"1\">",
        ]
    );
    assert_eq!(xml.matches("<testcase ").count(), 10);
    assert_eq!(xml.matches("<failure ").count(), 8);
    assert_eq!(xml.matches("<error ").count(), 2);
    assert!(xml.contains(
        "<testcase classname=\"KSO-T001\" name=\"Deployment/prod/web: container &quot;web&quot; runs privileged\">"
    ));
}

#[test]
fn empty_report_is_an_empty_testsuites() {
    let xml = junit(&Report::with_findings(Vec::new(), Vec::new()));
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kubesecops\" tests=\"0\" failures=\"0\" errors=\"0\">\n</testsuites>\n"
    );
}

/// `xmllint`, or `None` when it is not installed (then the caller skips, except in CI).
fn xmllint() -> Option<&'static str> {
    let found = Command::new("xmllint").arg("--version").output().is_ok_and(|out| out.status.success());
    if found {
        return Some("xmllint");
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("xmllint not installed, but CI=true requires the JUnit schema check (apt-get install libxml2-utils)");
    }
    eprintln!("skipped: xmllint not installed (apt-get install libxml2-utils)");
    None
}

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit-10.xsd")
}

/// Writes `xml` to a file of its own and returns its path.
fn temp_file(name: &str, xml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesecops-report-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, xml).unwrap();
    path
}

/// Runs `xmllint --schema junit-10.xsd` on `xml`: `Ok` when valid, the tool's output otherwise.
fn validate(xmllint: &str, name: &str, xml: &str) -> Result<(), String> {
    let file = temp_file(name, xml);
    let out =
        Command::new(xmllint).arg("--noout").arg("--schema").arg(schema_path()).arg(&file).output().unwrap();
    std::fs::remove_file(&file).unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

#[test]
fn junit_validates_against_junit_10_xsd() {
    let Some(xmllint) = xmllint() else { return };
    let reports = [
        ("sample.xml", sample_report()),
        ("empty.xml", Report::with_findings(Vec::new(), Vec::new())),
        (
            "errors.xml",
            Report::with_section("results", serde_json::json!([]), vec![ReportError::at("", None, "x")]),
        ),
    ];
    for (name, report) in &reports {
        let xml = render_string(report, Format::Junit, &RenderConfig::new("1"));
        if let Err(problems) = validate(xmllint, name, &xml) {
            panic!("{name} does not validate:\n{problems}\n{xml}");
        }
    }

    // The check is real: a suite without its required counts is rejected.
    let broken = junit(&sample_report()).replacen(" failures=\"1\" errors=\"0\">", ">", 1);
    assert!(validate(xmllint, "broken.xml", &broken).is_err());
}

#[test]
fn escaped_text_reads_back_unchanged() {
    let Some(xmllint) = xmllint() else { return };
    let report = sample_report();
    let file = temp_file("readback.xml", &junit(&report));
    // The messages hold quotes, `<`, `&`, a newline and a tab; a parser must see them as written.
    let read = |element: &str, count: usize| {
        let mut values: Vec<String> = (1..=count)
            .map(|i| {
                let xpath = format!("string((//{element})[{i}]/@message)");
                let out = Command::new(xmllint).arg("--xpath").arg(&xpath).arg(&file).output().unwrap();
                assert!(out.status.success(), "{xpath}: {}", String::from_utf8_lossy(&out.stderr));
                let value = String::from_utf8(out.stdout).unwrap();
                // xmllint ends its answer with a newline of its own.
                value.strip_suffix('\n').unwrap_or(&value).to_string()
            })
            .collect();
        values.sort();
        values
    };
    let mut messages: Vec<String> = report.findings().iter().map(|f| f.message.clone()).collect();
    messages.sort();
    assert_eq!(read("failure", messages.len()), messages);
    let mut errors: Vec<String> = report.errors.iter().map(|e| e.message.clone()).collect();
    errors.sort();
    assert_eq!(read("error", errors.len()), errors);
    std::fs::remove_file(&file).unwrap();
}
