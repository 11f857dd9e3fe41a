//! Evaluating a check's tests on the outputs of its audit commands, as kube-bench does:
//! each test item looks for its flag in the `audit` output first, then for its `path` in the
//! `audit_config` output, then for its `env` variable in the `audit_env` output.

use crate::compare::compare;
use crate::controls::{Check, TestItem};
use crate::jsonpath::{Doc, Template};

/// PASS, FAIL, WARN or INFO, as kube-bench reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The setting is as recommended.
    Pass,
    /// A scored check whose setting is not as recommended.
    Fail,
    /// An unscored or manual check, or one that could not be carried out.
    Warn,
    /// Informational (skipped).
    Info,
}

impl Status {
    /// `PASS`, `FAIL`, `WARN`, `INFO`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Info => "INFO",
        }
    }
}

/// What the audit commands printed (each one empty when the check has no such command).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditOutputs {
    /// `audit` output.
    pub audit: String,
    /// `audit_config` output.
    pub config: String,
    /// `audit_env` output.
    pub env: String,
}

/// Which output a test item was decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Command,
    Config,
    Env,
}

/// The verdict of one test item (or of the combined tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestOutcome {
    /// Whether the test passed.
    pub pass: bool,
    /// Whether the setting was found at all.
    pub found: bool,
    /// The expectation in kube-bench's words (`'--anonymous-auth' is equal to 'false'`).
    pub expected: String,
    /// The output the test was decided on.
    pub actual: String,
}

/// Finds `flag` in command output, kube-bench style: `--flag=value`, `--flag value` is NOT a
/// value (a bare `--flag` means `true`), `name: value` and `name=value` for `stat` output.
///
/// Returns `None` when the flag does not occur. Where kube-bench takes the first occurrence
/// of the text (so `--profiling` would also match inside `--profiling-x=1`), an occurrence
/// followed by a delimiter is preferred and the first one used only when there is none.
pub fn find_flag(output: &str, flag: &str) -> Option<String> {
    if output.is_empty() || flag.is_empty() {
        return None;
    }
    let mut starts = output.match_indices(flag).map(|(i, _)| i);
    let first = starts.next()?;
    let delimited = std::iter::once(first).chain(starts).find(|&i| {
        output[i + flag.len()..].chars().next().is_none_or(|c| c.is_whitespace() || c == '=' || c == ':')
    });
    let mut rest = &output[delimited.unwrap_or(first) + flag.len()..];
    // Any run of `=` and `:` (a colon may be followed by spaces) separates name and value.
    loop {
        if let Some(r) = rest.strip_prefix('=') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix(':') {
            rest = r.trim_start_matches(' ');
        } else {
            break;
        }
    }
    let value: &str = rest.split(char::is_whitespace).next().unwrap_or("");
    Some(if !value.is_empty() {
        value.to_string()
    } else if flag.starts_with("--") {
        "true".to_string()
    } else {
        flag.to_string()
    })
}

/// Evaluates a JSONPath `path` on YAML/JSON `output`; `Ok(None)` when it gives nothing.
pub fn find_path(output: &str, path: &str) -> Result<Option<String>, String> {
    let doc =
        Doc::parse(output).map_err(|e| format!("failed to load YAML or JSON from input {output:?}: {e}"))?;
    let template = Template::parse(path).map_err(|e| e.to_string())?;
    let value = template.execute(&doc);
    Ok((!value.is_empty()).then_some(value))
}

/// Finds `NAME=value` in environment output (the rest of the line after the first `NAME=`).
pub fn find_env(output: &str, name: &str) -> Option<String> {
    if output.is_empty() || name.is_empty() {
        return None;
    }
    let key = format!("{name}=");
    let start = output.find(&key)? + key.len();
    let value = output[start..].split('\n').next().unwrap_or("");
    (!value.is_empty()).then(|| value.to_string())
}

impl TestItem {
    fn name(&self, source: Source) -> &str {
        match source {
            Source::Config => &self.path,
            Source::Env => &self.env,
            Source::Command => &self.flag,
        }
    }

    fn evaluate_line(&self, source: Source, line: &str) -> TestOutcome {
        let found = match source {
            Source::Command => Ok(find_flag(line, &self.flag)),
            Source::Config => find_path(line, &self.path),
            Source::Env => Ok(find_env(line, &self.env)),
        };
        let value = match found {
            Ok(v) => v,
            Err(message) => return TestOutcome { actual: message, ..TestOutcome::default() },
        };
        let name = self.name(source);
        let (expected, pass) = match (&value, self.set, &self.compare) {
            (Some(v), true, Some(cmp)) if !cmp.op.is_empty() => compare(&cmp.op, v, &cmp.value, name),
            (_, true, _) => (format!("'{name}' is present"), value.is_some()),
            (_, false, _) => (format!("'{name}' is not present"), value.is_none()),
        };
        TestOutcome { pass, found: value.is_some(), expected, actual: String::new() }
    }

