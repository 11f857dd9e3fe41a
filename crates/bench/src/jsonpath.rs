//! The subset of Kubernetes JSONPath templates that benchmark `path` tests use, evaluated on
//! YAML or JSON audit output.
//!
//! Supported: literal text outside braces, `{.a.b-c}` field chains, `[n]`, `[a:b]`, `[*]`,
//! `['key']`, `.*`, `..field` (recursive), `@`/`$`, quoted literals `{','}`, `{}` (the current
//! value) and `{range EXPR}...{end}`. Missing keys give nothing (kube-bench allows missing
//! keys). Values print as Go's `fmt` prints them, because kube-bench compares those texts.

use std::fmt::Write as _;

/// A parsed document value, typed the way kube-bench's decoders type it.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (YAML input).
    Int(i64),
    /// A floating-point number (every JSON number, YAML floats).
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Doc>),
    /// A mapping in source order.
    Map(Vec<(String, Doc)>),
}

impl Doc {
    /// Parses audit output as JSON, and when that fails as YAML (the order kube-bench uses).
    /// Returns the YAML error's text when neither works.
    pub fn parse(text: &str) -> Result<Doc, String> {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            return Ok(Doc::from_json(&json, true));
        }
        let mut docs = kubesecops_k8s::parse_documents(text);
        match docs.is_empty() {
            true => Ok(Doc::Null),
            false => match docs.swap_remove(0) {
                Ok(doc) => Ok(doc.root.map_or(Doc::Null, |root| Doc::from_json(&root.to_json(), false))),
                Err(err) => Err(err.to_string()),
            },
        }
    }

    /// Converts JSON; `all_floats` types every number as a float (Go's JSON decoder does).
    fn from_json(value: &serde_json::Value, all_floats: bool) -> Doc {
        use serde_json::Value as J;
        match value {
            J::Null => Doc::Null,
            J::Bool(b) => Doc::Bool(*b),
            J::Number(n) => match (all_floats, n.as_i64()) {
                (false, Some(i)) => Doc::Int(i),
                _ => Doc::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Doc::Str(s.clone()),
            J::Array(items) => Doc::Seq(items.iter().map(|v| Doc::from_json(v, all_floats)).collect()),
            J::Object(map) => {
                Doc::Map(map.iter().map(|(k, v)| (k.clone(), Doc::from_json(v, all_floats))).collect())
            }
        }
    }

    fn render(&self, out: &mut String) {
        match self {
            // Go prints a nil interface as `<nil>`.
            Doc::Null => out.push_str("<nil>"),
            Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Doc::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Doc::Float(f) => out.push_str(&go_float(*f)),
            Doc::Str(s) => out.push_str(s),
            Doc::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Doc::Map(entries) => {
                // Go's fmt prints maps sorted by key.
                let mut sorted: Vec<&(String, Doc)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                out.push_str("map[");
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.render(out);
                }
                out.push(']');
            }
        }
    }
}

/// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e+06 on.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let exp = f.abs().log10().floor() as i32;
    // `{:e}` gives the shortest round-trip digits: `1.5e6`.
    let sci = format!("{f:e}");
    let (mantissa, exp_text) = sci.split_once('e').unwrap_or((&sci, "0"));
    let real_exp: i32 = exp_text.parse().unwrap_or(exp);
    if !(-4..6).contains(&real_exp) {
        let sign = if real_exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", real_exp.abs());
    }
    format!("{f}")
}

