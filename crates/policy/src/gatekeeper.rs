//! Gatekeeper `ConstraintTemplate`s and their constraints.
//!
//! A template's Rego (target `admission.k8s.gatekeeper.sh`, `violation[{"msg": msg}]`) sees
//! `input.review` (the object under review with its kind, name and namespace),
//! `input.parameters` (the constraint's `spec.parameters`) and `data.inventory`
//! (`namespace[ns][apiVersion][kind][name]` and `cluster[apiVersion][kind][name]`, built from
//! the other objects). A constraint applies where its `spec.match` matches (kinds, scope,
//! namespaces, excludedNamespaces, labelSelector, namespaceSelector, name); its
//! `enforcementAction` (deny, warn, dryrun) sets the severity of its findings.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kubesecops_core::{fingerprint, Finding, Location, ObjectRef, ReportError, RuleRef, Severity};
use kubesecops_k8s::selector::LabelSelector;
use kubesecops_k8s::{Node, Object};
use regorus::Engine;
use serde_json::{json, Map, Value as Json};

use crate::rego;

/// API group of constraint templates.
const TEMPLATE_GROUP: &str = "templates.gatekeeper.sh";
/// API group of constraints.
const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";
/// The admission target of templates.
const ADMISSION_TARGET: &str = "admission.k8s.gatekeeper.sh";

/// What a constraint does with a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforcementAction {
    /// Reject the object (findings are HIGH).
    Deny,
    /// Admit with a warning (findings are MEDIUM).
    Warn,
    /// Only record (findings are LOW, message names the action).
    DryRun,
}

impl EnforcementAction {
    /// The name as written in constraints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Warn => "warn",
            Self::DryRun => "dryrun",
        }
    }

    fn severity(self) -> Severity {
        match self {
            Self::Deny => Severity::High,
            Self::Warn => Severity::Medium,
            Self::DryRun => Severity::Low,
        }
    }
}

/// A compiled constraint template.
#[derive(Debug, Clone)]
pub struct Template {
    /// `metadata.name`.
    pub name: String,
    /// The constraint kind it defines (`spec.crd.spec.names.kind`).
    pub kind: String,
    /// Title (`metadata.gatekeeper.sh/title` or `description` annotation, else the kind).
    pub title: String,
    /// The file it came from.
    pub path: Arc<str>,
    /// `data.<package>.violation`.
    query: String,
    /// Modules without data, not yet prepared.
    base: Engine,
    /// Prepared with the current inventory.
    engine: Engine,
    /// Module label -> (file, line offset), to map engine errors back to the template file.
    sources: Vec<(String, u32)>,
}

/// A constraint: an instance of a template with parameters and a match.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// The template's kind.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// What violations do.
    pub action: EnforcementAction,
    /// The file it came from and the line of its document.
    pub location: Location,
    parameters: Json,
    matcher: Match,
}

/// `spec.match` of a constraint.
#[derive(Debug, Clone, Default)]
struct Match {
    /// (apiGroups, kinds) pairs; empty matches every kind.
    kinds: Vec<(Vec<String>, Vec<String>)>,
    scope: Option<String>,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    label_selector: Option<LabelSelector>,
    namespace_selector: Option<LabelSelector>,
    name: Option<String>,
}

/// Referential data: the objects templates may look up in `data.inventory`, and the labels
/// of Namespace objects for `namespaceSelector`.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    data: Json,
    namespace_labels: HashMap<String, Vec<(String, String)>>,
}

