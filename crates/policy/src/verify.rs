//! Gatekeeper suites in the `gator verify` format:
//!
//! ```yaml
//! kind: Suite
//! apiVersion: test.gatekeeper.sh/v1alpha1
//! tests:
//! - name: required-labels
//!   template: template.yaml
//!   constraint: samples/constraint.yaml
//!   cases:
//!   - name: allowed
//!     object: samples/allowed.yaml
//!     inventory: [samples/namespace.yaml]
//!     assertions:
//!     - violations: no
//!   - name: disallowed
//!     object: samples/disallowed.yaml
//!     assertions:
//!     - violations: 1
//!       message: owner
//! ```
//!
//! Paths are relative to the suite file. An assertion holds when the number of violations
//! whose message matches `message` (a regular expression; every violation when unset) is
//! `violations`: a count, `yes` (at least one, the default) or `no` (none).

use std::path::{Path, PathBuf};
use std::time::Duration;

use kubesecops_core::ReportError;
use kubesecops_k8s::loader::load_text;
use kubesecops_k8s::{parse_documents, Object};
use regex::Regex;
use serde::Serialize;
use serde_json::Value as Json;

use crate::files;
use crate::gatekeeper::{Gatekeeper, Inventory, Review};

/// The verdict of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The suite file.
    pub suite: String,
    /// The test's name.
    pub test: String,
    /// The case's name.
    pub case: String,
    /// True when every assertion held.
    pub pass: bool,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Results of a run.
#[derive(Debug, Clone, Default)]
pub struct VerifyRun {
    /// One per case, in suite order.
    pub results: Vec<CaseResult>,
    /// Suites that could not be read, and templates or objects that failed to load.
    pub errors: Vec<ReportError>,
}

impl VerifyRun {
    /// True when every case passed and nothing failed to load.
    pub fn passed(&self) -> bool {
        self.errors.is_empty() && self.results.iter().all(|r| r.pass)
    }
}

/// Runs suites: each path is a `suite.yaml` or a directory searched for `suite.yaml` files.
pub fn run_suites(paths: &[PathBuf], timeout: Duration) -> VerifyRun {
    let mut run = VerifyRun::default();
    for root in paths {
        let suites = match files::collect(root, &|p| p.file_name().is_some_and(|n| n == "suite.yaml")) {
            Ok(found) => found,
            Err(err) => {
                run.errors.push(err);
                continue;
            }
        };
        // A suite named explicitly is taken whatever its name.
        for suite in suites {
            run_suite(&suite, timeout, &mut run);
        }
    }
    run
}

/// One assertion of a case.
#[derive(Debug)]
struct Assertion {
    expected: Expected,
    message: Option<Regex>,
}

#[derive(Debug, Clone, Copy)]
enum Expected {
    Yes,
    No,
    Exactly(u64),
}

fn run_suite(path: &Path, timeout: Duration, run: &mut VerifyRun) {
    let label = path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new("."));
    let suite = match read_yaml(path) {
        Ok(suite) => suite,
        Err(err) => {
            run.errors.push(err);
            return;
        }
    };
    let text = |v: Option<&Json>| v.and_then(Json::as_str).unwrap_or("").to_string();
    for test in suite.get("tests").and_then(Json::as_array).cloned().unwrap_or_default() {
        let test_name = text(test.get("name"));
        let cases = test.get("cases").and_then(Json::as_array).cloned().unwrap_or_default();
        if test.get("skip").and_then(Json::as_bool) == Some(true) {
            continue;
        }
        if test.get("invalid").and_then(Json::as_bool) == Some(true) {
            // gator checks that such a constraint fails its template's schema; kubesecops does
            // not validate constraint schemas, so say so instead of passing silently.
            run.errors.push(ReportError::at(
                label.clone(),
                None,
                format!("test {test_name}: `invalid: true` (constraint schema validation) is not supported"),
            ));
            continue;
        }
        let fail_all = |run: &mut VerifyRun, message: String| {
            for case in &cases {
                run.results.push(CaseResult {
                    suite: label.clone(),
                    test: test_name.clone(),
                    case: text(case.get("name")),
                    pass: false,
                    message: Some(message.clone()),
                });
            }
        };
        let mut gatekeeper = Gatekeeper::new(timeout);
        let mut setup_errors = Vec::new();
        for key in ["template", "constraint"] {
            match read_objects(dir, &text(test.get(key))) {
                Ok(objects) => setup_errors.extend(gatekeeper.add_objects(&objects)),
                Err(err) => setup_errors.push(err),
            }
        }
        if setup_errors.is_empty() && gatekeeper.constraints().is_empty() {
            setup_errors.push(ReportError::at(
                label.clone(),
                None,
                format!("test {test_name}: no constraint loaded"),
            ));
        }
        if !setup_errors.is_empty() {
            let message = setup_errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
            run.errors.extend(setup_errors);
            fail_all(run, message);
            continue;
        }
        for case in &cases {
            if case.get("skip").and_then(Json::as_bool) == Some(true) {
                continue;
            }
            let case_name = text(case.get("name"));
            let outcome = run_case(&mut gatekeeper, dir, case);
            let (pass, message) = match outcome {
                Ok(None) => (true, None),
                Ok(Some(why)) => (false, Some(why)),
                Err(err) => {
                    let message = err.message.clone();
                    run.errors.push(err);
                    (false, Some(message))
                }
            };
            run.results.push(CaseResult {
                suite: label.clone(),
                test: test_name.clone(),
                case: case_name,
                pass,
                message,
            });
        }
    }
}

