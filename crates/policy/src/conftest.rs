//! conftest-style policies: `deny`, `violation` and `warn` rules (and `deny_*`, ... variants)
//! of chosen packages, evaluated with each object as `input`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kubesecops_core::{fingerprint, Finding, ReportError, RuleRef, Severity};
use kubesecops_k8s::loader::load_text;
use kubesecops_k8s::Object;
use kubesecops_trust::TrustedKeys;
use regex::Regex;
use regorus::Engine;
use serde_json::Value as Json;

use crate::files;
use crate::gatekeeper::{Gatekeeper, Inventory};
use crate::metadata::{self, Annotations};
use crate::rego::{self, DEFAULT_TIMEOUT};

/// What to load: `--policy`, `--data`, `--rego-namespace`.
#[derive(Debug, Clone)]
pub struct PolicyOptions {
    /// Directories (or files) holding `.rego` policies and Gatekeeper templates/constraints.
    pub policy_paths: Vec<PathBuf>,
    /// JSON/YAML files (or directories of them) loaded as `data`.
    pub data_paths: Vec<PathBuf>,
    /// Packages whose rules are evaluated (default `main`).
    pub namespaces: Vec<String>,
    /// Time limit of one rule evaluation.
    pub timeout: Duration,
    /// With keys, every policy and data file must carry a detached minisign signature
    /// (`FILE.minisig`) by one of them; a file without one is an error and is not loaded.
    pub trusted: Option<TrustedKeys>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            policy_paths: Vec::new(),
            data_paths: Vec::new(),
            namespaces: vec!["main".to_string()],
            timeout: DEFAULT_TIMEOUT,
            trusted: None,
        }
    }
}

/// Whether a rule denies or warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleKind {
    /// `deny`, `violation`: HIGH unless annotated.
    Deny,
    /// `warn`: LOW unless annotated.
    Warn,
}

/// One evaluated rule of a policy package.
#[derive(Debug, Clone)]
struct PolicyRule {
    /// `data.main.deny`.
    query: String,
    /// The policy file (for errors).
    path: String,
    rule: Arc<RuleRef>,
    severity: Severity,
}

/// Loaded policies: conftest-style rules and Gatekeeper constraints. Prepared once;
/// [`PolicySet::evaluate`] takes `&self` and may run on many threads at once.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// The prepared engine holding every module and the data; `None` without `.rego` files.
    engine: Option<Engine>,
    rules: Vec<PolicyRule>,
    gatekeeper: Gatekeeper,
}

/// Reads a policy or data file; when the options trust keys, reads it through its signature
/// check, so that the text used is the text verified.
fn read_input(options: &PolicyOptions, path: &Path) -> Result<String, ReportError> {
    match &options.trusted {
        None => files::read_text(path),
        Some(keys) => keys.read_verified_text(path).map_err(|e| ReportError::at(e.path(), None, e.reason())),
    }
}

