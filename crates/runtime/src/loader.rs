//! Reading Falco rule files: `list`, `macro` and `rule` items, `append`/`override`,
//! `required_engine_version` and `required_plugin_versions`, merged across files in load
//! order the way Falco's rule collector merges them.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use kubesecops_k8s::{parse_documents, Node, Value};

/// Engine version this implementation models (Falco's `required_engine_version` scale; an
/// integer `N` means `0.N.0`).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 63, 0);

/// A place in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as given to the loader.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// An error in a rules file: the file, the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("{file}: {message}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// The content is invalid.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
}

impl RuleError {
    pub(crate) fn at(location: &Location, message: impl Into<String>) -> RuleError {
        RuleError::Invalid { location: location.clone(), message: message.into() }
    }
}

/// Something worth telling that does not stop loading (skipped rules of other sources,
/// unknown keys, Falco-incompatible uses that are accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where.
    pub location: Location,
    /// What.
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Rule priority, Falco's syslog-like scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `EMERGENCY`.
    Emergency,
    /// `ALERT`.
    Alert,
    /// `CRITICAL`.
    Critical,
    /// `ERROR`.
    Error,
    /// `WARNING`.
    Warning,
    /// `NOTICE`.
    Notice,
    /// `INFORMATIONAL` (also `INFO`).
    Informational,
    /// `DEBUG`.
    Debug,
}

impl Priority {
    /// Parses a priority name, case-insensitively (`info` is `Informational`).
    pub fn parse(text: &str) -> Option<Priority> {
        let all = [
            ("emergency", Priority::Emergency),
            ("alert", Priority::Alert),
            ("critical", Priority::Critical),
            ("error", Priority::Error),
            ("warning", Priority::Warning),
            ("notice", Priority::Notice),
            ("informational", Priority::Informational),
            ("info", Priority::Informational),
            ("debug", Priority::Debug),
        ];
        all.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)).map(|(_, p)| *p)
    }

    /// The report severity of an alert of this priority, for the shared report formats:
    /// emergency, alert and critical are `CRITICAL`, error `HIGH`, warning `MEDIUM`, and
    /// notice, informational and debug `LOW`.
    pub fn severity(self) -> kubesecops_core::Severity {
        use kubesecops_core::Severity;
        match self {
            Priority::Emergency | Priority::Alert | Priority::Critical => Severity::Critical,
            Priority::Error => Severity::High,
            Priority::Warning => Severity::Medium,
            Priority::Notice | Priority::Informational | Priority::Debug => Severity::Low,
        }
    }

    /// The name Falco prints in JSON output (`Warning`, `Informational`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A `list` as collected.
#[derive(Debug, Clone)]
pub(crate) struct ListInfo {
    pub name: String,
    pub items: Vec<String>,
    /// Order of first definition (shared counter with macros and rules).
    pub index: u32,
    /// Counter value at the last definition or append.
    pub visibility: u32,
}

/// A `macro` as collected.
#[derive(Debug, Clone)]
pub(crate) struct MacroInfo {
    pub name: String,
    pub condition: String,
    pub index: u32,
    pub visibility: u32,
    pub location: Location,
}

/// One value (or list of values) of a rule exception's `fields`, `comps` or `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExEntry {
    Item(String),
    List(Vec<ExEntry>),
}

/// A rule exception as collected.
#[derive(Debug, Clone)]
pub(crate) struct ExceptionInfo {
    pub name: String,
    pub fields: Option<ExEntry>,
    pub comps: Option<ExEntry>,
    pub values: Vec<ExEntry>,
    pub location: Location,
}

/// A `rule` as collected.
#[derive(Debug, Clone)]
pub(crate) struct RuleInfo {
    pub name: String,
    pub condition: String,
    pub output: String,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub enabled: bool,
    pub tags: BTreeSet<String>,
    pub exceptions: Vec<ExceptionInfo>,
    pub skip_if_unknown_filter: bool,
    pub location: Location,
    pub condition_location: Location,
    pub output_location: Location,
}

/// Items of one kind in order of first definition, found by name.
#[derive(Debug, Clone)]
pub(crate) struct Indexed<T> {
    pub items: Vec<T>,
    by_name: std::collections::HashMap<String, usize>,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed { items: Vec::new(), by_name: Default::default() }
    }
}

impl<T> Indexed<T> {
    pub fn get(&self, name: &str) -> Option<&T> {
        self.by_name.get(name).map(|&i| &self.items[i])
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        self.by_name.get(name).map(|&i| &mut self.items[i])
    }

    /// Defines `item`: replaces an earlier one in place, or appends.
    fn define(&mut self, name: &str, item: T) {
        match self.by_name.get(name) {
            Some(&i) => self.items[i] = item,
            None => {
                self.by_name.insert(name.to_string(), self.items.len());
                self.items.push(item);
            }
        }
    }
}

/// The rule sources this engine can evaluate.
pub const KNOWN_SOURCES: &[&str] = &[crate::fields::SOURCE];

