//! OPA `# METADATA` annotations, as Trivy's checks write them:
//!
//! ```rego
//! # METADATA
//! # title: Privileged containers
//! # description: Containers must not run privileged.
//! # custom:
//! #   id: KSV017
//! #   severity: HIGH
//! #   aliases: [AVD-KSV-0017]
//! package builtin.kubernetes.KSV017
//! ```
//!
//! A block just above `package` applies to every rule of the module; a block above a rule
//! applies to that rule and wins over the package's.

use std::collections::HashMap;

use kubesecops_core::{ReportError, Severity};
use kubesecops_k8s::parse_documents;
use serde_json::Value as Json;

/// The annotations kubesecops uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `custom.id`.
    pub id: Option<String>,
    /// `custom.severity`.
    pub severity: Option<Severity>,
    /// `custom.aliases` (strings, or objects with an `id`... only strings are read).
    pub aliases: Vec<String>,
}

impl Annotations {
    /// `self` with every field `other` sets replaced by `other`'s.
    fn overridden_by(&self, other: &Annotations) -> Annotations {
        Annotations {
            title: other.title.clone().or_else(|| self.title.clone()),
            description: other.description.clone().or_else(|| self.description.clone()),
            id: other.id.clone().or_else(|| self.id.clone()),
            severity: other.severity.or(self.severity),
            aliases: if other.aliases.is_empty() { self.aliases.clone() } else { other.aliases.clone() },
        }
    }
}

/// The annotations of one module.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModuleAnnotations {
    package: Annotations,
    rules: HashMap<String, Annotations>,
}

impl ModuleAnnotations {
    /// The annotations that apply to rule `name` (package ones overridden by the rule's).
    pub(crate) fn for_rule(&self, name: &str) -> Annotations {
        match self.rules.get(name) {
            Some(rule) => self.package.overridden_by(rule),
            None => self.package.clone(),
        }
    }
}

/// Reads the `# METADATA` blocks of a module. A block that is not valid YAML, or a severity
/// that is not one of LOW..CRITICAL, is an error naming the line.
pub(crate) fn parse(path: &str, text: &str) -> Result<ModuleAnnotations, ReportError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut module = ModuleAnnotations::default();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "# METADATA" {
            i += 1;
            continue;
        }
        let start_line = i as u32 + 1;
        let mut yaml = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_start().starts_with('#') {
            let body = lines[i].trim_start().trim_start_matches('#');
            yaml.push_str(body.strip_prefix(' ').unwrap_or(body));
            yaml.push('\n');
            i += 1;
        }
        let annotations = read_block(&yaml).map_err(|message| {
            ReportError::at(path, Some(start_line), format!("invalid # METADATA block: {message}"))
        })?;
        // The block belongs to the next non-blank line: `package ...` or a rule head.
        let target = lines[i..].iter().map(|l| l.trim()).find(|l| !l.is_empty()).unwrap_or("");
        if target.starts_with("package ") || target == "package" {
            module.package = module.package.overridden_by(&annotations);
        } else {
            let name: String =
                target.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                let merged = module.rules.get(&name).cloned().unwrap_or_default().overridden_by(&annotations);
                module.rules.insert(name, merged);
            }
        }
    }
    Ok(module)
}

fn read_block(yaml: &str) -> Result<Annotations, String> {
    let doc = parse_documents(yaml).into_iter().next();
    let root = match doc {
        None => return Ok(Annotations::default()),
        Some(Err(err)) => return Err(err.message),
        Some(Ok(doc)) => match doc.root {
            Some(root) => root.to_json(),
            None => return Ok(Annotations::default()),
        },
    };
    let text = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_string);
    let custom = root.get("custom");
    let severity = match custom.and_then(|c| c.get("severity")).and_then(Json::as_str) {
        Some(s) => Some(s.parse::<Severity>().map_err(|e| e.to_string())?),
        None => None,
    };
    let aliases = custom
        .and_then(|c| c.get("aliases"))
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Annotations {
        title: text(root.get("title")),
        description: text(root.get("description")),
        id: text(custom.and_then(|c| c.get("id"))),
        severity,
        aliases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_and_rule_blocks() {
        let text = "# METADATA\n# title: No privileged\n# custom:\n#   id: ORG-1\n#   severity: critical\n#   aliases: [A-1, A-2]\npackage main\n\n# METADATA\n# title: Warn about latest\n# custom:\n#   severity: LOW\nwarn[msg] {\n  msg := \"x\"\n}\n";
        let module = parse("p.rego", text).unwrap();
        let deny = module.for_rule("deny");
        assert_eq!(deny.id.as_deref(), Some("ORG-1"));
        assert_eq!(deny.severity, Some(Severity::Critical));
        assert_eq!(deny.aliases, ["A-1", "A-2"]);
        let warn = module.for_rule("warn");
        assert_eq!(warn.title.as_deref(), Some("Warn about latest"));
        assert_eq!(warn.severity, Some(Severity::Low));
        assert_eq!(warn.id.as_deref(), Some("ORG-1"));
    }

    #[test]
    fn bad_severity_names_the_line() {
        let err =
            parse("p.rego", "package x\n\n# METADATA\n# custom:\n#   severity: huge\ndeny[m] { m := 1 }\n")
                .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("huge"), "{}", err.message);
    }
}
