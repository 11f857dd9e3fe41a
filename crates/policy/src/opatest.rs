//! `opa test`-style runs: every `test_*` rule of the loaded modules must evaluate to `true`.
//!
//! All `.rego` files under the given paths are loaded into one engine (tests use the
//! policies beside them), JSON/YAML files become `data` under their directory path as
//! `opa test` loads them. `with input as` and `with data.x as` are evaluated by `regorus`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use kubesecops_core::ReportError;
use regex::Regex;
use serde::Serialize;
use serde_json::Value as Json;

use crate::{files, rego};

/// The verdict of one test rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// `data.<package>`.
    pub package: String,
    /// The rule name (`test_...`).
    pub name: String,
    /// True when the rule evaluated to `true`.
    pub pass: bool,
    /// The policy file defining it.
    #[serde(skip)]
    pub path: String,
    /// Why it failed (undefined, a value other than true, or an evaluation error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Results of a run; `errors` holds files that failed to load (then no test ran).
#[derive(Debug, Clone, Default)]
pub struct TestRun {
    /// One per test rule, in package and name order.
    pub results: Vec<TestResult>,
    /// Files that could not be read, parsed or compiled; tests that errored.
    pub errors: Vec<ReportError>,
}

impl TestRun {
    /// True when every test passed and nothing failed to load.
    pub fn passed(&self) -> bool {
        self.errors.is_empty() && self.results.iter().all(|r| r.pass)
    }
}

/// How to run tests.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Keep only tests whose `data.package.name` matches (`opa test --run`).
    pub filter: Option<Regex>,
    /// File-name globs (`*` and `?`) of files to leave out (`opa test --ignore`).
    pub ignore: Vec<String>,
    /// Time limit of one test.
    pub timeout: Duration,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions { filter: None, ignore: Vec::new(), timeout: crate::DEFAULT_TIMEOUT }
    }
}

/// Loads the policies under `paths` and runs their tests. An invalid `--ignore` glob is an
/// error in the run.
pub fn run_tests(paths: &[PathBuf], options: &TestOptions) -> TestRun {
    let mut run = TestRun::default();
    let filter = options.filter.as_ref();
    let timeout = options.timeout;
    let ignore: Vec<Regex> = options.ignore.iter().map(|g| glob_regex(g)).collect();
    let ignored = |p: &std::path::Path| {
        let name = p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        ignore.iter().any(|re| re.is_match(&name))
    };
    let mut engine = rego::new_engine(timeout);
    let mut tests: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut data = Json::Object(Default::default());
    for root in paths {
        let found = match files::collect(root, &|p| (files::is_rego(p) || files::is_data(p)) && !ignored(p)) {
            Ok(found) => found,
            Err(err) => {
                run.errors.push(err);
                continue;
            }
        };
        for path in found {
            if files::is_data(&path) {
                match files::read_data(root, &path) {
                    Ok(doc) => {
                        if let Err(message) = files::merge(&mut data, doc, "data") {
                            run.errors.push(ReportError::at(path.display().to_string(), None, message));
                        }
                    }
                    Err(err) => run.errors.push(err),
                }
                continue;
            }
            let label = path.display().to_string();
            let text = match files::read_text(&path) {
                Ok(text) => text,
                Err(err) => {
                    run.errors.push(err);
                    continue;
                }
            };
            match rego::add_module(&mut engine, &label, &text) {
                Ok(package) => {
                    for name in test_names(&text) {
                        tests.insert((package.clone(), name, label.clone()));
                    }
                }
                Err(err) => run.errors.push(err),
            }
        }
    }
    if let Err(err) = engine.add_data(rego::to_value(&data)) {
        run.errors.push(ReportError::at("data", None, format!("{err:#}")));
    }
    if run.errors.is_empty() {
        if let Err(err) = rego::guarded(|| engine.eval_query("true".to_string(), false)) {
            run.errors.push(rego::to_report_error("policy", &err));
        }
    }
    if !run.errors.is_empty() {
        return run;
    }
    for (package, name, path) in tests {
        let full = format!("{package}.{name}");
        if filter.is_some_and(|f| !f.is_match(&full)) {
            continue;
        }
        // A clone per test: `with` overrides and caches never leak from one test to another.
        let mut engine = engine.clone();
        let (pass, message) = match rego::guarded(|| engine.eval_rule(full.clone())) {
            Ok(value) => match rego::to_json(&value) {
                Some(Json::Bool(true)) => (true, None),
                // A parameterised test (`test_x[case] if ...`): each case that holds is a key
                // whose value is true.
                Some(Json::Object(cases))
                    if !cases.is_empty() && cases.values().all(|v| *v == Json::Bool(true)) =>
                {
                    (true, None)
                }
                None => (false, Some("undefined".to_string())),
                Some(other) => (false, Some(format!("evaluated to {other}"))),
            },
            Err(err) => {
                let error = rego::to_report_error(&path, &err);
                let message = error.message.clone();
                run.errors.push(ReportError { message: format!("{full}: {message}"), ..error });
                (false, Some(message))
            }
        };
        run.results.push(TestResult { package, name, pass, path, message });
    }
    run
}

/// A file-name glob as a regular expression: `*` any run of characters, `?` one character.
fn glob_regex(glob: &str) -> Regex {
    let mut pattern = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => pattern.push_str(".*"),
            '?' => pattern.push('.'),
            c => pattern.push_str(&regex::escape(&c.to_string())),
        }
    }
    pattern.push('$');
    Regex::new(&pattern).expect("escaped glob is a valid regex")
}

/// Names of test rules (`test_` at the start of a line), functions excepted.
fn test_names(text: &str) -> BTreeSet<String> {
    static HEAD: OnceLock<Regex> = OnceLock::new();
    let head =
        HEAD.get_or_init(|| Regex::new(r"(?m)^(test_[A-Za-z0-9_]*)\b[ \t]*(.?)").expect("valid regex"));
    head.captures_iter(text)
        .filter(|caps| caps.get(2).is_none_or(|m| m.as_str() != "("))
        .map(|caps| caps[1].to_string())
        .collect()
}