impl Inventory {
    /// Builds the inventory from objects: namespaced ones under
    /// `namespace[ns][apiVersion][kind][name]`, the others under `cluster[apiVersion][kind][name]`.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Inventory {
        let mut namespaced = Map::new();
        let mut cluster = Map::new();
        let mut namespace_labels = HashMap::new();
        for obj in objects {
            let meta = &obj.meta;
            if meta.kind == "Namespace" && obj.group().is_empty() {
                namespace_labels.insert(meta.name.clone(), labels_of(&obj.root));
            }
            let target = if meta.namespace.is_empty() {
                &mut cluster
            } else {
                namespaced
                    .entry(meta.namespace.clone())
                    .or_insert_with(|| Json::Object(Map::new()))
                    .as_object_mut()
                    .expect("object")
            };
            let by_kind = target
                .entry(meta.api_version.clone())
                .or_insert_with(|| Json::Object(Map::new()))
                .as_object_mut()
                .expect("object")
                .entry(meta.kind.clone())
                .or_insert_with(|| Json::Object(Map::new()))
                .as_object_mut()
                .expect("object");
            by_kind.insert(meta.name.clone(), obj.root.to_json());
        }
        Inventory {
            data: json!({"inventory": {"namespace": namespaced, "cluster": cluster}}),
            namespace_labels,
        }
    }

    /// Number of Namespace objects known.
    pub fn namespace_count(&self) -> usize {
        self.namespace_labels.len()
    }
}

/// The object under review, as Gatekeeper's target presents it.
#[derive(Debug, Clone)]
pub struct Review {
    group: String,
    kind: String,
    name: String,
    namespace: String,
    labels: Vec<(String, String)>,
    /// `input.review`.
    review: Json,
}

impl Review {
    /// The review of an object read from a file (as `gator` and audit build it: no operation).
    pub fn from_object(obj: &Object) -> Review {
        let (group, version) = split_api_version(&obj.meta.api_version);
        let review = json!({
            "kind": {"group": group, "version": version, "kind": obj.meta.kind},
            "name": obj.meta.name,
            "namespace": obj.meta.namespace,
            "object": obj.root.to_json(),
        });
        Review {
            group: group.to_string(),
            kind: obj.meta.kind.clone(),
            name: obj.meta.name.clone(),
            namespace: obj.meta.namespace.clone(),
            labels: labels_of(&obj.root),
            review,
        }
    }

    /// The review of an `AdmissionRequest` (the `request` of an AdmissionReview): the request
    /// itself, with `object` set to `oldObject` for deletions.
    pub fn from_admission_request(request: &Json) -> Result<Review, String> {
        let mut review = request.clone();
        let map = review.as_object_mut().ok_or("the AdmissionReview has no request object")?;
        let object = match map.get("object") {
            Some(o) if !o.is_null() => o.clone(),
            _ => match map.get("oldObject") {
                Some(o) if !o.is_null() => {
                    let old = o.clone();
                    map.insert("object".into(), old.clone());
                    old
                }
                _ => return Err("the AdmissionRequest has neither object nor oldObject".into()),
            },
        };
        let text = |v: Option<&Json>| v.and_then(Json::as_str).unwrap_or("").to_string();
        let kind = map.get("kind");
        let metadata = object.get("metadata");
        let labels = metadata
            .and_then(|m| m.get("labels"))
            .and_then(Json::as_object)
            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
            .unwrap_or_default();
        let namespace = match text(map.get("namespace")) {
            ns if ns.is_empty() => text(metadata.and_then(|m| m.get("namespace"))),
            ns => ns,
        };
        let name = match text(map.get("name")) {
            n if n.is_empty() => text(metadata.and_then(|m| m.get("name"))),
            n => n,
        };
        Ok(Review {
            group: text(kind.and_then(|k| k.get("group"))),
            kind: text(kind.and_then(|k| k.get("kind"))),
            name,
            namespace,
            labels,
            review,
        })
    }
}

/// One violation of a constraint.
#[derive(Debug, Clone)]
pub struct Violation {
    /// Index of the constraint in [`Gatekeeper::constraints`].
    pub constraint: usize,
    /// `msg` of the violation.
    pub message: String,
    /// `details`, when given.
    pub details: Json,
}

/// Templates and constraints, evaluated together.
#[derive(Debug, Clone)]
pub struct Gatekeeper {
    templates: BTreeMap<String, Template>,
    constraints: Vec<Constraint>,
    inventory: Inventory,
    timeout: Duration,
}