    fn execute(&self, source: Source, output: &str, per_line: bool) -> TestOutcome {
        let trimmed = output.trim_end_matches([' ', '\n']);
        let mut outcome = TestOutcome::default();
        let lines: Vec<&str> = if per_line { trimmed.split('\n').collect() } else { vec![trimmed] };
        for line in lines {
            outcome = self.evaluate_line(source, line);
            if !outcome.pass {
                break;
            }
        }
        outcome.actual = trimmed.to_string();
        outcome
    }

    /// Evaluates this item on the outputs: command first, then config, then environment.
    pub fn run(&self, outputs: &AuditOutputs, check: &Check) -> TestOutcome {
        let per_line = check.use_multiple_values;
        let mut outcome = self.execute(Source::Command, &outputs.audit, per_line);
        if !outcome.found && !check.audit_config.is_empty() && !outputs.config.is_empty() {
            outcome = self.execute(Source::Config, &outputs.config, per_line);
        }
        if !outcome.found && !self.env.is_empty() {
            outcome = self.execute(Source::Env, &outputs.env, per_line);
        }
        outcome
    }
}

impl Check {
    /// Combines the test items with `bin_op`. Errors on an unknown `bin_op`.
    pub fn execute(&self, outputs: &AuditOutputs) -> Result<TestOutcome, String> {
        let Some(tests) = &self.tests else {
            return Ok(TestOutcome::default());
        };
        let outcomes: Vec<TestOutcome> = tests.items.iter().map(|t| t.run(outputs, self)).collect();
        let expectations: Vec<&str> = outcomes.iter().map(|o| o.expected.as_str()).collect();
        let (pass, joiner) = match tests.bin_op.as_str() {
            "" | "and" => (outcomes.iter().all(|o| o.pass), " AND "),
            "or" => (outcomes.iter().any(|o| o.pass), " OR "),
            other => return Err(format!("unknown binary operator for tests {other}")),
        };
        Ok(TestOutcome {
            pass,
            found: outcomes.iter().any(|o| o.found),
            expected: expectations.join(joiner),
            actual: outcomes.first().map(|o| o.actual.clone()).unwrap_or_default(),
        })
    }

    /// What a check without runnable tests is, before any command runs: `skip` is INFO,
    /// `manual` is WARN, no tests at all is WARN (scored) or FAIL/WARN (empty tests).
    pub fn static_status(&self, group_skipped: bool) -> Option<(Status, &'static str)> {
        let no_items = self.tests.as_ref().is_none_or(|t| t.items.is_empty());
        if self.scored && self.kind.trim().is_empty() && self.tests.is_none() && !group_skipped {
            return Some((Status::Warn, "There are no tests"));
        }
        if group_skipped || self.kind == "skip" {
            return Some((Status::Info, "Test marked as skip"));
        }
        if self.kind == "manual" {
            return Some((Status::Warn, "Test marked as a manual test"));
        }
        if no_items {
            return Some((if self.scored { Status::Fail } else { Status::Warn }, "No tests defined"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_in_command_lines() {
        let line = "/usr/bin/kubelet --anonymous-auth=false --read-only-port 0 --rotate";
        assert_eq!(find_flag(line, "--anonymous-auth").as_deref(), Some("false"));
        // `--flag value` reads as a bare flag, as in kube-bench.
        assert_eq!(find_flag(line, "--read-only-port").as_deref(), Some("true"));
        assert_eq!(find_flag(line, "--rotate").as_deref(), Some("true"));
        assert_eq!(find_flag(line, "--missing"), None);
        assert_eq!(find_flag("some-arg: some-val", "some-arg").as_deref(), Some("some-val"));
        assert_eq!(find_flag("permissions=600", "permissions").as_deref(), Some("600"));
        assert_eq!(find_flag("--profiling-x=1 --profiling=false", "--profiling").as_deref(), Some("false"));
    }

    #[test]
    fn environment_values() {
        assert_eq!(find_env("A=1\nB=two\n", "B").as_deref(), Some("two"));
        assert_eq!(find_env("A=1\n", "B"), None);
    }

    #[test]
    fn paths_in_config_output() {
        assert_eq!(find_path("readOnlyPort: 0", "{.readOnlyPort}").unwrap().as_deref(), Some("0"));
        assert_eq!(find_path("a: 1", "{.b}").unwrap(), None);
        assert!(find_path("a: 1", "{.b").is_err());
    }
}