impl PolicySet {
    /// Loads `.rego` modules (`*_test.rego` excepted) and Gatekeeper templates and
    /// constraints from the policy paths, and the data files. Every file that fails to read,
    /// parse or compile is an error naming it (and the line when known).
    pub fn load(options: &PolicyOptions) -> Result<PolicySet, Vec<ReportError>> {
        let mut errors = Vec::new();
        let mut engine = rego::new_engine(options.timeout);
        let mut rules = Vec::new();
        let mut modules = 0;
        let mut gatekeeper = Gatekeeper::new(options.timeout);
        // No `--rego-namespace` means conftest's default package.
        let namespaces: Vec<&str> = if options.namespaces.is_empty() {
            vec!["main"]
        } else {
            options.namespaces.iter().map(String::as_str).collect()
        };
        for root in &options.policy_paths {
            let found = files::collect(root, &|p| {
                (files::is_rego(p) && !files::is_rego_test(p)) || files::is_data(p)
            });
            let paths = match found {
                Ok(paths) => paths,
                Err(err) => {
                    errors.push(err);
                    continue;
                }
            };
            for path in paths {
                let text = match read_input(options, &path) {
                    Ok(text) => text,
                    Err(err) => {
                        errors.push(err);
                        continue;
                    }
                };
                if files::is_data(&path) {
                    // Only Gatekeeper objects are taken from policy directories.
                    let loaded = load_text(files::label(&path), &text);
                    errors.extend(loaded.errors);
                    errors.extend(gatekeeper.add_objects(&loaded.objects));
                    continue;
                }
                match add_policy_module(&mut engine, &path, &text, &namespaces) {
                    Ok(found) => {
                        modules += 1;
                        // Several files of one package add to the same rule: evaluate it once
                        // (the first file's annotations name it).
                        for rule in found {
                            if !rules.iter().any(|r: &PolicyRule| r.query == rule.query) {
                                rules.push(rule);
                            }
                        }
                    }
                    Err(err) => errors.push(err),
                }
            }
        }
        let mut data = Json::Object(Default::default());
        for root in &options.data_paths {
            let paths = match files::collect(root, &files::is_data) {
                Ok(paths) => paths,
                Err(err) => {
                    errors.push(err);
                    continue;
                }
            };
            for path in paths {
                match read_input(options, &path).and_then(|text| files::parse_data(root, &path, &text)) {
                    Ok(doc) => {
                        if let Err(message) = files::merge(&mut data, doc, "data") {
                            errors.push(ReportError::at(path.display().to_string(), None, message));
                        }
                    }
                    Err(err) => errors.push(err),
                }
            }
        }
        if let Err(err) = engine.add_data(rego::to_value(&data)) {
            errors.push(ReportError::at("--data", None, format!("{err:#}")));
        }
        if errors.is_empty() && modules > 0 {
            // Analyse once here, so that compile errors surface at load time and every
            // evaluation starts from a prepared engine.
            if let Err(err) = rego::guarded(|| engine.eval_query("true".to_string(), false)) {
                errors.push(rego::to_report_error("policy", &err));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PolicySet { engine: (modules > 0).then_some(engine), rules, gatekeeper })
    }

    /// Adds Gatekeeper templates and constraints found among scanned objects. Returns
    /// errors for templates that do not compile or constraints that are malformed.
    pub fn add_gatekeeper_objects(&mut self, objects: &[Object]) -> Vec<ReportError> {
        self.gatekeeper.add_objects(objects)
    }

    /// Sets the referential data (`data.inventory`) Gatekeeper templates see, built from
    /// every scanned object. Call once after loading, before evaluating.
    pub fn set_inventory(&mut self, inventory: Inventory) -> Vec<ReportError> {
        self.gatekeeper.set_inventory(inventory)
    }

    /// True when a Gatekeeper template is loaded, so that [`PolicySet::set_inventory`] is
    /// worth its cost (the inventory holds every object).
    pub fn needs_inventory(&self) -> bool {
        self.gatekeeper.templates().next().is_some()
    }

    /// The Gatekeeper part (templates and constraints).
    pub fn gatekeeper(&self) -> &Gatekeeper {
        &self.gatekeeper
    }

    /// True when nothing is loaded (no rule and no constraint).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.gatekeeper.constraints().is_empty()
    }

    /// Number of conftest-style rules evaluated per object.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Evaluates every rule and every matching constraint on one object.
    pub fn evaluate(&self, obj: &Object) -> (Vec<Finding>, Vec<ReportError>) {
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        if let Some(prepared) = &self.engine {
            if !self.rules.is_empty() {
                let mut engine = prepared.clone();
                engine.set_input(rego::to_value(&obj.root.to_json()));
                for rule in &self.rules {
                    match rego::guarded(|| engine.eval_rule(rule.query.clone())) {
                        Ok(value) => {
                            for message in messages(rego::to_json(&value)) {
                                findings.push(finding(rule, obj, message));
                            }
                        }
                        Err(err) => {
                            let mut error = rego::to_report_error(&rule.path, &err);
                            error.message = format!(
                                "evaluating {} on {} ({}): {}",
                                rule.query,
                                obj.meta.display(),
                                obj.path,
                                error.message
                            );
                            errors.push(error);
                        }
                    }
                }
            }
        }
        let (gk_findings, gk_errors) = self.gatekeeper.evaluate(obj);
        findings.extend(gk_findings);
        errors.extend(gk_errors);
        (findings, errors)
    }
}