impl Gatekeeper {
    /// No templates and no constraints; evaluations limited to `timeout` each.
    pub fn new(timeout: Duration) -> Gatekeeper {
        Gatekeeper {
            templates: BTreeMap::new(),
            constraints: Vec::new(),
            inventory: Inventory::default(),
            timeout,
        }
    }

    /// The constraints, in load order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// The templates, by constraint kind.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }

    /// Takes the templates and constraints among `objects` (others are ignored).
    pub fn add_objects(&mut self, objects: &[Object]) -> Vec<ReportError> {
        let mut errors = Vec::new();
        for obj in objects {
            let result = match obj.group() {
                TEMPLATE_GROUP if obj.kind() == "ConstraintTemplate" => self.add_template(obj),
                CONSTRAINT_GROUP => self.add_constraint(obj),
                _ => Ok(()),
            };
            if let Err(err) = result {
                errors.push(err);
            }
        }
        errors
    }

    /// Compiles a `ConstraintTemplate`.
    pub fn add_template(&mut self, obj: &Object) -> Result<(), ReportError> {
        let line = Some(obj.root.pos.line);
        let err = |message: String| ReportError::at(obj.path.to_string(), line, message);
        let name = obj.meta.name.clone();
        let kind = obj
            .root
            .path(&["spec", "crd", "spec", "names", "kind"])
            .and_then(Node::as_str)
            .ok_or_else(|| err(format!("ConstraintTemplate {name}: spec.crd.spec.names.kind is missing")))?
            .to_string();
        let target = obj
            .root
            .path(&["spec", "targets"])
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .find(|t| t.get("target").and_then(Node::as_str) == Some(ADMISSION_TARGET))
            .ok_or_else(|| err(format!("ConstraintTemplate {name}: no target {ADMISSION_TARGET}")))?;
        // Rego is either `rego` + `libs` on the target, or a `code` entry with engine Rego.
        let source = target
            .get("rego")
            .map(|_| target)
            .or_else(|| {
                target.get("code").map(Node::items).unwrap_or_default().iter().find_map(|code| {
                    (code.get("engine").and_then(Node::as_str) == Some("Rego"))
                        .then(|| code.get("source"))
                        .flatten()
                })
            })
            .ok_or_else(|| {
                err(format!(
                    "ConstraintTemplate {name}: no Rego code (only CEL/K8sNativeValidation, which is not supported)"
                ))
            })?;
        let mut engine = rego::new_engine(self.timeout);
        let mut sources = Vec::new();
        let mut modules: Vec<&Node> = source.get("rego").into_iter().collect();
        modules.extend(source.get("libs").map(Node::items).unwrap_or_default());
        let mut package = None;
        for (i, node) in modules.into_iter().enumerate() {
            let text = node
                .as_str()
                .ok_or_else(|| err(format!("ConstraintTemplate {name}: Rego is not a string")))?;
            let label =
                if i == 0 { format!("{}#rego", obj.path) } else { format!("{}#libs[{}]", obj.path, i - 1) };
            // The scalar's position is where its text starts: Rego line 1.
            let offset = node.pos.line.saturating_sub(1);
            sources.push((label.clone(), offset));
            let pkg = rego::add_module(&mut engine, &label, text).map_err(|e| map_error(&sources, e))?;
            if i == 0 {
                package = Some(pkg);
            }
        }
        let package = package.ok_or_else(|| err(format!("ConstraintTemplate {name}: empty rego")))?;
        let title = obj
            .annotation("metadata.gatekeeper.sh/title")
            .or_else(|| obj.annotation("description"))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| kind.clone());
        let mut template = Template {
            name,
            kind: kind.clone(),
            title,
            path: obj.path.clone(),
            query: format!("{package}.violation"),
            engine: engine.clone(),
            base: engine,
            sources,
        };
        prepare(&mut template, &self.inventory)?;
        self.templates.insert(kind, template);
        Ok(())
    }

    /// Reads a constraint (any kind of the `constraints.gatekeeper.sh` group).
    pub fn add_constraint(&mut self, obj: &Object) -> Result<(), ReportError> {
        let at = |node: &Node, message: String| {
            ReportError::at(obj.path.to_string(), Some(node.pos.line), message)
        };
        let display = format!("{} {}", obj.meta.kind, obj.meta.name);
        let spec = obj.root.get("spec");
        let action = match spec.and_then(|s| s.get("enforcementAction")) {
            None => EnforcementAction::Deny,
            Some(node) => match node.as_str().unwrap_or("") {
                "deny" | "" => EnforcementAction::Deny,
                "warn" => EnforcementAction::Warn,
                "dryrun" => EnforcementAction::DryRun,
                other => {
                    return Err(at(
                        node,
                        format!("{display}: unknown enforcementAction {other:?} (deny, warn, dryrun)"),
                    ))
                }
            },
        };
        let matcher = match spec.and_then(|s| s.get("match")) {
            Some(node) => {
                Match::from_node(node).map_err(|m| at(node, format!("{display}: spec.match: {m}")))?
            }
            None => Match::default(),
        };
        let parameters = spec.and_then(|s| s.get("parameters")).map(Node::to_json).unwrap_or(Json::Null);
        self.constraints.push(Constraint {
            kind: obj.meta.kind.clone(),
            name: obj.meta.name.clone(),
            action,
            location: obj.location(obj.root.pos),
            parameters,
            matcher,
        });
        Ok(())
    }

    /// Sets `data.inventory` and prepares every template with it. Also reports constraints
    /// whose template is not loaded.
    pub fn set_inventory(&mut self, inventory: Inventory) -> Vec<ReportError> {
        self.inventory = inventory;
        let mut errors = Vec::new();
        for template in self.templates.values_mut() {
            if let Err(err) = prepare(template, &self.inventory) {
                errors.push(err);
            }
        }
        for c in &self.constraints {
            if !self.templates.contains_key(&c.kind) {
                errors.push(ReportError::at(
                    c.location.path.to_string(),
                    c.location.line,
                    format!(
                        "constraint {} {}: no ConstraintTemplate defines kind {}",
                        c.kind, c.name, c.kind
                    ),
                ));
            }
        }
        errors
    }

    /// Runs every matching constraint on a review. Errors name the template file.
    pub fn review(&self, review: &Review) -> (Vec<Violation>, Vec<ReportError>) {
        let mut violations = Vec::new();
        let mut errors = Vec::new();
        let mut engines: HashMap<&str, Engine> = HashMap::new();
        for (index, constraint) in self.constraints.iter().enumerate() {
            let Some(template) = self.templates.get(&constraint.kind) else { continue };
            match constraint.matcher.matches(review, &self.inventory) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(message) => {
                    errors.push(ReportError::at(
                        constraint.location.path.to_string(),
                        constraint.location.line,
                        format!("constraint {} {}: {message}", constraint.kind, constraint.name),
                    ));
                    continue;
                }
            }
            let engine = engines.entry(template.kind.as_str()).or_insert_with(|| template.engine.clone());
            let parameters =
                if constraint.parameters.is_null() { json!({}) } else { constraint.parameters.clone() };
            engine.set_input(rego::to_value(&json!({"review": review.review, "parameters": parameters})));
            match rego::guarded(|| engine.eval_rule(template.query.clone())) {
                Ok(value) => {
                    let items = match rego::to_json(&value) {
                        Some(Json::Array(items)) => items,
                        _ => Vec::new(),
                    };
                    for item in items {
                        let message = match item.get("msg") {
                            Some(Json::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => item.to_string(),
                        };
                        let details = item.get("details").cloned().unwrap_or(Json::Null);
                        violations.push(Violation { constraint: index, message, details });
                    }
                }
                Err(err) => {
                    let mut error = map_error(&template.sources, rego::to_report_error(&template.path, &err));
                    error.message = format!(
                        "evaluating template {} for constraint {}: {}",
                        template.name, constraint.name, error.message
                    );
                    errors.push(error);
                }
            }
        }
        (violations, errors)
    }

    /// Runs every matching constraint on an object; violations become findings.
    pub fn evaluate(&self, obj: &Object) -> (Vec<Finding>, Vec<ReportError>) {
        if self.constraints.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let (violations, errors) = self.review(&Review::from_object(obj));
        let findings = violations.into_iter().map(|v| self.finding(&v, obj)).collect();
        (findings, errors)
    }

    fn finding(&self, violation: &Violation, obj: &Object) -> Finding {
        let constraint = &self.constraints[violation.constraint];
        let id = format!("{}/{}", constraint.kind, constraint.name);
        let title =
            self.templates.get(&constraint.kind).map_or_else(|| constraint.kind.clone(), |t| t.title.clone());
        let message = match constraint.action {
            EnforcementAction::Deny => violation.message.clone(),
            action => format!("{} (enforcementAction: {})", violation.message, action.as_str()),
        };
        let object: &ObjectRef = &obj.meta;
        Finding {
            fingerprint: fingerprint(&id, &obj.path, Some(object), &violation.message),
            vcs: None,
            package: None,
            fixed_version: None,
            rule: Arc::new(RuleRef { id, aliases: Vec::new(), title }),
            severity: constraint.action.severity(),
            message,
            location: obj.location(obj.root.pos),
            object: Some(obj.meta.clone()),
        }
    }
}