/// Collects rule files in order. [`RuleLoader::compile`] turns the result into a
/// [`crate::Ruleset`].
#[derive(Debug, Default, Clone)]
pub struct RuleLoader {
    pub(crate) lists: Indexed<ListInfo>,
    pub(crate) macros: Indexed<MacroInfo>,
    pub(crate) rules: Indexed<RuleInfo>,
    counter: u32,
    pub(crate) notices: Vec<Notice>,
    /// Highest `required_engine_version` seen, as (major, minor, patch).
    pub(crate) required_engine_version: Option<(u64, u64, u64)>,
    /// `required_plugin_versions` entries: alternatives of (plugin, version).
    pub(crate) required_plugins: Vec<Vec<(String, String)>>,
}

struct Ctx<'a> {
    file: &'a Arc<str>,
}

impl Ctx<'_> {
    fn loc(&self, node: &Node) -> Location {
        Location { file: self.file.clone(), line: node.pos.line, column: node.pos.column }
    }

    /// Where `key` is written in the mapping `item`.
    fn key_loc(&self, item: &Node, key: &str) -> Location {
        let pos = item.key_pos(key);
        Location { file: self.file.clone(), line: pos.line, column: pos.column }
    }

    fn err(&self, node: &Node, message: impl Into<String>) -> RuleError {
        RuleError::at(&self.loc(node), message)
    }
}

impl RuleLoader {
    /// An empty loader.
    pub fn new() -> RuleLoader {
        RuleLoader::default()
    }

