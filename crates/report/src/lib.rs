//! Renderers that turn a kubesecops [`Report`] into what users and CI systems read.
//!
//! One renderer per module: [`table`](Format::Table) for people, [`json`](Format::Json) (the
//! versioned envelope as is), [`sarif`](Format::Sarif) for GitHub code scanning and other
//! SARIF 2.1.0 consumers, and [`junit`](Format::Junit) for CI test-report views. Every
//! renderer is deterministic: the same report gives the same bytes.
//!
//! ```
//! use kubesecops_core::Report;
//! use kubesecops_report::{render, Format, RenderConfig};
//!
//! let report = Report::with_findings(Vec::new(), Vec::new());
//! let mut out = Vec::new();
//! render(&report, "sarif".parse().unwrap(), &RenderConfig::new("1.2.3"), &mut out).unwrap();
//! assert!(String::from_utf8(out).unwrap().contains("\"version\": \"2.1.0\""));
//! ```

use std::fmt;
use std::io;
use std::str::FromStr;

use kubesecops_core::{Finding, Report, RuleMeta, Severity};

mod chunks;
mod json;
mod json_text;
mod junit;
pub mod metrics;
mod sarif;
mod table;
#[cfg(test)]
mod testdata;

/// An output format of finding-producing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Aligned text grouped by file, for terminals (`table`, also `txt` and `text`).
    #[default]
    Table,
    /// The report envelope as pretty JSON.
    Json,
    /// SARIF 2.1.0, one run.
    Sarif,
    /// JUnit XML, one test suite per input file.
    Junit,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 4] = [Self::Table, Self::Json, Self::Sarif, Self::Junit];

    /// The canonical lower-case name (`table`, `json`, `sarif`, `junit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Junit => "junit",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given was not the name of a [`Format`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFormatError(pub String);

impl fmt::Display for ParseFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown format {:?}: expected one of table (or txt, text), json, sarif, junit", self.0)
    }
}

impl std::error::Error for ParseFormatError {}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Case-insensitive; `txt` and `text` are other names of `table`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if ["txt", "text"].iter().any(|alias| alias.eq_ignore_ascii_case(name)) {
            return Ok(Self::Table);
        }
        Self::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| ParseFormatError(s.to_string()))
    }
}

/// Finds the static metadata of a rule by id (for SARIF rule descriptions).
pub type RuleLookup<'a> = &'a dyn Fn(&str) -> Option<&'static RuleMeta>;

/// The few settings renderers need besides the report.
#[derive(Clone, Copy)]
pub struct RenderConfig<'a> {
    /// Version of kubesecops, written into SARIF `tool.driver.version`.
    pub tool_version: &'a str,
    /// Where to read more about the tool (SARIF `tool.driver.informationUri`); must be an
    /// absolute URI when set.
    pub information_uri: Option<&'a str>,
    /// Metadata of rules by id. Without it (or for ids it does not know, such as Rego
    /// policies) SARIF describes a rule only by the id and title its findings carry.
    pub rule_lookup: Option<RuleLookup<'a>>,
    /// Colour the table with ANSI escapes. Other formats ignore it.
    pub color: bool,
}

impl<'a> RenderConfig<'a> {
    /// A config with this tool version, no rule lookup, no information URI and no colour.
    pub fn new(tool_version: &'a str) -> Self {
        RenderConfig { tool_version, information_uri: None, rule_lookup: None, color: false }
    }

    /// The metadata of `rule_id`, when a lookup is set and knows the id.
    fn rule_meta(&self, rule_id: &str) -> Option<&'static RuleMeta> {
        self.rule_lookup.and_then(|lookup| lookup(rule_id))
    }
}

impl fmt::Debug for RenderConfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderConfig")
            .field("tool_version", &self.tool_version)
            .field("information_uri", &self.information_uri)
            .field("rule_lookup", &self.rule_lookup.map(|_| "<fn>"))
            .field("color", &self.color)
            .finish()
    }
}

/// Writes `report` to `out` in `format`.
///
/// Table, SARIF and JUnit show the report's findings and errors; command-specific sections
/// (`results`, `paths`, ...) appear only in JSON.
pub fn render(
    report: &Report,
    format: Format,
    config: &RenderConfig<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::render(report, config, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, config, out),
        Format::Junit => junit::render(report, out),
    }
}

/// Number of findings per severity, indexed like [`Severity::ALL`] (`[LOW, MEDIUM, HIGH, CRITICAL]`).
pub fn severity_counts(findings: &[Finding]) -> [usize; 4] {
    let mut counts = [0; 4];
    for finding in findings {
        counts[severity_index(finding.severity)] += 1;
    }
    counts
}

/// Number of findings whose severity is `threshold` or higher (what `--fail-on` compares).
pub fn count_at_or_above(findings: &[Finding], threshold: Severity) -> usize {
    findings.iter().filter(|finding| finding.severity >= threshold).count()
}

/// Position of `severity` in [`Severity::ALL`].
fn severity_index(severity: Severity) -> usize {
    match severity {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_parse_case_insensitively_with_aliases() {
        assert_eq!("TABLE".parse::<Format>(), Ok(Format::Table));
        assert_eq!("txt".parse::<Format>(), Ok(Format::Table));
        assert_eq!(" Text ".parse::<Format>(), Ok(Format::Table));
        assert_eq!("Json".parse::<Format>(), Ok(Format::Json));
        assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
        assert_eq!("junit".parse::<Format>(), Ok(Format::Junit));
        let err = "xml".parse::<Format>().unwrap_err();
        assert_eq!(err, ParseFormatError("xml".into()));
        assert!(err.to_string().contains("\"xml\""), "{err}");
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>(), Ok(format));
        }
    }

    #[test]
    fn severity_index_follows_all() {
        for (i, severity) in Severity::ALL.into_iter().enumerate() {
            assert_eq!(severity_index(severity), i);
        }
    }
}
