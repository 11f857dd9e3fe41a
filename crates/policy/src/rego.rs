//! Shared helpers around `regorus`: loading modules in either Rego dialect, turning engine
//! errors into [`ReportError`]s that name file and line, and the evaluation time limit.

use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::OnceLock;
use std::time::Duration;

use kubesecops_core::ReportError;
use regex::Regex;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, LimitError, PolicyLengthConfig, Value};

/// Time limit of one evaluation (one object against one policy set) unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A fresh engine with the evaluation time limit set.
pub(crate) fn new_engine(timeout: Duration) -> Engine {
    let mut engine = Engine::new();
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: timeout,
        // Checked every 64 work units: cheap, and a runaway loop is caught within microseconds.
        check_interval: NonZeroU32::new(64).expect("non-zero"),
    });
    // OPA has no line-width limit; generated policies (API deprecation tables) have long lines.
    engine.set_policy_length_config(PolicyLengthConfig {
        max_col: NonZeroU32::new(1 << 20).expect("non-zero"),
        max_file_bytes: NonZeroUsize::new(64 << 20).expect("non-zero"),
        max_lines: NonZeroUsize::new(1 << 20).expect("non-zero"),
    });
    // Trivy's checks build their results with Trivy's own builtin `result.new`.
    engine
        .add_extension("result.new".to_string(), 2, Box::new(trivy_result_new))
        .expect("a fresh engine has no extension of this name");
    // As OPA does by default, a builtin given bad arguments makes its expression undefined
    // rather than failing the whole evaluation (policies are written against that).
    engine.set_strict_builtin_errors(false);
    engine
}

/// Adds a module in the Rego dialect it is written in. Modules with `import rego.v1` or
/// `import future.keywords...` are read as v0 with those imports (as OPA 0.x reads conftest
/// and Gatekeeper policies); other modules whose rule heads use `if` or `contains` are read
/// as Rego v1 (OPA 1.x syntax); the rest as v0. When the first dialect fails the other is
/// tried, and the error of the dialect that read further into the file is returned.
pub(crate) fn add_module(engine: &mut Engine, path: &str, text: &str) -> Result<String, ReportError> {
    let v1_first = looks_like_v1(text);
    let mut attempt = |v0: bool| {
        engine.set_rego_v0(v0);
        engine.add_policy(path.to_string(), text.to_string()).map_err(|err| to_report_error(path, &err))
    };
    let first = attempt(!v1_first);
    let result = match first {
        Ok(package) => Ok(package),
        Err(first_error) => match attempt(v1_first) {
            Ok(package) => Ok(package),
            Err(second_error) => {
                Err(if second_error.line > first_error.line { second_error } else { first_error })
            }
        },
    };
    engine.set_rego_v0(true);
    result
}

/// True for modules written in Rego v1 without v1 imports (the dialect guess of [`add_module`]).
fn looks_like_v1(text: &str) -> bool {
    static IMPORTS: OnceLock<Regex> = OnceLock::new();
    static KEYWORDS: OnceLock<Regex> = OnceLock::new();
    let imports = IMPORTS
        .get_or_init(|| Regex::new(r"(?m)^\s*import\s+(rego\.v1|future\.keywords)").expect("valid regex"));
    let keywords =
        KEYWORDS.get_or_init(|| Regex::new(r"(?m)^[^#\n]*\b(if|contains)\b").expect("valid regex"));
    !imports.is_match(text) && keywords.is_match(text)
}

/// Converts an engine error to a report error. `regorus` formats source errors as
/// `--> file:line:col` followed by the offending line and a message; those become path,
/// line and a one-line message. Other errors are attributed to `fallback_path`.
pub(crate) fn to_report_error(fallback_path: &str, err: &anyhow::Error) -> ReportError {
    if let Some(limit) = err.downcast_ref::<LimitError>() {
        return ReportError::at(fallback_path, None, timeout_message(limit));
    }
    let text = format!("{err:#}");
    if text.contains("execution exceeded") || text.contains("time limit") {
        return ReportError::at(
            fallback_path,
            None,
            format!("policy evaluation stopped: {}", one_line(&text)),
        );
    }
    static LOCATION: OnceLock<Regex> = OnceLock::new();
    let location = LOCATION.get_or_init(|| Regex::new(r"-->\s*(.+?):(\d+):(\d+)").expect("valid regex"));
    match location.captures(&text) {
        Some(caps) => {
            let path = caps[1].to_string();
            let line = caps[2].parse().ok();
            // The message is the text after the last `error:` of the caret block.
            let message = text
                .rsplit_once("error: ")
                .map(|(_, m)| m.trim().to_string())
                .unwrap_or_else(|| one_line(&text));
            ReportError::at(path, line, message)
        }
        None => ReportError::at(fallback_path, None, one_line(&text)),
    }
}

fn timeout_message(limit: &LimitError) -> String {
    match limit {
        LimitError::TimeLimitExceeded { limit, .. } => {
            format!("policy evaluation exceeded its time limit of {} ms", limit.as_millis())
        }
        other => format!("policy evaluation stopped: {other}"),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Converts JSON to an engine value.
pub(crate) fn to_value(json: &serde_json::Value) -> Value {
    Value::from(json.clone())
}

/// Converts an engine value to JSON (`None` for undefined).
pub(crate) fn to_json(value: &Value) -> Option<serde_json::Value> {
    if *value == Value::Undefined {
        return None;
    }
    serde_json::to_value(value).ok()
}

/// Runs an engine call, turning a panic inside the engine (a `regorus` bug on some input)
/// into an error, so that one policy cannot bring down a scan or a server.
pub(crate) fn guarded<T>(call: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_string());
            Err(anyhow::anyhow!("the Rego engine failed internally (panic: {detail})"))
        }
    }
}

/// Trivy's `result.new(message, cause)`: an object with `msg` and, when the cause carries
/// Trivy's source metadata (`__defsec_metadata`), its location fields.
fn trivy_result_new(args: Vec<Value>) -> anyhow::Result<Value> {
    let mut result = serde_json::Map::new();
    let message = args.first().and_then(to_json).unwrap_or(serde_json::Value::Null);
    result.insert("msg".to_string(), message);
    if let Some(serde_json::Value::Object(meta)) =
        args.get(1).and_then(to_json).as_ref().and_then(|cause| cause.get("__defsec_metadata")).cloned()
    {
        for key in ["startline", "endline", "filepath", "explicit", "managed", "fskey", "resource"] {
            if let Some(value) = meta.get(key) {
                result.insert(key.to_string(), value.clone());
            }
        }
    }
    Ok(to_value(&serde_json::Value::Object(result)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_guess_and_fallback() {
        assert!(looks_like_v1("package p\ndeny contains m if { m := 1 }\n"));
        assert!(!looks_like_v1("package p\nimport rego.v1\ndeny contains m if { m := 1 }\n"));
        assert!(!looks_like_v1("package p\n# if this\ndeny[m] { m := 1 }\n"));
        let mut engine = new_engine(DEFAULT_TIMEOUT);
        // A v0 module that mentions `if` in a string is still read (after the v1 attempt fails).
        let package =
            add_module(&mut engine, "a.rego", "package a\ndeny[m] { m := \"fails if x\" }\n").unwrap();
        assert_eq!(package, "data.a");
        let package = add_module(&mut engine, "b.rego", "package b\ndeny contains 1 if true\n").unwrap();
        assert_eq!(package, "data.b");
    }
}