/// A template that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse path expression {template:?}: {reason}")]
pub struct PathError {
    /// The template as written.
    pub template: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Recursive(String),
    AllChildren,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Expr(Vec<Step>),
    Range(Vec<Step>, Vec<Part>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses a template such as `{.authentication.anonymous.enabled}`.
    pub fn parse(template: &str) -> Result<Template, PathError> {
        let err = |reason: String| PathError { template: template.to_string(), reason };
        let mut actions: Vec<Action> = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(open) => {
                    if open > 0 {
                        actions.push(Action::Text(rest[..open].to_string()));
                    }
                    let after = &rest[open + 1..];
                    let close = find_close(after).ok_or_else(|| err("unclosed action".into()))?;
                    actions.push(parse_action(&after[..close]).map_err(err)?);
                    rest = &after[close + 1..];
                }
                None => {
                    actions.push(Action::Text(rest.to_string()));
                    rest = "";
                }
            }
        }
        let mut iter = actions.into_iter();
        let parts = nest(&mut iter, false).map_err(err)?;
        Ok(Template { parts })
    }

    /// The template's text for `doc`.
    pub fn execute(&self, doc: &Doc) -> String {
        let mut out = String::new();
        run_parts(&self.parts, doc, &mut out);
        out
    }
}

enum Action {
    Text(String),
    Expr(Vec<Step>),
    Range(Vec<Step>),
    End,
}

/// Position of the `}` closing an action, skipping quoted literals.
fn find_close(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '}') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_action(inner: &str) -> Result<Action, String> {
    let t = inner.trim();
    if t == "end" {
        return Ok(Action::End);
    }
    if let Some(expr) = t.strip_prefix("range ") {
        return Ok(Action::Range(parse_steps(expr.trim())?));
    }
    if t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
    {
        return Ok(Action::Text(t[1..t.len() - 1].to_string()));
    }
    Ok(Action::Expr(parse_steps(t)?))
}

fn nest(actions: &mut impl Iterator<Item = Action>, in_range: bool) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    while let Some(action) = actions.next() {
        match action {
            Action::Text(t) => parts.push(Part::Text(t)),
            Action::Expr(steps) => parts.push(Part::Expr(steps)),
            Action::Range(steps) => {
                let body = nest(actions, true)?;
                parts.push(Part::Range(steps, body));
            }
            Action::End if in_range => return Ok(parts),
            Action::End => return Err("{end} without {range}".into()),
        }
    }
    if in_range {
        return Err("{range} without {end}".into());
    }
    Ok(parts)
}

fn parse_steps(expr: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    if matches!(chars.first(), Some('$' | '@')) {
        i = 1;
    }
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                let (name, next) = read_name(&chars, i + 2);
                if name.is_empty() {
                    return Err(format!("missing field name after '..' at {i}"));
                }
                steps.push(Step::Recursive(name));
                i = next;
            }
            '.' => {
                let (name, next) = read_name(&chars, i + 1);
                match name.as_str() {
                    "" if next >= chars.len() => {}
                    "" => return Err(format!("missing field name at {i}")),
                    "*" => steps.push(Step::AllChildren),
                    _ => steps.push(Step::Field(name)),
                }
                i = next;
            }
            '[' => {
                let close = chars[i..].iter().position(|&c| c == ']').ok_or("unterminated '['")? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            c if c.is_whitespace() => i += 1,
            c => return Err(format!("unrecognized character {c:?} in {expr:?}")),
        }
    }
    Ok(steps)
}

fn read_name(chars: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < chars.len() && !matches!(chars[end], '.' | '[' | ']' | ' ' | '(' | ')' | '{' | '}') {
        end += 1;
    }
    (chars[start..end].iter().collect(), end)
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::AllChildren);
    }
    if inner.len() >= 2 && (inner.starts_with('\'') || inner.starts_with('"')) {
        return Ok(Step::Field(inner[1..inner.len() - 1].to_string()));
    }
    if inner.starts_with('?') {
        return Err(format!("filter expressions are not supported: [{inner}]"));
    }
    let parse = |t: &str| -> Result<Option<i64>, String> {
        let t = t.trim();
        if t.is_empty() {
            Ok(None)
        } else {
            t.parse().map(Some).map_err(|_| format!("invalid array index {t:?}"))
        }
    };
    match inner.split(':').collect::<Vec<_>>().as_slice() {
        [one] => parse(one)?.map(Step::Index).ok_or_else(|| "empty array index".to_string()),
        [a, b] | [a, b, _] => Ok(Step::Slice(parse(a)?, parse(b)?)),
        _ => Err(format!("invalid array index [{inner}]")),
    }
}