/// Clones the template's modules, adds the inventory and analyses them once.
fn prepare(template: &mut Template, inventory: &Inventory) -> Result<(), ReportError> {
    let mut engine = template.base.clone();
    if !inventory.data.is_null() {
        engine
            .add_data(rego::to_value(&inventory.data))
            .map_err(|e| ReportError::at(template.path.to_string(), None, format!("inventory: {e:#}")))?;
    }
    rego::guarded(|| engine.eval_query("true".to_string(), false))
        .map_err(|e| map_error(&template.sources, rego::to_report_error(&template.path, &e)))?;
    template.engine = engine;
    Ok(())
}

/// Maps an error in an embedded module (`file#rego`) to the template file and its line.
fn map_error(sources: &[(String, u32)], mut error: ReportError) -> ReportError {
    if let Some((label, offset)) = sources.iter().find(|(label, _)| *label == error.path) {
        let file = label.rsplit_once('#').map_or(label.as_str(), |(f, _)| f).to_string();
        error.line = error.line.map(|l| l + offset);
        error.path = file;
    }
    error
}

impl Match {
    fn from_node(node: &Node) -> Result<Match, String> {
        let strings = |n: Option<&Node>| -> Vec<String> {
            n.map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string)
                .collect()
        };
        let kinds = node
            .get("kinds")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .map(|k| (strings(k.get("apiGroups")), strings(k.get("kinds"))))
            .collect();
        let selector = |key: &str| -> Result<Option<LabelSelector>, String> {
            node.get(key).map(LabelSelector::from_node).transpose().map_err(|e| format!("{key}: {e}"))
        };
        Ok(Match {
            kinds,
            scope: node.get("scope").and_then(Node::as_str).map(str::to_string),
            namespaces: strings(node.get("namespaces")),
            excluded_namespaces: strings(node.get("excludedNamespaces")),
            label_selector: selector("labelSelector")?,
            namespace_selector: selector("namespaceSelector")?,
            name: node.get("name").and_then(Node::as_str).map(str::to_string),
        })
    }

    /// Gatekeeper's match: every criterion that is set must hold. Cluster-scoped objects
    /// (no namespace) pass the namespace criteria; a Namespace is matched by its own name
    /// and labels.
    fn matches(&self, review: &Review, inventory: &Inventory) -> Result<bool, String> {
        let wild =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|x| x == "*" || x == value);
        if !self.kinds.is_empty()
            && !self
                .kinds
                .iter()
                .any(|(groups, kinds)| wild(groups, &review.group) && wild(kinds, &review.kind))
        {
            return Ok(false);
        }
        let is_namespace = review.kind == "Namespace" && review.group.is_empty();
        let namespace = if is_namespace { review.name.as_str() } else { review.namespace.as_str() };
        let cluster_scoped = namespace.is_empty();
        // Scope is about the object itself: a Namespace is cluster-scoped.
        let object_cluster_scoped = review.namespace.is_empty() || is_namespace;
        match self.scope.as_deref() {
            Some("Cluster") if !object_cluster_scoped => return Ok(false),
            Some("Namespaced") if object_cluster_scoped => return Ok(false),
            _ => {}
        }
        if !self.namespaces.is_empty()
            && !cluster_scoped
            && !self.namespaces.iter().any(|p| glob(p, namespace))
        {
            return Ok(false);
        }
        if !cluster_scoped && self.excluded_namespaces.iter().any(|p| glob(p, namespace)) {
            return Ok(false);
        }
        let labels: Vec<(&str, &str)> = review.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if let Some(selector) = &self.label_selector {
            if !selector.matches(&labels) {
                return Ok(false);
            }
        }
        if let Some(selector) = &self.namespace_selector {
            if is_namespace {
                if !selector.matches(&labels) {
                    return Ok(false);
                }
            } else if !cluster_scoped {
                let ns_labels = inventory.namespace_labels.get(namespace).ok_or_else(|| {
                    format!("namespaceSelector needs Namespace {namespace}, which is not among the objects")
                })?;
                let ns_labels: Vec<(&str, &str)> =
                    ns_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                if !selector.matches(&ns_labels) {
                    return Ok(false);
                }
            }
        }
        if let Some(pattern) = &self.name {
            if !glob(pattern, &review.name) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Gatekeeper's namespace and name globs: `prefix*`, `*suffix`, or an exact name.
fn glob(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

fn labels_of(root: &Node) -> Vec<(String, String)> {
    root.path(&["metadata", "labels"])
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.key.clone(), e.value.as_str().unwrap_or("").to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesecops_k8s::loader::load_text;

    fn review(text: &str) -> Review {
        Review::from_object(&load_text(Arc::from("r.yaml"), text).objects[0])
    }

    fn matcher(text: &str) -> Match {
        let node = kubesecops_k8s::parse_documents(text).remove(0).unwrap().root.unwrap();
        Match::from_node(&node).unwrap()
    }

    #[test]
    fn scope_names_and_namespace_globs() {
        let pod = review("apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: kube-system}\n");
        let ns = review("apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-public}\n");
        let node = review("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n");
        let inv = Inventory::default();
        let check = |m: &str, r: &Review| matcher(m).matches(r, &inv).unwrap();
        assert!(check("scope: Namespaced", &pod));
        assert!(!check("scope: Namespaced", &ns));
        assert!(check("scope: Cluster", &ns) && check("scope: Cluster", &node));
        assert!(!check("scope: Cluster", &pod));
        assert!(!check("excludedNamespaces: [kube-*]", &pod));
        assert!(!check("excludedNamespaces: [kube-*]", &ns), "a Namespace is matched by its name");
        assert!(check("excludedNamespaces: [kube-*]", &node), "cluster-scoped objects pass");
        assert!(check("namespaces: ['*-system']", &pod));
        assert!(!check("namespaces: [default]", &pod));
        assert!(check("name: web-*", &pod) && !check("name: db", &pod));
        assert!(check("kinds: [{apiGroups: ['*'], kinds: [Pod]}]", &pod));
        assert!(!check("kinds: [{apiGroups: [apps], kinds: [Pod]}]", &pod));
    }
}