    /// Reads and loads a rules file.
    pub fn load_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RuleError::Read { file: path.display().to_string(), message: e.to_string() })?;
        self.load_str(&path.display().to_string(), &text)
    }

    /// Loads rules from text; `name` names the file in errors and notices. Like Falco, loading
    /// stops at the first error in a file (items before it stay loaded).
    pub fn load_str(&mut self, name: &str, text: &str) -> Result<(), RuleError> {
        let file: Arc<str> = Arc::from(name);
        let ctx = Ctx { file: &file };
        let mut docs = parse_documents(text);
        let indentation_error = |docs: &[Result<kubesecops_k8s::Document, kubesecops_k8s::ParseError>]| {
            docs.iter().any(|d| d.as_ref().is_err_and(|e| e.message.contains("invalid indentation")))
        };
        if indentation_error(&docs) {
            // yaml-cpp (Falco's parser) accepts flow collections whose continuation lines are
            // not indented past their key; indent those lines and try again.
            if let Some(fixed) = indent_flow_continuations(text) {
                let retry = parse_documents(&fixed);
                if !indentation_error(&retry) {
                    docs = retry;
                }
            }
        }
        for doc in docs {
            let doc = doc.map_err(|e| {
                RuleError::at(&Location { file: file.clone(), line: e.line, column: e.column }, e.message)
            })?;
            let Some(root) = doc.root else { continue };
            let Value::Seq(items) = &root.value else {
                return Err(ctx.err(&root, "Rules content is not yaml array of objects"));
            };
            for item in items {
                if item.is_null() {
                    continue;
                }
                self.read_item(&ctx, item)?;
            }
        }
        Ok(())
    }

    /// Notices gathered while loading.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    fn notice(&mut self, location: Location, message: impl Into<String>) {
        self.notices.push(Notice { location, message: message.into() });
    }

    fn next_index(&mut self) -> u32 {
        let index = self.counter;
        self.counter += 1;
        index
    }

    fn read_item(&mut self, ctx: &Ctx<'_>, item: &Node) -> Result<(), RuleError> {
        if !item.is_map() {
            return Err(
                ctx.err(item, "Unexpected element type. Each element should be a yaml associative array.")
            );
        }
        if item.entry("required_engine_version").is_some() {
            self.read_engine_version(ctx, item)
        } else if item.entry("required_plugin_versions").is_some() {
            self.read_plugin_versions(ctx, item)
        } else if item.entry("list").is_some() {
            self.read_list(ctx, item)
        } else if item.entry("macro").is_some() {
            self.read_macro(ctx, item)
        } else if item.entry("rule").is_some() {
            self.read_rule(ctx, item)
        } else {
            self.notice(ctx.loc(item), "Unknown top level item");
            Ok(())
        }
    }

    fn read_engine_version(&mut self, ctx: &Ctx<'_>, item: &Node) -> Result<(), RuleError> {
        let text = scalar(ctx, item, "required_engine_version")?;
        let version = if let Ok(minor) = text.parse::<u64>() {
            (0, minor, 0)
        } else {
            parse_semver(text).ok_or_else(|| {
                ctx.err(
                    item,
                    format!("Unable to parse engine version '{text}' as a semver string. Expected \"x.y.z\" semver format."),
                )
            })?
        };
        if version > ENGINE_VERSION {
            let (a, b, c) = ENGINE_VERSION;
            self.notice(
                ctx.loc(item),
                format!("rules require engine version {text}, newer than the modelled {a}.{b}.{c}; loading anyway"),
            );
        }
        if self.required_engine_version.is_none_or(|v| v < version) {
            self.required_engine_version = Some(version);
        }
        warn_unknown_keys(self, ctx, item, &["required_engine_version"]);
        Ok(())
    }

    fn read_plugin_versions(&mut self, ctx: &Ctx<'_>, item: &Node) -> Result<(), RuleError> {
        let node = &item.entry("required_plugin_versions").expect("checked").value;
        if !node.is_seq() {
            return Err(ctx.err(node, "Value of required_plugin_versions must be a sequence"));
        }
        for plugin in node.items() {
            if !plugin.is_map() {
                return Err(ctx.err(plugin, "Plugin version must be a mapping"));
            }
            let mut alternatives = vec![plugin_requirement(ctx, plugin)?];
            if let Some(alts) = plugin.entry("alternatives") {
                if !alts.value.is_seq() {
                    return Err(
                        ctx.err(&alts.value, "Value of plugin version alternatives must be a sequence")
                    );
                }
                for alt in alts.value.items() {
                    if !alt.is_map() {
                        return Err(ctx.err(alt, "Plugin version alternative must be a mapping"));
                    }
                    alternatives.push(plugin_requirement(ctx, alt)?);
                }
            }
            self.required_plugins.push(alternatives);
        }
        warn_unknown_keys(self, ctx, item, &["required_plugin_versions"]);
        Ok(())
    }

    fn read_list(&mut self, ctx: &Ctx<'_>, item: &Node) -> Result<(), RuleError> {
        let name = scalar(ctx, item, "list")?.to_string();
        let items_node =
            &item.entry("items").ok_or_else(|| ctx.err(item, "Item has no mapping for key 'items'"))?.value;
        if !items_node.is_seq() {
            return Err(ctx.err(items_node, "Value is not a sequence"));
        }
        let mut items = Vec::new();
        for v in items_node.items() {
            match &v.value {
                Value::Scalar(s) => items.push(s.text.clone()),
                _ => return Err(ctx.err(v, "sequence value is not scalar")),
            }
        }
        let append_flag = optional_bool(ctx, item, "append")?.unwrap_or(false);
        let (append_over, replace_over) = overrides(ctx, item, &["items"], &["items"])?;
        if append_flag && !(append_over.is_empty() && replace_over.is_empty()) {
            return Err(ctx.err(item, ERROR_OVERRIDE_APPEND));
        }
        let append = append_flag || append_over.iter().any(|k| k == "items");
        let index = self.next_index();
        if append {
            match self.lists.get_mut(&name) {
                Some(prev) => {
                    prev.items.extend(items);
                    prev.visibility = index;
                }
                None => {
                    // Falco refuses this. Lists are appended to in order to trust more images
                    // or names, and rule sets move lists between files across versions, so one
                    // missing list would stop every rule from loading: define it, and say so.
                    self.notice(
                        ctx.loc(item),
                        format!(
                            "list {name} is appended to but was not defined before: defined here \
                             (Falco rejects this)"
                        ),
                    );
                    let list = ListInfo { name: name.clone(), items, index, visibility: index };
                    self.lists.define(&name, list);
                }
            }
        } else {
            let first = self.lists.get(&name).map_or(index, |prev| prev.index);
            self.lists.define(&name, ListInfo { name: name.clone(), items, index: first, visibility: index });
        }
        warn_unknown_keys(self, ctx, item, &["list", "items", "append", "override"]);
        Ok(())
    }

    fn read_macro(&mut self, ctx: &Ctx<'_>, item: &Node) -> Result<(), RuleError> {
        let name = scalar(ctx, item, "macro")?.to_string();
        let condition = scalar(ctx, item, "condition")?.to_string();
        let append_flag = optional_bool(ctx, item, "append")?.unwrap_or(false);
        let (append_over, replace_over) = overrides(ctx, item, &["condition"], &["condition"])?;
        if append_flag && !(append_over.is_empty() && replace_over.is_empty()) {
            return Err(ctx.err(item, ERROR_OVERRIDE_APPEND));
        }
        let append = append_flag || append_over.iter().any(|k| k == "condition");
        let location = ctx.key_loc(item, "condition");
        let index = self.next_index();
        if append {
            let prev = self.macros.get_mut(&name).ok_or_else(|| {
                RuleError::at(&ctx.loc(item), "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists")
            })?;
            prev.condition.push(' ');
            prev.condition.push_str(&condition);
            prev.visibility = index;
        } else {
            let first = self.macros.get(&name).map_or(index, |prev| prev.index);
            self.macros.define(
                &name,
                MacroInfo { name: name.clone(), condition, index: first, visibility: index, location },
            );
        }
        warn_unknown_keys(self, ctx, item, &["macro", "condition", "append", "override"]);
        Ok(())
    }

    fn read_rule(&mut self, ctx: &Ctx<'_>, item: &Node) -> Result<(), RuleError> {
        const APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
        const REPLACEABLE: &[&str] = &[
            "condition",
            "output",
            "desc",
            "priority",
            "capture",
            "capture_duration",
            "tags",
            "exceptions",
            "enabled",
            "warn_evttypes",
            "skip-if-unknown-filter",
        ];
        let name = scalar(ctx, item, "rule")?.to_string();
        let source = optional_scalar(ctx, item, "source", true)?.unwrap_or_default().to_string();
        let append_flag = optional_bool(ctx, item, "append")?.unwrap_or(false);
        let (append_over, replace_over) = overrides(ctx, item, APPENDABLE, REPLACEABLE)?;
        let has_overrides = !append_over.is_empty() || !replace_over.is_empty();
        if append_flag && has_overrides {
            return Err(ctx.err(item, ERROR_OVERRIDE_APPEND));
        }
        let location = ctx.loc(item);
        if let Some(prev) = self.rules.get(&name) {
            if !prev.source.is_empty() && !source.is_empty() && prev.source != source {
                return Err(ctx.err(item, "Rule has been re-defined with a different source"));
            }
        }

        if has_overrides {
            // Keys present in the item that an override may touch; each must be named under
            // `override`.
            let mut expected: BTreeSet<&str> =
                APPENDABLE.iter().chain(REPLACEABLE).copied().filter(|k| item.entry(k).is_some()).collect();
            let mut take = |key: &str, kind: &str, list: &[String]| -> Result<bool, RuleError> {
                if !list.iter().any(|k| k == key) {
                    return Ok(false);
                }
                if !expected.remove(key) {
                    return Err(ctx.err(
                        item,
                        format!("An {kind} override for '{key}' was specified but '{key}' is not defined"),
                    ));
                }
                Ok(true)
            };
            let mut update = RuleUpdate::default();
            if !append_over.is_empty() {
                if take("condition", "append", &append_over)? {
                    update.condition = Some(scalar(ctx, item, "condition")?.to_string());
                }
                if take("exceptions", "append", &append_over)? {
                    update.exceptions = Some(read_exceptions(ctx, item, true)?);
                }
                if take("output", "append", &append_over)? {
                    update.output = Some(scalar(ctx, item, "output")?.to_string());
                }
                if take("desc", "append", &append_over)? {
                    update.desc = Some(scalar(ctx, item, "desc")?.to_string());
                }
                if take("tags", "append", &append_over)? {
                    update.tags = Some(read_tags(ctx, item)?);
                }
                self.append_rule(ctx, item, &name, std::mem::take(&mut update))?;
            }
            if !replace_over.is_empty() {
                if take("condition", "replace", &replace_over)? {
                    update.condition = Some(scalar(ctx, item, "condition")?.to_string());
                }
                if take("exceptions", "replace", &replace_over)? {
                    update.exceptions = Some(read_exceptions(ctx, item, false)?);
                }
                if take("output", "replace", &replace_over)? {
                    update.output = Some(scalar(ctx, item, "output")?.to_string());
                }
                if take("desc", "replace", &replace_over)? {
                    update.desc = Some(scalar(ctx, item, "desc")?.to_string());
                }
                if take("tags", "replace", &replace_over)? {
                    update.tags = Some(read_tags(ctx, item)?);
                }
                if take("priority", "replace", &replace_over)? {
                    update.priority = Some(read_priority(ctx, item)?);
                }
                if take("enabled", "replace", &replace_over)? {
                    update.enabled = optional_bool(ctx, item, "enabled")?;
                }
                if take("skip-if-unknown-filter", "replace", &replace_over)? {
                    update.skip_if_unknown_filter = optional_bool(ctx, item, "skip-if-unknown-filter")?;
                }
                for key in ["capture", "capture_duration", "warn_evttypes"] {
                    take(key, "replace", &replace_over)?;
                }
                self.replace_rule(ctx, item, &name, update)?;
            }
            if let Some(key) = expected.into_iter().next() {
                return Err(ctx.err(
                    item,
                    format!("Unexpected key '{key}': no corresponding entry under 'override' is defined."),
                ));
            }
        } else if append_flag {
            let mut update = RuleUpdate::default();
            if item.entry("condition").is_some() {
                update.condition = Some(scalar(ctx, item, "condition")?.to_string());
            }
            if item.entry("exceptions").is_some() {
                update.exceptions = Some(read_exceptions(ctx, item, true)?);
            }
            self.append_rule(ctx, item, &name, update)?;
        } else if ["condition", "output", "desc", "priority"].iter().all(|k| item.entry(k).is_none()) {
            // A rule item with only `enabled` switches an earlier rule on or off.
            let enabled = optional_bool(ctx, item, "enabled")?
                .ok_or_else(|| ctx.err(item, "Item has no mapping for key 'enabled'"))?;
            let prev = self.rules.get_mut(&name).ok_or_else(|| {
                ctx.err(item, "Rule has 'enabled' key but no rule by that name already exists")
            })?;
            prev.enabled = enabled;
        } else {
            let condition = scalar(ctx, item, "condition")?.to_string();
            let output = scalar(ctx, item, "output")?.trim().to_string();
            let desc = scalar(ctx, item, "desc")?.to_string();
            let priority = read_priority(ctx, item)?;
            let source = if source.is_empty() { "syscall".to_string() } else { source };
            let enabled = optional_bool(ctx, item, "enabled")?.unwrap_or(true);
            let skip_if_unknown_filter = optional_bool(ctx, item, "skip-if-unknown-filter")?.unwrap_or(false);
            let tags = read_tags(ctx, item)?;
            let exceptions = read_exceptions(ctx, item, false)?;
            for ex in &exceptions {
                if ex.fields.is_none() {
                    return Err(RuleError::at(
                        &ex.location,
                        "Rule exception item must have fields property with a list of fields",
                    ));
                }
            }
            self.next_index();
            let condition_location = ctx.key_loc(item, "condition");
            let output_location = ctx.key_loc(item, "output");
            self.rules.define(
                &name,
                RuleInfo {
                    name: name.clone(),
                    condition,
                    output,
                    desc,
                    priority,
                    source,
                    enabled,
                    tags,
                    exceptions,
                    skip_if_unknown_filter,
                    location,
                    condition_location,
                    output_location,
                },
            );
        }
        warn_unknown_keys(
            self,
            ctx,
            item,
            &[
                "rule",
                "condition",
                "output",
                "desc",
                "priority",
                "source",
                "enabled",
                "capture",
                "capture_duration",
                "warn_evttypes",
                "skip-if-unknown-filter",
                "tags",
                "exceptions",
                "override",
                "append",
            ],
        );
        Ok(())
    }

    fn append_rule(
        &mut self,
        ctx: &Ctx<'_>,
        item: &Node,
        name: &str,
        update: RuleUpdate,
    ) -> Result<(), RuleError> {
        self.next_index();
        let prev = self.rules.get_mut(name).ok_or_else(|| {
            ctx.err(
                item,
                "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
            )
        })?;
        if update.is_empty() {
            return Err(ctx.err(item, "Appended rule must have exceptions or condition property"));
        }
        if let Some(cond) = update.condition.filter(|c| !c.is_empty()) {
            prev.condition.push(' ');
            prev.condition.push_str(&cond);
        }
        if let Some(output) = update.output.filter(|c| !c.is_empty()) {
            prev.output.push(' ');
            prev.output.push_str(&output);
        }
        if let Some(desc) = update.desc.filter(|c| !c.is_empty()) {
            prev.desc.push(' ');
            prev.desc.push_str(&desc);
        }
        if let Some(tags) = update.tags {
            prev.tags.extend(tags);
        }
        for ex in update.exceptions.unwrap_or_default() {
            match prev.exceptions.iter_mut().find(|p| p.name == ex.name) {
                None => {
                    if ex.fields.is_none() {
                        return Err(RuleError::at(
                            &ex.location,
                            "Rule exception must have fields property with a list of fields",
                        ));
                    }
                    if ex.values.is_empty() {
                        return Err(RuleError::at(
                            &ex.location,
                            "Rule exception must have values property with a list of values",
                        ));
                    }
                    prev.exceptions.push(ex);
                }
                Some(existing) => {
                    if ex.fields.is_some() {
                        return Err(RuleError::at(
                            &ex.location,
                            "Can not append exception fields to existing exception, only values",
                        ));
                    }
                    if ex.comps.is_some() {
                        return Err(RuleError::at(
                            &ex.location,
                            "Can not append exception comps to existing exception, only values",
                        ));
                    }
                    existing.values.extend(ex.values);
                }
            }
        }
        Ok(())
    }

    fn replace_rule(
        &mut self,
        ctx: &Ctx<'_>,
        item: &Node,
        name: &str,
        update: RuleUpdate,
    ) -> Result<(), RuleError> {
        self.next_index();
        let prev = self.rules.get_mut(name).ok_or_else(|| {
            ctx.err(item, "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists")
        })?;
        if update.is_empty() && update.priority.is_none() && update.enabled.is_none() {
            return Err(ctx.err(item, "The rule must have at least one field that can be replaced"));
        }
        if let Some(v) = update.condition {
            prev.condition = v;
        }
        if let Some(v) = update.output {
            prev.output = v;
        }
        if let Some(v) = update.desc {
            prev.desc = v;
        }
        if let Some(v) = update.tags {
            prev.tags = v;
        }
        if let Some(v) = update.exceptions {
            prev.exceptions = v;
        }
        if let Some(v) = update.priority {
            prev.priority = v;
        }
        if let Some(v) = update.enabled {
            prev.enabled = v;
        }
        if let Some(v) = update.skip_if_unknown_filter {
            prev.skip_if_unknown_filter = v;
        }
        Ok(())
    }
}