fn eval<'a>(steps: &[Step], root: &'a Doc) -> Vec<&'a Doc> {
    let mut current = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for value in current {
            match (step, value) {
                (Step::Field(name), Doc::Map(entries)) => {
                    next.extend(entries.iter().filter(|(k, _)| k == name).map(|(_, v)| v));
                }
                (Step::Recursive(name), _) => collect_recursive(value, name, &mut next),
                (Step::AllChildren, Doc::Seq(items)) => next.extend(items.iter()),
                (Step::AllChildren, Doc::Map(entries)) => next.extend(entries.iter().map(|(_, v)| v)),
                (Step::Index(i), Doc::Seq(items)) => {
                    let idx = if *i < 0 { items.len() as i64 + i } else { *i };
                    if let Some(item) = usize::try_from(idx).ok().and_then(|i| items.get(i)) {
                        next.push(item);
                    }
                }
                (Step::Slice(a, b), Doc::Seq(items)) => {
                    let len = items.len() as i64;
                    let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) } as usize;
                    let start = a.map_or(0, clamp);
                    let end = b.map_or(items.len(), clamp);
                    if start < end {
                        next.extend(items[start..end].iter());
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn collect_recursive<'a>(value: &'a Doc, name: &str, out: &mut Vec<&'a Doc>) {
    match value {
        Doc::Map(entries) => {
            for (k, v) in entries {
                if k == name {
                    out.push(v);
                }
                collect_recursive(v, name, out);
            }
        }
        Doc::Seq(items) => items.iter().for_each(|v| collect_recursive(v, name, out)),
        _ => {}
    }
}

fn run_parts(parts: &[Part], doc: &Doc, out: &mut String) {
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Expr(steps) => {
                for (i, value) in eval(steps, doc).into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    value.render(out);
                }
            }
            Part::Range(steps, body) => {
                for value in eval(steps, doc) {
                    match value {
                        // A range over one array walks its items.
                        Doc::Seq(items) => items.iter().for_each(|item| run_parts(body, item, out)),
                        _ => run_parts(body, value, out),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(template: &str, doc: &str) -> String {
        Template::parse(template).unwrap().execute(&Doc::parse(doc).unwrap())
    }

    #[test]
    fn fields_and_nested_fields() {
        assert_eq!(run("{.readOnlyPort}", r#"{"readOnlyPort": 15000}"#), "15000");
        assert_eq!(
            run("{.authentication.anonymous.enabled}", "authentication:\n  anonymous:\n    enabled: false\n"),
            "false"
        );
        assert_eq!(
            run("{.peer-transport-security.auto-tls}", "peer-transport-security:\n  auto-tls: true"),
            "true"
        );
        assert_eq!(run("{.missing}", "a: 1"), "");
    }

    #[test]
    fn range_and_literals() {
        let doc = "tlsCipherSuites: [A, B]";
        assert_eq!(run("{range .tlsCipherSuites[:]}{}{','}{end}", doc), "A,B,");
        assert_eq!(run("{.tlsCipherSuites[*]}", doc), "A B");
        assert_eq!(run("{.tlsCipherSuites[-1]}", doc), "B");
    }

    #[test]
    fn text_outside_braces_is_literal() {
        assert_eq!(run(".kubeAPIQPS", "kubeAPIQPS: 5"), ".kubeAPIQPS");
        assert_eq!(run("{.a}}", "a: x"), "x}");
    }

    #[test]
    fn go_number_formatting() {
        assert_eq!(run("{.n}", r#"{"n": 1000000}"#), "1e+06");
        assert_eq!(run("{.n}", "n: 1000000"), "1000000");
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1.5e-5), "1.5e-05");
    }

    #[test]
    fn broken_templates_are_errors() {
        assert!(Template::parse("{.missingClosingBrace").is_err());
        assert!(Template::parse("{range .a}{end}{end}").is_err());
    }
}
