//! JUnit XML (the Jenkins/Surefire `junit-10.xsd` shape) for CI test-report views.
//!
//! One `<testsuite>` per input file that has findings or errors, one failed `<testcase>`
//! per finding (classname = rule id, name = object and message), and one `<testcase>` with
//! an `<error>` per input that could not be processed. Files without findings are not in
//! the report, so they do not appear as passed tests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use kubesecops_core::{Finding, Report, ReportError};

/// `classname` of the test cases that stand for report errors.
const ERROR_CLASSNAME: &str = "kubesecops";
/// Suite name for errors that name no input.
const UNNAMED_SUITE: &str = "kubesecops";

/// Writes the JUnit XML of `report`.
pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut suites: BTreeMap<&str, Suite<'_>> = BTreeMap::new();
    for finding in report.findings() {
        suites.entry(&finding.location.path).or_default().findings.push(finding);
    }
    for error in &report.errors {
        let name = if error.path.is_empty() { UNNAMED_SUITE } else { error.path.as_str() };
        suites.entry(name).or_default().errors.push(error);
    }

    let failures: usize = suites.values().map(|suite| suite.findings.len()).sum();
    let errors: usize = suites.values().map(|suite| suite.errors.len()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"kubesecops\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        failures + errors
    );
    for (name, suite) in &suites {
        write_suite(&mut xml, name, suite);
    }
    xml.push_str("</testsuites>\n");
    out.write_all(xml.as_bytes())
}

/// What one input file contributes.
#[derive(Default)]
struct Suite<'r> {
    findings: Vec<&'r Finding>,
    errors: Vec<&'r ReportError>,
}

fn write_suite(xml: &mut String, name: &str, suite: &Suite<'_>) {
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        attribute(name),
        suite.findings.len() + suite.errors.len(),
        suite.findings.len(),
        suite.errors.len()
    );
    for finding in &suite.findings {
        write_finding(xml, finding);
    }
    for error in &suite.errors {
        let place = match error.line {
            Some(line) => format!("{}:{line}", error.path),
            None => error.path.clone(),
        };
        let _ = writeln!(
            xml,
            "    <testcase classname=\"{ERROR_CLASSNAME}\" name=\"{}\">",
            attribute(&format!("input error at {place}"))
        );
        let _ = writeln!(
            xml,
            "      <error message=\"{}\" type=\"input-error\">{}</error>",
            attribute(&error.message),
            text(&format!("{place}: {}", error.message))
        );
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n");
}

fn write_finding(xml: &mut String, finding: &Finding) {
    let object = finding.object.as_deref();
    let name = match object {
        Some(object) => format!("{}: {}", object.display(), finding.message),
        None => finding.message.clone(),
    };
    let _ = writeln!(
        xml,
        "    <testcase classname=\"{}\" name=\"{}\">",
        attribute(&finding.rule.id),
        attribute(&name)
    );

    let location = &finding.location;
    let mut details = String::new();
    if finding.rule.title.is_empty() {
        let _ = writeln!(details, "Rule: {}", finding.rule.id);
    } else {
        let _ = writeln!(details, "Rule: {} ({})", finding.rule.id, finding.rule.title);
    }
    let _ = writeln!(details, "Severity: {}", finding.severity);
    let _ = write!(details, "Location: {}", location.path);
    for number in [location.line, location.column].into_iter().map_while(|n| n) {
        let _ = write!(details, ":{number}");
    }
    details.push('\n');
    if let Some(object) = object {
        let _ = writeln!(details, "Object: {} ({})", object.display(), object.api_version);
    }
    if !finding.rule.aliases.is_empty() {
        let _ = writeln!(details, "Aliases: {}", finding.rule.aliases.join(", "));
    }
    let _ = writeln!(details, "Message: {}", finding.message);
    let _ = write!(details, "Fingerprint: {}", finding.fingerprint);

    let _ = writeln!(
        xml,
        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
        attribute(&finding.message),
        finding.severity,
        text(&details)
    );
    xml.push_str("    </testcase>\n");
}

/// `value` escaped for a double-quoted attribute. Tabs and line breaks become character
/// references, because parsers turn literal ones in attributes into spaces.
fn attribute(value: &str) -> String {
    escape(value, true)
}

/// `value` escaped for element content.
fn text(value: &str) -> String {
    escape(value, false)
}

fn escape(value: &str, in_attribute: bool) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' if in_attribute => escaped.push_str("&quot;"),
            '\'' if in_attribute => escaped.push_str("&apos;"),
            '\t' if in_attribute => escaped.push_str("&#9;"),
            '\n' if in_attribute => escaped.push_str("&#10;"),
            // A literal CR would be normalised away by parsers, in content too.
            '\r' => escaped.push_str("&#13;"),
            '\t' | '\n' => escaped.push(c),
            // Characters XML 1.0 cannot carry at all, not even as references.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                escaped.extend(c.escape_unicode())
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_unrepresentable_characters() {
        assert_eq!(attribute("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(attribute("line\nnext\ttab\r"), "line&#10;next&#9;tab&#13;");
        assert_eq!(text("keep \"quotes\"\n and\ttabs"), "keep \"quotes\"\n and\ttabs");
        assert_eq!(text("]]> bell\u{7} nul\0 \u{FFFF}"), "]]&gt; bell\\u{7} nul\\u{0} \\u{ffff}");
        assert_eq!(text("ünï ✓"), "ünï ✓");
    }
}
