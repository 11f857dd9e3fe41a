//! The report envelope as pretty JSON: the documented, versioned machine interface.
//!
//! Large reports (hundreds of thousands of findings, hundreds of megabytes of JSON) render
//! their findings in parallel, a few chunks at a time into reused buffers, and write them in
//! order: the bytes are exactly those of `serde_json::to_writer_pretty` on the whole report.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};

use crate::chunks::{write_in_chunks, PARALLEL_FROM};
use crate::json_text::{self, number, string, value};
use kubesecops_core::{Finding, ObjectRef, Report, RuleRef};

/// Room for a rendered finding in the chunk buffers: most take 600–800 bytes.
const BYTES_PER_FINDING: usize = 1024;
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
    write_in_chunks(findings, BYTES_PER_FINDING, (0, 0), render_chunk, out)?;
    out.write_all(tail.as_bytes())
}

/// Appends findings as they appear inside the envelope's array: each object indented by four
/// spaces, separated by `,\n`, no trailing separator.
///
/// The fields are written here rather than by serde_json's derived serializer: a rule's
/// `rule` object and an object's `object` are the same bytes in every finding that shares
/// them (`Arc`), so each is escaped once per chunk and copied after. Findings with the rare
/// fields of image and history scans go through serde_json. The unit tests compare both with
/// serde_json's own output.
fn render_chunk(findings: &[Finding], out: &mut Vec<u8>) -> io::Result<()> {
    let mut cache = Fragments::default();
    for (i, finding) in findings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        write_finding(finding, &mut cache, out)?;
    }
    Ok(())
}

/// Rendered `rule` and `object` values of the findings of one chunk, by the address of the
/// shared value (alive as long as the findings are borrowed, so an address is never reused).
#[derive(Default)]
struct Fragments {
    rules: HashMap<*const RuleRef, Vec<u8>, BuildHasherDefault<AddressHasher>>,
    /// Findings are sorted by path, so those of one object are next to each other.
    last_object: Option<(*const ObjectRef, Vec<u8>)>,
}

/// Hashes an address with one multiplication: the default hasher, built to resist chosen
/// keys, cost more than the lookups it served, and addresses are not chosen by users.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Allocations are aligned, so the low bits carry nothing; the high bits of the
        // product, which the table uses first, depend on all the others.
        self.0 = (n as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

fn write_finding(finding: &Finding, cache: &mut Fragments, out: &mut Vec<u8>) -> io::Result<()> {
    if finding.vcs.is_some() || finding.package.is_some() || finding.fixed_version.is_some() {
        let mut text = Vec::new();
        serde_json::to_writer_pretty(&mut text, &[[finding]])?;
        let inner = text
            .strip_prefix(NESTING_HEAD)
            .and_then(|t| t.strip_suffix(NESTING_TAIL))
            .ok_or_else(|| io::Error::other("JSON finding without its enclosing arrays"))?;
        out.extend_from_slice(inner);
        return Ok(());
    }
    out.extend_from_slice(b"    {\n      \"rule\": ");
    let rule = cache.rules.entry(std::sync::Arc::as_ptr(&finding.rule)).or_insert_with(|| {
        let mut text = Vec::new();
        // Writing into a vector cannot fail.
        let _ = rule_fragment(&finding.rule, &mut text);
        text
    });
    out.extend_from_slice(rule);
    out.extend_from_slice(b",\n      \"severity\": \"");
    // Severity names are upper-case ASCII words: nothing to escape.
    out.extend_from_slice(finding.severity.as_str().as_bytes());
    out.push(b'"');
    out.extend_from_slice(b",\n      \"message\": ");
    string(out, &finding.message)?;
    out.extend_from_slice(b",\n      \"location\": {\n        \"path\": ");
    string(out, &finding.location.path)?;
    if let Some(line) = finding.location.line {
        out.extend_from_slice(b",\n        \"line\": ");
        number(out, line);
    }
    if let Some(column) = finding.location.column {
        out.extend_from_slice(b",\n        \"column\": ");
        number(out, column);
    }
    out.extend_from_slice(b"\n      }");
    if let Some(object) = &finding.object {
        let ptr = std::sync::Arc::as_ptr(object);
        if cache.last_object.as_ref().is_none_or(|(last, _)| *last != ptr) {
            let mut text = Vec::new();
            json_text::object(&mut text, object, 3)?;
            cache.last_object = Some((ptr, text));
        }
        out.extend_from_slice(b",\n      \"object\": ");
        if let Some((_, text)) = &cache.last_object {
            out.extend_from_slice(text);
        }
    }
    out.extend_from_slice(b",\n      \"fingerprint\": ");
    string(out, &finding.fingerprint)?;
    out.extend_from_slice(b"\n    }");
    Ok(())
}

/// A finding's `rule` value, at the depth of a finding's fields.
fn rule_fragment(rule: &RuleRef, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\n        \"id\": ");
    value(out, rule.id.as_str())?;
    out.extend_from_slice(b",\n        \"aliases\": ");
    json_text::array(out, 4, &rule.aliases, |out, alias| value(out, alias.as_str()))?;
    out.extend_from_slice(b",\n        \"title\": ");
    value(out, rule.title.as_str())?;
    out.extend_from_slice(b"\n      }");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_core::{fingerprint, Location, ReportError, Severity};

    use super::*;
    use crate::chunks::{CHUNK, CHUNKS_PER_THREAD};
    use crate::testdata::varied_findings;

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

    fn assert_renders_as_serde_json(report: &Report, what: &str) {
        let mut parallel = Vec::new();
        render(report, &mut parallel).unwrap();
        let mut expected = serde_json::to_vec_pretty(report).unwrap();
        expected.push(b'\n');
        assert!(parallel == expected, "{what}: the parallel rendering differs");
    }

    #[test]
    fn large_reports_render_exactly_as_serde_json_does() {
        let in_flight = rayon::current_num_threads() * CHUNKS_PER_THREAD;
        for n in [PARALLEL_FROM, PARALLEL_FROM + CHUNK * in_flight + 7] {
            let mut report =
                Report::with_findings(findings(n), vec![ReportError::at("bad.yaml", Some(3), "x")]);
            report.sections.insert("notices".into(), serde_json::json!([{"path": "a", "message": "b"}]));
            assert_renders_as_serde_json(&report, &format!("{n} findings"));
        }
    }

    #[test]
    fn every_optional_field_renders_as_serde_json_does() {
        let report = Report::with_findings(varied_findings(PARALLEL_FROM + 3 * CHUNK + 5), Vec::new());
        assert_renders_as_serde_json(&report, "varied findings");
        let mut chunk = Vec::new();
        render_chunk(&varied_findings(300), &mut chunk).unwrap();
        let mut expected = serde_json::to_vec_pretty(&[varied_findings(300)]).unwrap();
        expected.truncate(expected.len() - NESTING_TAIL.len());
        expected.drain(..NESTING_HEAD.len());
        assert!(chunk == expected, "one chunk differs from serde_json's");
    }
}