const ERROR_OVERRIDE_APPEND: &str = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";

#[derive(Debug, Default)]
struct RuleUpdate {
    condition: Option<String>,
    output: Option<String>,
    desc: Option<String>,
    tags: Option<BTreeSet<String>>,
    exceptions: Option<Vec<ExceptionInfo>>,
    priority: Option<Priority>,
    enabled: Option<bool>,
    skip_if_unknown_filter: Option<bool>,
}

impl RuleUpdate {
    fn is_empty(&self) -> bool {
        self.condition.is_none()
            && self.output.is_none()
            && self.desc.is_none()
            && self.tags.is_none()
            && self.exceptions.is_none()
    }
}

fn warn_unknown_keys(loader: &mut RuleLoader, ctx: &Ctx<'_>, item: &Node, expected: &[&str]) {
    for entry in item.entries() {
        if !expected.contains(&entry.key.as_str()) {
            let location =
                Location { file: ctx.file.clone(), line: entry.key_pos.line, column: entry.key_pos.column };
            loader.notice(location, format!("Unknown key '{}'. The key will be ignored.", entry.key));
        }
    }
}

/// A required, non-empty scalar.
fn scalar<'n>(ctx: &Ctx<'_>, item: &'n Node, key: &str) -> Result<&'n str, RuleError> {
    optional_scalar(ctx, item, key, false)?
        .ok_or_else(|| ctx.err(item, format!("Item has no mapping for key '{key}'")))
}

