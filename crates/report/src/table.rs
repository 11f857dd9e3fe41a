//! Human-readable text: findings grouped by file, a summary line, then errors.
//!
//! ```text
//! deploy/web.yaml
//!   SEVERITY  RULE      OBJECT               LINE  MESSAGE
//!   CRITICAL  KSO-C001  Deployment/prod/web  14    container "web" runs privileged
//!
//! 1 finding in 1 file: CRITICAL 1, HIGH 0, MEDIUM 0, LOW 0
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use kubesecops_core::{Finding, Report, Severity};

use crate::{severity_counts, severity_index, RenderConfig};

const HEADERS: [&str; 5] = ["SEVERITY", "RULE", "OBJECT", "LINE", "MESSAGE"];
/// Spaces between columns.
const GAP: &str = "  ";

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";

/// Writes the table form of `report`.
pub(crate) fn render(report: &Report, config: &RenderConfig<'_>, out: &mut dyn io::Write) -> io::Result<()> {
    let style = Style { color: config.color };
    let mut text = String::new();

    if let Some(findings) = &report.findings {
        write_findings(&mut text, findings, style);
    }
    write_errors(&mut text, report, style);
    out.write_all(text.as_bytes())
}

/// Colouring, when enabled.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    /// `text` wrapped in `code`, or `text` alone without colour.
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn severity_code(severity: Severity) -> &'static str {
        match severity {
            Severity::Critical => "\x1b[1;31m",
            Severity::High => "\x1b[31m",
            Severity::Medium => "\x1b[33m",
            Severity::Low => "\x1b[36m",
        }
    }
}

/// One table row, already made safe for a terminal.
struct Row {
    severity: Severity,
    cells: [String; 5],
}

fn write_findings(text: &mut String, findings: &[Finding], style: Style) {
    if findings.is_empty() {
        text.push_str("No findings.\n");
        return;
    }

    // Groups in path order; within a file, the report's own order (path, line, rule).
    let mut by_path: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for finding in findings {
        by_path.entry(&finding.location.path).or_default().push(row(finding));
    }

    // One set of widths for every group, so that all groups line up.
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in by_path.values().flatten() {
        for (width, cell) in widths.iter_mut().zip(&row.cells) {
            *width = (*width).max(cell.chars().count());
        }
    }

    for (path, rows) in &by_path {
        let _ = writeln!(text, "{}", style.paint(BOLD, &terminal_safe(path)));
        let header = padded_line(&HEADERS.map(String::from), &widths, |_, cell| style.paint(DIM, cell));
        let _ = writeln!(text, "  {header}");
        for row in rows {
            let line = padded_line(&row.cells, &widths, |column, cell| {
                if column == 0 {
                    style.paint(Style::severity_code(row.severity), cell)
                } else {
                    cell.to_string()
                }
            });
            let _ = writeln!(text, "  {line}");
        }
        text.push('\n');
    }

    let counts = severity_counts(findings);
    let per_severity: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|&severity| {
            let count = format!("{severity} {}", counts[severity_index(severity)]);
            style.paint(Style::severity_code(severity), &count)
        })
        .collect();
    let _ = writeln!(
        text,
        "{} in {}: {}",
        plural(findings.len(), "finding"),
        plural(by_path.len(), "file"),
        per_severity.join(", ")
    );
}

fn write_errors(text: &mut String, report: &Report, style: Style) {
    if report.errors.is_empty() {
        return;
    }
    if report.findings.is_some() {
        text.push('\n');
    }
    let _ = writeln!(text, "{}:", style.paint(RED, &plural(report.errors.len(), "error")));
    for error in &report.errors {
        let place = match error.line {
            Some(line) => format!("{}:{line}", error.path),
            None => error.path.clone(),
        };
        let _ = writeln!(text, "  {}: {}", terminal_safe(&place), terminal_safe(&error.message));
    }
}

fn row(finding: &Finding) -> Row {
    let object = finding.object.as_ref().map_or_else(|| "-".to_string(), |object| object.display());
    let line = finding.location.line.map_or_else(|| "-".to_string(), |line| line.to_string());
    Row {
        severity: finding.severity,
        cells: [
            finding.severity.as_str().to_string(),
            terminal_safe(&finding.rule.id),
            terminal_safe(&object),
            line,
            terminal_safe(&finding.message),
        ],
    }
}

/// Cells padded to `widths` and joined; the last cell is not padded, so that lines carry no
/// trailing spaces. `paint` colours a cell after its padding is measured.
fn padded_line(cells: &[String; 5], widths: &[usize; 5], paint: impl Fn(usize, &str) -> String) -> String {
    let mut line = String::new();
    for (column, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        if column > 0 {
            line.push_str(GAP);
        }
        line.push_str(&paint(column, cell));
        if column + 1 < cells.len() {
            let fill = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', fill));
        }
    }
    line
}

/// `text` with control characters written as escapes, so that names and messages taken
/// from scanned files can neither break the layout nor send escape sequences to a terminal.
fn terminal_safe(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().collect() } else { c.to_string() }).collect()
}

/// `1 file`, `2 files`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("plain text"), "plain text");
        assert_eq!(terminal_safe("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn last_cell_is_not_padded() {
        let cells = ["a".to_string(), "b".into(), "c".into(), "d".into(), "e".into()];
        let line = padded_line(&cells, &[3, 2, 1, 1, 9], |_, cell| cell.to_string());
        assert_eq!(line, "a    b   c  d  e");
    }
}