/// Runs one case: `Ok(None)` when it passes, `Ok(Some(why))` when an assertion fails.
fn run_case(gatekeeper: &mut Gatekeeper, dir: &Path, case: &Json) -> Result<Option<String>, ReportError> {
    let object_path = case.get("object").and_then(Json::as_str).unwrap_or("");
    let objects = read_objects(dir, object_path)?;
    let [object] = objects.as_slice() else {
        return Err(ReportError::at(
            dir.join(object_path).display().to_string(),
            None,
            format!("the object file must hold exactly one object, found {}", objects.len()),
        ));
    };
    let mut inventory_objects = Vec::new();
    for path in case.get("inventory").and_then(Json::as_array).cloned().unwrap_or_default() {
        inventory_objects.extend(read_objects(dir, path.as_str().unwrap_or(""))?);
    }
    let errors = gatekeeper.set_inventory(Inventory::from_objects(&inventory_objects));
    if let Some(err) = errors.into_iter().next() {
        return Err(err);
    }
    let review = if object.kind() == "AdmissionReview" && object.group() == "admission.k8s.io" {
        let json = object.root.to_json();
        let request = json.get("request").cloned().unwrap_or(Json::Null);
        Review::from_admission_request(&request)
            .map_err(|m| ReportError::at(object.path.to_string(), Some(object.root.pos.line), m))?
    } else {
        Review::from_object(object)
    };
    let (violations, errors) = gatekeeper.review(&review);
    if let Some(err) = errors.into_iter().next() {
        return Err(err);
    }
    let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    let assertions = case.get("assertions").and_then(Json::as_array).cloned().unwrap_or_default();
    if assertions.is_empty() {
        return Ok(Some("the case has no assertions".to_string()));
    }
    for raw in &assertions {
        let assertion =
            parse_assertion(raw).map_err(|m| ReportError::at(object.path.to_string(), None, m))?;
        let matching =
            messages.iter().filter(|m| assertion.message.as_ref().is_none_or(|r| r.is_match(m))).count();
        let holds = match assertion.expected {
            Expected::Yes => matching > 0,
            Expected::No => matching == 0,
            Expected::Exactly(n) => matching as u64 == n,
        };
        if !holds {
            return Ok(Some(format!(
                "assertion {} failed: {matching} matching violation(s); messages: {messages:?}",
                serde_json::to_string(raw).unwrap_or_default()
            )));
        }
    }
    Ok(None)
}

fn parse_assertion(raw: &Json) -> Result<Assertion, String> {
    let expected = match raw.get("violations") {
        None | Some(Json::Null) => Expected::Yes,
        Some(Json::Bool(true)) => Expected::Yes,
        Some(Json::Bool(false)) => Expected::No,
        Some(Json::String(s)) if s == "yes" => Expected::Yes,
        Some(Json::String(s)) if s == "no" => Expected::No,
        Some(Json::Number(n)) if n.as_u64().is_some() => Expected::Exactly(n.as_u64().unwrap_or(0)),
        Some(other) => return Err(format!("assertion violations must be a count, yes or no, not {other}")),
    };
    let message = match raw.get("message").and_then(Json::as_str) {
        Some(pattern) => Some(Regex::new(pattern).map_err(|e| format!("assertion message regex: {e}"))?),
        None => None,
    };
    Ok(Assertion { expected, message })
}

/// The Kubernetes objects of a file named relative to the suite.
fn read_objects(dir: &Path, relative: &str) -> Result<Vec<Object>, ReportError> {
    if relative.is_empty() {
        return Err(ReportError::at(dir.display().to_string(), None, "a test or case names no file"));
    }
    let path = dir.join(relative);
    let text = files::read_text(&path)?;
    let loaded = load_text(files::label(&path), &text);
    if let Some(err) = loaded.errors.into_iter().next() {
        return Err(err);
    }
    Ok(loaded.objects)
}

fn read_yaml(path: &Path) -> Result<Json, ReportError> {
    let text = files::read_text(path)?;
    let label = path.display().to_string();
    match parse_documents(&text).into_iter().next() {
        Some(Ok(doc)) => Ok(doc.root.map(|r| r.to_json()).unwrap_or(Json::Null)),
        Some(Err(e)) => Err(ReportError::at(label, Some(e.line), e.message)),
        None => Err(ReportError::at(label, None, "empty suite")),
    }
}