fn optional_scalar<'n>(
    ctx: &Ctx<'_>,
    item: &'n Node,
    key: &str,
    can_be_empty: bool,
) -> Result<Option<&'n str>, RuleError> {
    let Some(entry) = item.entry(key) else {
        return Ok(None);
    };
    let value = &entry.value;
    if value.is_null() {
        if can_be_empty {
            return Ok(None);
        }
        return Err(ctx.err(value, format!("Mapping for key '{key}' is empty")));
    }
    match &value.value {
        Value::Scalar(s) if s.text.is_empty() && !can_be_empty => {
            Err(ctx.err(value, format!("Value for key '{key}' must be non-empty")))
        }
        Value::Scalar(s) => Ok(Some(&s.text)),
        _ => Err(ctx.err(value, format!("Value for key '{key}' is not a scalar value"))),
    }
}

fn optional_bool(ctx: &Ctx<'_>, item: &Node, key: &str) -> Result<Option<bool>, RuleError> {
    let Some(text) = optional_scalar(ctx, item, key, false)? else {
        return Ok(None);
    };
    let value = &item.entry(key).expect("present").value;
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Ok(Some(true)),
        "false" | "no" | "off" | "n" => Ok(Some(false)),
        _ => Err(ctx.err(value, format!("Can't decode YAML scalar value for key '{key}' as a boolean"))),
    }
}

