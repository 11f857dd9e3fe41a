//! Kubernetes audit events: recognising them in JSON documents, and reading streams of
//! documents (JSON lines, or whole `EventList` documents) with line numbers.

use crate::json::{self, Json};
use crate::time::parse_rfc3339;

/// One audit event (`audit.k8s.io/v1` `Event`), borrowed from a parsed document.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    json: &'a Json<'a>,
    time_ns: i64,
    has_audit_id: bool,
}

impl<'a> AuditEvent<'a> {
    /// Makes an event of a JSON object; its time is the `stageTimestamp`, which the k8saudit
    /// plugin requires.
    pub fn from_json(json: &'a Json<'a>) -> Result<Self, EventError> {
        let stamp = json.get("stageTimestamp").ok_or(EventError::MissingStageTimestamp)?;
        let text = stamp.as_str().ok_or(EventError::BadStageTimestamp)?;
        let time_ns = parse_rfc3339(&text).ok_or(EventError::BadStageTimestamp)?;
        Ok(AuditEvent { json, time_ns, has_audit_id: json.get("auditID").is_some() })
    }

    /// The event's JSON object.
    pub fn json(&self) -> &'a Json<'a> {
        self.json
    }

    /// The `stageTimestamp` in nanoseconds since the Unix epoch.
    pub fn time_ns(&self) -> i64 {
        self.time_ns
    }

    /// True when the event has an `auditID` (the k8saudit plugin extracts nothing otherwise).
    pub fn has_audit_id(&self) -> bool {
        self.has_audit_id
    }

    /// The `auditID`, when present and a string.
    pub fn audit_id(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.json.get("auditID").and_then(Json::as_str)
    }
}

/// Why a JSON value is not an audit event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Neither an `Event`, an `EventList` nor an array of them.
    #[error("not a Kubernetes audit event (expected kind Event or EventList)")]
    NotAnEvent,
    /// The event has no `stageTimestamp`.
    #[error("audit event has no stageTimestamp")]
    MissingStageTimestamp,
    /// The `stageTimestamp` is not an RFC 3339 time.
    #[error("audit event has a stageTimestamp that is not an RFC 3339 time")]
    BadStageTimestamp,
}

/// The events a JSON document holds, in order, as the k8saudit plugin reads them: an
/// `Event`, the `items` of an `EventList`, or an array of those. Items that are not valid
/// events are reported in place, so the caller can keep the rest.
pub fn events_in<'a>(doc: &'a Json<'a>) -> Vec<Result<AuditEvent<'a>, EventError>> {
    let mut out = Vec::new();
    collect_events(doc, &mut out);
    out
}

fn collect_events<'a>(doc: &'a Json<'a>, out: &mut Vec<Result<AuditEvent<'a>, EventError>>) {
    if let Json::Array(items) = doc {
        for item in items {
            collect_events(item, out);
        }
        return;
    }
    let kind = doc.get("kind").and_then(Json::as_str);
    match kind.as_deref() {
        Some("EventList") => match doc.get("items") {
            Some(Json::Array(items)) => out.extend(items.iter().map(AuditEvent::from_json)),
            _ => out.push(Err(EventError::NotAnEvent)),
        },
        Some("Event") => out.push(AuditEvent::from_json(doc)),
        _ => out.push(Err(EventError::NotAnEvent)),
    }
}

/// One JSON document of an input stream, or the reason the text at `line` is not one.
#[derive(Debug)]
pub struct Document<'a> {
    /// 1-based line where the document starts.
    pub line: usize,
    /// The parsed document, or why it could not be parsed.
    pub value: Result<Json<'a>, SyntaxError>,
}

/// A JSON syntax error located by line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column (in bytes) of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits a stream of JSON documents: JSON lines, or pretty-printed documents one after the
/// other. After a syntax error, reading resumes at the next line that starts (in column 0)
/// with `{` or `[`, so one bad line of a JSON-lines file costs only that line.
pub fn documents(text: &str) -> Vec<Document<'_>> {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&start| start <= offset);
    let mut docs = Vec::new();
    let mut pos = skip_ws(text, 0);
    while pos < text.len() {
        let line = line_of(pos);
        match json::parse_prefix(text, pos) {
            Ok((value, end)) => {
                docs.push(Document { line, value: Ok(value) });
                pos = skip_ws(text, end);
            }
            Err(err) => {
                let err_line = line_of(err.offset.min(text.len().saturating_sub(1)));
                let column = err.offset - line_starts[err_line - 1] + 1;
                let error = SyntaxError { line: err_line, column, message: err.message };
                docs.push(Document { line, value: Err(error) });
                let resume = line_starts[line..]
                    .iter()
                    .copied()
                    .find(|&start| matches!(text.as_bytes().get(start), Some(b'{' | b'[')));
                pos = resume.unwrap_or(text.len());
            }
        }
    }
    docs
}

fn skip_ws(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    // A UTF-8 byte order mark at the start of a file is not an error.
    if pos == 0 && text.starts_with('\u{feff}') {
        return skip_ws(text, 3);
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"kind":"Event","auditID":"a1","stageTimestamp":"2018-10-26T13:42:46.808261Z"}"#;

    #[test]
    fn single_event_list_and_array() {
        let doc = json::parse(EVENT).unwrap();
        let events = events_in(&doc);
        assert_eq!(events.len(), 1);
        let event = events[0].as_ref().unwrap();
        assert_eq!(event.audit_id().unwrap(), "a1");
        assert_eq!(event.time_ns(), 1_540_561_366_808_261_000);

        let list = format!(r#"{{"kind":"EventList","items":[{EVENT},{{"kind":"Event"}}]}}"#);
        let doc = json::parse(&list).unwrap();
        let events = events_in(&doc);
        assert_eq!(events.len(), 2);
        assert!(events[0].is_ok());
        assert_eq!(events[1].as_ref().unwrap_err(), &EventError::MissingStageTimestamp);

        let array = format!("[{EVENT},{EVENT}]");
        let doc = json::parse(&array).unwrap();
        assert_eq!(events_in(&doc).iter().filter(|e| e.is_ok()).count(), 2);
    }

    #[test]
    fn other_json_is_not_an_event() {
        for text in [r#"{"kind":"Pod"}"#, "42", r#"{"kind":"EventList"}"#] {
            let doc = json::parse(text).unwrap();
            let errors: Vec<_> = events_in(&doc).into_iter().map(Result::err).collect();
            assert_eq!(errors, vec![Some(EventError::NotAnEvent)], "{text}");
        }
    }

    #[test]
    fn documents_have_lines_and_recover_after_errors() {
        let text = format!(
            "{EVENT}\n\n{{\"kind\": broken\n{EVENT}\n{{\n  \"kind\": \"EventList\",\n  \"items\": []\n}}\n"
        );
        let docs = documents(&text);
        let lines: Vec<_> = docs.iter().map(|d| (d.line, d.value.is_ok())).collect();
        assert_eq!(lines, vec![(1, true), (3, false), (4, true), (5, true)]);
        let err = docs[1].value.as_ref().unwrap_err();
        assert_eq!((err.line, err.column), (3, 10));
    }

    #[test]
    fn empty_input_has_no_documents() {
        assert!(documents("").is_empty());
        assert!(documents("\n  \n").is_empty());
    }
}
