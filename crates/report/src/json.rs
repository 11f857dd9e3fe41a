//! The report envelope as pretty JSON: the documented, versioned machine interface.
//!
//! Large reports (hundreds of thousands of findings, hundreds of megabytes of JSON) render
//! their findings in parallel, a bounded batch at a time, and write them in order: the bytes
//! are exactly those of `serde_json::to_writer_pretty` on the whole report.

use std::io::{self, Write};

use kubesecops_core::{Finding, Report};
use rayon::prelude::*;

/// Below this many findings the report is written in one go.
const PARALLEL_FROM: usize = 8192;
/// Findings per parallel rendering task.
const CHUNK: usize = 1024;
/// Chunks rendered before they are written out, which bounds the memory held.
const CHUNKS_PER_BATCH: usize = 16;
/// What pretty JSON of `[[findings]]` has before the first finding and after the last.
const NESTING_HEAD: &[u8] = b"[\n  [\n";
const NESTING_TAIL: &[u8] = b"\n  ]\n]";
/// The placeholder the envelope is rendered with, in place of the findings.
const EMPTY_FINDINGS: &str = "\n  \"findings\": [],";

/// Writes `report` as pretty JSON followed by a newline.
pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    // serde_json writes many small pieces: a concrete buffer in front of the `dyn` writer
    // keeps them out of virtual calls.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let findings = report.findings();
    if findings.len() < PARALLEL_FROM {
        serde_json::to_writer_pretty(&mut out, report)?;
    } else {
        render_large(report, findings, &mut out)?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// The envelope with an empty findings array, split around that array.
fn envelope(report: &Report) -> io::Result<(String, String)> {
    let shell = Report {
        schema_version: report.schema_version,
        findings: Some(Vec::new()),
        sections: report.sections.clone(),
        errors: report.errors.clone(),
    };
    let text = serde_json::to_string_pretty(&shell)?;
    // Only the top level is indented by exactly two spaces, so the match is the envelope's.
    let at = text
        .find(EMPTY_FINDINGS)
        .ok_or_else(|| io::Error::other("JSON envelope without its findings key"))?;
    let head = format!("{}\n  \"findings\": [\n", &text[..at]);
    let tail = format!("\n  ],{}", &text[at + EMPTY_FINDINGS.len()..]);
    Ok((head, tail))
}

fn render_large(report: &Report, findings: &[Finding], out: &mut impl Write) -> io::Result<()> {
    let (head, tail) = envelope(report)?;
    out.write_all(head.as_bytes())?;
    let chunks: Vec<&[Finding]> = findings.chunks(CHUNK).collect();
    for (batch_index, batch) in chunks.chunks(CHUNKS_PER_BATCH).enumerate() {
        let rendered: Vec<io::Result<Vec<u8>>> = batch.par_iter().map(|chunk| render_chunk(chunk)).collect();
        for (i, bytes) in rendered.into_iter().enumerate() {
            if batch_index > 0 || i > 0 {
                out.write_all(b",\n")?;
            }
            out.write_all(&bytes?)?;
        }
    }
    out.write_all(tail.as_bytes())
}

/// Findings as they appear inside the envelope's array: each object indented by four spaces,
/// separated by `,\n`, no trailing separator.
///
/// They are written as the inner array of `[[...]]`, which is exactly the depth of the
/// envelope's `findings` array, and the brackets around them are cut off: serde_json indents
/// them itself, where rendering each finding alone needed a second pass to re-indent it.
fn render_chunk(findings: &[Finding]) -> io::Result<Vec<u8>> {
    if findings.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = Vec::with_capacity(findings.len() * 768 + NESTING_HEAD.len() + NESTING_TAIL.len());
    serde_json::to_writer_pretty(&mut text, &[findings])?;
    if !(text.starts_with(NESTING_HEAD) && text.ends_with(NESTING_TAIL)) {
        return Err(io::Error::other("JSON findings without their enclosing arrays"));
    }
    text.truncate(text.len() - NESTING_TAIL.len());
    text.drain(..NESTING_HEAD.len());
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_core::{fingerprint, Location, ObjectRef, ReportError, RuleRef, Severity};

    use super::*;

    fn findings(n: usize) -> Vec<Finding> {
        let rule =
            Arc::new(RuleRef { id: "KSO-C001".into(), aliases: vec!["KSV017".into()], title: "t".into() });
        let object = Arc::new(ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: "ns".into(),
            name: "p".into(),
        });
        (0..n)
            .map(|i| Finding {
                rule: rule.clone(),
                severity: Severity::High,
                // Newlines and quotes in values must survive the re-indentation untouched.
                message: format!("finding {i}: \"quoted\"\nsecond line"),
                location: Location {
                    path: format!("f{}.yaml", i / 100).into(),
                    line: Some(i as u32),
                    column: None,
                },
                fingerprint: fingerprint("KSO-C001", "f.yaml", Some(&object), &i.to_string()),
                object: Some(object.clone()),
                vcs: None,
                package: None,
                fixed_version: None,
            })
            .collect()
    }

    #[test]
    fn large_reports_render_exactly_as_serde_json_does() {
        for n in [PARALLEL_FROM, PARALLEL_FROM + CHUNK * CHUNKS_PER_BATCH + 7] {
            let mut report =
                Report::with_findings(findings(n), vec![ReportError::at("bad.yaml", Some(3), "x")]);
            report.sections.insert("notices".into(), serde_json::json!([{"path": "a", "message": "b"}]));
            let mut parallel = Vec::new();
            render(&report, &mut parallel).unwrap();
            let mut expected = serde_json::to_vec_pretty(&report).unwrap();
            expected.push(b'\n');
            assert!(parallel == expected, "{n} findings: the parallel rendering differs");
        }
    }
}