fn read_priority(ctx: &Ctx<'_>, item: &Node) -> Result<Priority, RuleError> {
    let text = scalar(ctx, item, "priority")?;
    Priority::parse(text)
        .ok_or_else(|| ctx.err(&item.entry("priority").expect("present").value, "Invalid priority"))
}

fn read_tags(ctx: &Ctx<'_>, item: &Node) -> Result<BTreeSet<String>, RuleError> {
    let Some(entry) = item.entry("tags") else {
        return Ok(BTreeSet::new());
    };
    if !entry.value.is_seq() {
        return Err(ctx.err(&entry.value, "Value is not a sequence"));
    }
    entry
        .value
        .items()
        .iter()
        .map(|v| match &v.value {
            Value::Scalar(s) => Ok(s.text.clone()),
            _ => Err(ctx.err(v, "sequence value is not scalar")),
        })
        .collect()
}

/// The `override` mapping: keys to append and keys to replace.
fn overrides(
    ctx: &Ctx<'_>,
    item: &Node,
    appendable: &[&str],
    replaceable: &[&str],
) -> Result<(Vec<String>, Vec<String>), RuleError> {
    let Some(entry) = item.entry("override") else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (mut append, mut replace) = (Vec::new(), Vec::new());
    for e in entry.value.entries() {
        let key_loc = Location { file: ctx.file.clone(), line: e.key_pos.line, column: e.key_pos.column };
        let operation = e.value.as_str().unwrap_or_default();
        let can_append = appendable.contains(&e.key.as_str());
        let can_replace = replaceable.contains(&e.key.as_str());
        match operation {
            "append" if can_append => append.push(e.key.clone()),
            "append" => {
                return Err(RuleError::at(
                    &key_loc,
                    format!("Key '{}' cannot be appended to, use 'replace' instead", e.key),
                ))
            }
            "replace" if can_replace => replace.push(e.key.clone()),
            "replace" => return Err(RuleError::at(&key_loc, format!("Key '{}' cannot be replaced", e.key))),
            other => {
                let mut allowed = Vec::new();
                if can_append {
                    allowed.push("append");
                }
                if can_replace {
                    allowed.push("replace");
                }
                return Err(RuleError::at(
                    &key_loc,
                    format!(
                        "Invalid override operation for key '{}': '{other}'. Allowed values are: {}",
                        e.key,
                        allowed.join(" ")
                    ),
                ));
            }
        }
    }
    Ok((append, replace))
}

fn plugin_requirement(ctx: &Ctx<'_>, node: &Node) -> Result<(String, String), RuleError> {
    let name = scalar(ctx, node, "name")?.to_string();
    let version = scalar(ctx, node, "version")?.to_string();
    if parse_semver(&version).is_none() {
        return Err(ctx.err(node, format!("Invalid required version '{version}' for plugin '{name}'")));
    }
    Ok((name, version))
}

/// Indents the continuation lines of multi-line flow collections (`items: [` ... `]`) that are
/// not indented past the line where the collection opens. Inside a flow collection leading
/// whitespace carries no meaning, so values are unchanged and line numbers are kept. Returns
/// `None` when no line needed it.
fn indent_flow_continuations(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut depth = 0usize;
    let mut open_indent = 0usize;
    let mut quote: Option<char> = None;
    let mut block_scalar_indent: Option<usize> = None;
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim();
        if let Some(parent) = block_scalar_indent {
            if body.is_empty() || indent > parent {
                out.push_str(line);
                continue;
            }
            block_scalar_indent = None;
        }
        if (depth > 0 || quote.is_some()) && indent <= open_indent && !body.is_empty() {
            out.push_str(&" ".repeat(open_indent + 2 - indent));
            changed = true;
        }
        out.push_str(line);
        let line_start_depth = depth;
        let mut prev = ' ';
        let mut at_value_start = depth == 0;
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some('\'') if c == '\'' => {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
                Some('"') if c == '\\' => i += 1,
                Some('"') if c == '"' => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if prev.is_whitespace() => break,
                    '\'' | '"' if depth > 0 || at_value_start => {
                        if depth == 0 {
                            open_indent = indent;
                        }
                        quote = Some(c);
                    }
                    '[' | '{' if depth > 0 || at_value_start => {
                        if depth == 0 {
                            open_indent = indent;
                        }
                        depth += 1;
                    }
                    ']' | '}' if depth > 0 => depth -= 1,
                    '>' | '|' if depth == 0 && at_value_start => {
                        let rest: String = chars[i + 1..].iter().collect();
                        if rest.trim().chars().all(|r| r.is_ascii_digit() || r == '-' || r == '+') {
                            block_scalar_indent = Some(indent);
                        }
                        break;
                    }
                    _ => {}
                },
            }
            // A value starts at the line start, after `- ` or after `: ` (block context).
            at_value_start = depth == 0
                && quote.is_none()
                && (c.is_whitespace() && (at_value_start || prev == ':' || prev == '-'));
            prev = c;
            i += 1;
        }
        if line_start_depth == 0 && depth == 0 && quote.is_none() {
            open_indent = indent;
        }
    }
    changed.then_some(out)
}