/// Adds one module to the engine and returns the rules to evaluate in it (those of the
/// chosen packages whose names conftest evaluates).
fn add_policy_module(
    engine: &mut Engine,
    path: &Path,
    text: &str,
    namespaces: &[&str],
) -> Result<Vec<PolicyRule>, ReportError> {
    let label = path.display().to_string();
    let annotations = metadata::parse(&label, text)?;
    let package = rego::add_module(engine, &label, text)?;
    let package = package.strip_prefix("data.").unwrap_or(&package).to_string();
    if !namespaces.contains(&package.as_str()) {
        return Ok(Vec::new());
    }
    Ok(rule_names(text)
        .into_iter()
        .map(|name| {
            let meta = annotations.for_rule(&name);
            let kind = if name.starts_with("warn") { RuleKind::Warn } else { RuleKind::Deny };
            make_rule(&label, &package, &name, kind, &meta)
        })
        .collect())
}

fn make_rule(path: &str, package: &str, name: &str, kind: RuleKind, meta: &Annotations) -> PolicyRule {
    let id = meta.id.clone().unwrap_or_else(|| format!("{package}.{name}"));
    let title = meta
        .title
        .clone()
        .or_else(|| meta.description.clone())
        .unwrap_or_else(|| format!("Rego policy {package}.{name}"));
    let default = match kind {
        RuleKind::Deny => Severity::High,
        RuleKind::Warn => Severity::Low,
    };
    PolicyRule {
        query: format!("data.{package}.{name}"),
        path: path.to_string(),
        rule: Arc::new(RuleRef { id, aliases: meta.aliases.clone(), title }),
        severity: meta.severity.unwrap_or(default),
    }
}

/// Names of the rules conftest evaluates (`deny`, `violation`, `warn`, optionally followed
/// by `_suffix`), read from rule heads at the start of a line. Functions are left out.
fn rule_names(text: &str) -> BTreeSet<String> {
    static HEAD: OnceLock<Regex> = OnceLock::new();
    let head = HEAD.get_or_init(|| {
        Regex::new(r"(?m)^((?:deny|violation|warn)(?:_[A-Za-z0-9_]+)*)\b[ \t]*(.?)").expect("valid regex")
    });
    head.captures_iter(text)
        .filter(|caps| caps.get(2).is_none_or(|m| m.as_str() != "("))
        .map(|caps| caps[1].to_string())
        .collect()
}

/// The messages of a rule's result: a set or array of strings or of objects with `msg`,
/// or a single string. `false`, undefined and empty results give none.
fn messages(value: Option<Json>) -> Vec<String> {
    let item_message = |item: &Json| match item {
        Json::String(s) => Some(s.clone()),
        Json::Object(map) => Some(match map.get("msg") {
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => item.to_string(),
        }),
        Json::Bool(false) | Json::Null => None,
        Json::Bool(true) => Some(String::new()),
        other => Some(other.to_string()),
    };
    match value {
        None => Vec::new(),
        Some(Json::Array(items)) => items.iter().filter_map(item_message).collect(),
        Some(other) => item_message(&other).into_iter().collect(),
    }
}

fn finding(rule: &PolicyRule, obj: &Object, message: String) -> Finding {
    let message = if message.is_empty() { rule.rule.title.clone() } else { message };
    Finding {
        fingerprint: fingerprint(&rule.rule.id, &obj.path, Some(&obj.meta), &message),
        vcs: None,
        package: None,
        fixed_version: None,
        rule: rule.rule.clone(),
        severity: rule.severity,
        message,
        location: obj.location(obj.root.pos),
        object: Some(obj.meta.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_skip_functions_and_other_rules() {
        let text = "package main\ndeny[msg] { true }\ndeny_privileged contains msg if { true }\nwarn = x { true }\ndeny_helper(x) { true }\nallow { true }\nviolation[{\"msg\": m}] { m := 1 }\n";
        let names: Vec<_> = rule_names(text).into_iter().collect();
        assert_eq!(names, ["deny", "deny_privileged", "violation", "warn"]);
    }

    #[test]
    fn messages_of_every_shape() {
        let value = serde_json::json!(["a", {"msg": "b", "details": {}}, {"other": 1}]);
        assert_eq!(messages(Some(value)), ["a", "b", "{\"other\":1}"]);
        assert!(messages(None).is_empty());
        assert!(messages(Some(Json::Bool(false))).is_empty());
        assert_eq!(messages(Some(Json::String("s".into()))), ["s"]);
    }
}