fn parse_semver(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>());
    let v = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next()?.ok()?);
    parts.next().is_none().then_some(v)
}

fn read_exceptions(ctx: &Ctx<'_>, item: &Node, append: bool) -> Result<Vec<ExceptionInfo>, RuleError> {
    let Some(entry) = item.entry("exceptions") else {
        return Ok(Vec::new());
    };
    if entry.value.is_null() {
        return Ok(Vec::new());
    }
    if !entry.value.is_seq() {
        return Err(ctx.err(&entry.value, "Rule exceptions must be a sequence"));
    }
    let mut out: Vec<ExceptionInfo> = Vec::new();
    for ex in entry.value.items() {
        if !ex.is_map() {
            return Err(ctx.err(ex, "Rule exception must be a mapping"));
        }
        let name = scalar(ctx, ex, "name")?.to_string();
        let fields = match ex.entry("fields") {
            Some(e) => Some(exception_entry(ctx, &e.value)?),
            None if append => None,
            None => return Err(ctx.err(ex, "Item has no mapping for key 'fields'")),
        };
        let comps = ex.entry("comps").map(|e| exception_entry(ctx, &e.value)).transpose()?;
        let mut values = Vec::new();
        if let Some(vals) = ex.entry("values") {
            if !vals.value.is_seq() {
                return Err(ctx.err(&vals.value, "Rule exception values must be a sequence"));
            }
            for v in vals.value.items() {
                values.push(exception_entry(ctx, v)?);
            }
        }
        out.push(ExceptionInfo { name, fields, comps, values, location: ctx.loc(ex) });
    }
    Ok(out)
}

fn exception_entry(ctx: &Ctx<'_>, node: &Node) -> Result<ExEntry, RuleError> {
    match &node.value {
        Value::Scalar(s) if s.text.is_empty() => Err(ctx.err(node, "Value must be non-empty")),
        Value::Scalar(s) => Ok(ExEntry::Item(s.text.clone())),
        Value::Seq(items) => {
            items.iter().map(|v| exception_entry(ctx, v)).collect::<Result<_, _>>().map(ExEntry::List)
        }
        Value::Map(_) => Err(ctx.err(node, "Expected a scalar or a sequence")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<RuleLoader, RuleError> {
        let mut loader = RuleLoader::new();
        loader.load_str("test.yaml", text)?;
        Ok(loader)
    }

    const BASE: &str = "
- list: users
  items: [a, b]
- macro: m
  condition: ka.verb=get
- rule: R
  desc: d
  condition: m
  output: out
  priority: WARNING
  source: k8s_audit
  tags: [k8s]
";

    #[test]
    fn priorities_parse_and_order() {
        assert_eq!(Priority::parse("info"), Some(Priority::Informational));
        assert_eq!(Priority::parse("WARNING"), Some(Priority::Warning));
        assert_eq!(Priority::parse("Emergency"), Some(Priority::Emergency));
        assert_eq!(Priority::parse("loud"), None);
        assert!(Priority::Critical < Priority::Warning, "more severe sorts first");
        assert_eq!(Priority::Error.severity(), kubesecops_core::Severity::High);
        assert_eq!(Priority::Debug.severity(), kubesecops_core::Severity::Low);
    }

    #[test]
    fn collects_items_with_defaults() {
        let loader = load(BASE).unwrap();
        let rule = loader.rules.get("R").unwrap();
        assert_eq!(rule.priority, Priority::Warning);
        assert!(rule.enabled);
        assert_eq!(rule.source, "k8s_audit");
        assert_eq!(rule.condition_location.line, 8);
        assert_eq!(loader.lists.get("users").unwrap().items, ["a", "b"]);
    }

    #[test]
    fn appending_to_an_undefined_list_defines_it_with_a_notice() {
        let mut loader = load(BASE).unwrap();
        loader.load_str("trust.yaml", "- list: trusted_images\n  items: [nginx]\n  append: true\n").unwrap();
        assert_eq!(loader.lists.get("trusted_images").unwrap().items, ["nginx"]);
        let notice = loader.notices().iter().find(|n| n.message.contains("trusted_images")).unwrap();
        assert_eq!((notice.location.line, notice.message.contains("not defined")), (1, true));
    }

    #[test]
    fn append_and_override_merge_in_order() {
        let mut loader = load(BASE).unwrap();
        loader
            .load_str(
                "more.yaml",
                "
- list: users
  items: [c]
  append: true
- macro: m
  condition: or ka.verb=list
  append: true
- rule: R
  condition: and ka.user.name=x
  append: true
- rule: R
  priority: ERROR
  tags: [extra]
  override:
    priority: replace
    tags: append
- rule: R
  enabled: false
",
            )
            .unwrap();
        assert_eq!(loader.lists.get("users").unwrap().items, ["a", "b", "c"]);
        assert_eq!(loader.macros.get("m").unwrap().condition, "ka.verb=get or ka.verb=list");
        let rule = loader.rules.get("R").unwrap();
        assert_eq!(rule.condition, "m and ka.user.name=x");
        assert_eq!(rule.priority, Priority::Error);
        assert_eq!(rule.tags.iter().collect::<Vec<_>>(), ["extra", "k8s"]);
        assert!(!rule.enabled);
    }

    #[test]
    fn redefinition_keeps_the_original_position() {
        let mut loader = load(BASE).unwrap();
        loader
            .load_str("b.yaml", "- rule: First\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n")
            .unwrap();
        loader.load_str("c.yaml", "- rule: R\n  desc: d2\n  condition: m\n  output: o2\n  priority: DEBUG\n  source: k8s_audit\n").unwrap();
        let names: Vec<_> = loader.rules.items.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["R", "First"]);
        assert_eq!(loader.rules.get("R").unwrap().output, "o2");
        assert_eq!(loader.rules.get("First").unwrap().source, "syscall");
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = load("- list: x\n  items: [a]\n- macro: y\n").unwrap_err();
        assert_eq!(err.to_string(), "test.yaml:3:3: Item has no mapping for key 'condition'");
        let err = load("- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: LOUD\n").unwrap_err();
        assert_eq!(err.to_string(), "test.yaml:5:13: Invalid priority");
        let err = load("- just a string\n").unwrap_err();
        assert!(err.to_string().contains("associative array"), "{err}");
        let err = load("key: value\n").unwrap_err();
        assert!(err.to_string().contains("not yaml array"), "{err}");
        let err = load("- list: [unclosed\n").unwrap_err();
        assert!(err.to_string().starts_with("test.yaml:"), "{err}");
        let err = load(&format!(
            "{BASE}- rule: R\n  desc: d\n  condition: c\n  output: o\n  priority: INFO\n  source: syscall\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("different source"), "{err}");
    }

    #[test]
    fn override_requires_named_keys() {
        let err = load(&format!(
            "{BASE}- rule: R\n  condition: x\n  output: y\n  override:\n    condition: append\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("Unexpected key 'output'"), "{err}");
        let err = load(&format!("{BASE}- rule: R\n  priority: INFO\n  override:\n    priority: append\n"))
            .unwrap_err();
        assert!(err.to_string().contains("cannot be appended"), "{err}");
    }

    #[test]
    fn engine_and_plugin_versions_are_accepted() {
        let loader = load(
            "- required_engine_version: 15\n- required_plugin_versions:\n  - name: k8saudit\n    version: 0.6.0\n    alternatives:\n      - name: k8saudit-eks\n        version: 0.2.0\n- required_engine_version: 0.99.0\n",
        )
        .unwrap();
        assert_eq!(loader.required_engine_version, Some((0, 99, 0)));
        assert_eq!(loader.required_plugins.len(), 1);
        assert_eq!(loader.required_plugins[0].len(), 2);
        assert_eq!(loader.notices.len(), 1, "{:?}", loader.notices);
        assert!(load("- required_engine_version: banana\n").is_err());
    }

    #[test]
    fn null_items_and_unknown_keys() {
        let loader = load("-\n- list: x\n  items: []\n  colour: red\n- something: else\n").unwrap();
        assert_eq!(loader.notices.len(), 2);
        assert_eq!(loader.notices[0].location.line, 4);
    }

    #[test]
    fn flow_collections_with_dedented_closers_load_as_in_falco() {
        let text = "- list: x\n  items: [\n    \"a\",\n    \"b\"\n  ]\n- macro: m\n  condition: >\n    ka.verb in (x)\n";
        let loader = load(text).unwrap();
        assert_eq!(loader.lists.get("x").unwrap().items, ["a", "b"]);
        assert_eq!(loader.macros.get("m").unwrap().location.line, 7);
        assert_eq!(indent_flow_continuations("a: [\n  b\n]\n").as_deref(), Some("a: [\n  b\n  ]\n"));
        assert_eq!(indent_flow_continuations("a: x # [\nb: '[' \n"), None);
    }

    #[test]
    fn exceptions_are_read_and_appended() {
        let mut loader = load(&format!(
            "{BASE}  exceptions:\n  - name: e1\n    fields: [ka.user.name, ka.verb]\n    values:\n    - [alice, get]\n"
        ))
        .unwrap();
        loader
            .load_str(
                "x.yaml",
                "- rule: R\n  exceptions:\n  - name: e1\n    values:\n    - [bob, list]\n  append: true\n",
            )
            .unwrap();
        let rule = loader.rules.get("R").unwrap();
        assert_eq!(rule.exceptions.len(), 1);
        assert_eq!(rule.exceptions[0].values.len(), 2);
        let err = loader
            .load_str(
                "y.yaml",
                "- rule: R\n  exceptions:\n  - name: e2\n    fields: [ka.verb]\n  append: true\n",
            )
            .unwrap_err();
        assert!(err.to_string().contains("values property"), "{err}");
    }
}
