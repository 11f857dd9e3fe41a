//! Loading gitleaks configuration files (`gitleaks.toml`) into a [`Ruleset`].
//!
//! The file is read as gitleaks reads it: keys are case-insensitive, unknown keys are
//! ignored, a single table stands for an array of one, and numbers may be written as
//! strings. Then it is checked as gitleaks checks it, and every problem is reported with
//! the file, the line and the reason:
//!
//! - each rule needs an `id` and a `regex` or a `path`; `secretGroup` must exist in the regex;
//! - an allowlist needs at least one of `commits`, `paths`, `regexes`, `stopwords`; its
//!   `condition` is `OR`/`AND` and its `regexTarget` is `secret`, `match` or `line`;
//! - the deprecated `[allowlist]` (and `[rules.allowlist]`) cannot be mixed with the
//!   `[[allowlists]]` form; `targetRules` and `[[rules.required]]` must name existing rules;
//! - `[extend]` takes `path` (another config, followed two levels deep) or `useDefault`
//!   (the built-in rules, matched by id or by their gitleaks alias), not both, and
//!   `disabledRules`. A rule of the extending config with the id of a base rule overrides the
//!   base's description, regex, path, entropy and secret group when it sets them, and adds
//!   its keywords, tags and allowlists.
//!
//! The regexes of a config and of the configs it extends may take
//! [`CONFIG_BUDGET`] together; the regex that would take more is an
//! error naming its rule (or allowlist) and line.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use kubesecops_core::Severity;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::allowlist::{Allowlist, AllowlistSpec, Condition, RegexTarget};
use crate::goregex::{Budget, CONFIG_BUDGET};
use crate::rule::{Required, Rule, RuleRegex};
use crate::scanner::Ruleset;

/// How deep `[extend] path` chains are followed (the top config is depth 0), as in gitleaks.
pub const MAX_EXTEND_DEPTH: usize = 2;

/// A config that could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file.
    pub path: String,
    /// 1-based line of the offending key, when known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// Options of [`load_file_with`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directory that relative `[extend] path`s are resolved against first. Gitleaks resolves
    /// them against the working directory; after this directory (when set) the working
    /// directory and then the directory of the extending file are tried.
    pub extend_base: Option<PathBuf>,
}

/// Loads a gitleaks config file.
pub fn load_file(path: &Path) -> Result<Ruleset, ConfigError> {
    load_file_with(path, &LoadOptions::default())
}

/// Loads a gitleaks config file with options.
pub fn load_file_with(path: &Path, options: &LoadOptions) -> Result<Ruleset, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.display().to_string(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let mut ruleset = load(&text, path, options)?;
    // The config names secrets' shapes (and allowlisted values): never scan it.
    ruleset.skip_paths.push(path.display().to_string());
    if let Ok(canonical) = path.canonicalize() {
        ruleset.skip_paths.push(canonical.display().to_string());
    }
    Ok(ruleset)
}

/// Parses a gitleaks config given as text; `path` names it in errors and anchors relative
/// extend paths.
pub fn load(text: &str, path: &Path, options: &LoadOptions) -> Result<Ruleset, ConfigError> {
    load_with_budget(text, path, options, CONFIG_BUDGET)
}

/// [`load`] with a regex budget of `budget` bytes instead of [`CONFIG_BUDGET`].
pub(crate) fn load_with_budget(
    text: &str,
    path: &Path,
    options: &LoadOptions,
    budget: usize,
) -> Result<Ruleset, ConfigError> {
    let mut loader = Loader { options, budget: Budget::new(budget) };
    let mut config = loader.translate(text, path, 0)?;
    config.finish()?;
    Ok(Ruleset {
        rules: config.rules.into_iter().map(|r| r.rule).collect(),
        allowlists: config.allowlists,
        title: config.title,
        skip_paths: Vec::new(),
        notes: config.notes,
    })
}

struct Loader<'o> {
    options: &'o LoadOptions,
    /// What the regexes compiled so far left of the config's budget.
    budget: Budget,
}

/// A rule with the line it was declared on.
struct Located {
    rule: Rule,
    line: Option<u32>,
}

/// A config after translation, before the final checks of the top-level file.
struct Translated {
    file: String,
    title: String,
    rules: Vec<Located>,
    allowlists: Vec<Allowlist>,
    /// `targetRules` allowlists, applied after extension: (rule id, allowlist, line).
    targeted: Vec<(String, Allowlist, Option<u32>)>,
    /// Notes for the user (see [`Ruleset::notes`]).
    notes: Vec<String>,
}

/// The document being read: its name and text (for line numbers).
struct Doc<'t> {
    file: String,
    text: &'t str,
}

impl Doc<'_> {
    fn line(&self, span: &Range<usize>) -> u32 {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() as u32 + 1
    }

    fn error(&self, span: Option<&Range<usize>>, message: impl Into<String>) -> ConfigError {
        ConfigError { path: self.file.clone(), line: span.map(|s| self.line(s)), message: message.into() }
    }
}

type Value<'i> = Spanned<DeValue<'i>>;

/// Case-insensitive key lookup, as gitleaks' config reader does.
fn get<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Value<'i>> {
    table.iter().find(|(k, _)| k.get_ref().eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Doc<'_> {
    fn string(&self, table: &DeTable<'_>, key: &str) -> Result<Option<String>, ConfigError> {
        match get(table, key) {
            None => Ok(None),
            Some(v) => {
                match v.get_ref() {
                    DeValue::String(s) => Ok(Some(s.to_string())),
                    DeValue::Integer(i) => Ok(Some(i.as_str().to_string())),
                    DeValue::Float(f) => Ok(Some(f.as_str().to_string())),
                    DeValue::Boolean(b) => Ok(Some(b.to_string())),
                    other => Err(self
                        .error(Some(&v.span()), format!("{key}: expected a string, found {}", kind(other)))),
                }
            }
        }
    }

    fn strings(&self, table: &DeTable<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
        let Some(v) = get(table, key) else { return Ok(Vec::new()) };
        match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(s) => Ok(s.to_string()),
                    other => Err(self.error(
                        Some(&item.span()),
                        format!("{key}: expected a list of strings, found {} in it", kind(other)),
                    )),
                })
                .collect(),
            DeValue::String(s) => Ok(vec![s.to_string()]),
            other => Err(self
                .error(Some(&v.span()), format!("{key}: expected a list of strings, found {}", kind(other)))),
        }
    }

    fn number(&self, table: &DeTable<'_>, key: &str) -> Result<Option<f64>, ConfigError> {
        let Some(v) = get(table, key) else { return Ok(None) };
        let bad =
            |found: &str| self.error(Some(&v.span()), format!("{key}: expected a number, found {found}"));
        let text = match v.get_ref() {
            DeValue::Integer(i) => {
                let digits = i.as_str().replace('_', "");
                let digits =
                    digits.trim_start_matches("0x").trim_start_matches("0o").trim_start_matches("0b");
                return i64::from_str_radix(digits, i.radix())
                    .map(|n| Some(n as f64))
                    .map_err(|_| bad("an integer"));
            }
            DeValue::Float(f) => f.as_str().replace('_', ""),
            DeValue::String(s) => s.trim().to_string(),
            other => return Err(bad(kind(other))),
        };
        text.parse::<f64>().map(Some).map_err(|_| bad(&format!("{text:?}")))
    }

    fn integer(&self, table: &DeTable<'_>, key: &str) -> Result<Option<u32>, ConfigError> {
        match self.number(table, key)? {
            None => Ok(None),
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => Ok(Some(n as u32)),
            Some(n) => {
                let span = get(table, key).map(|v| v.span());
                Err(self.error(span.as_ref(), format!("{key}: expected a non-negative integer, found {n}")))
            }
        }
    }

    fn boolean(&self, table: &DeTable<'_>, key: &str) -> Result<bool, ConfigError> {
        let Some(v) = get(table, key) else { return Ok(false) };
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            DeValue::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            DeValue::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            other => {
                Err(self.error(Some(&v.span()), format!("{key}: expected a boolean, found {}", kind(other))))
            }
        }
    }

    /// The tables under `key`: an array of tables, or a single table standing for one.
    fn tables<'a, 'i>(
        &self,
        table: &'a DeTable<'i>,
        key: &str,
    ) -> Result<Vec<(&'a DeTable<'i>, Range<usize>)>, ConfigError> {
        let Some(v) = get(table, key) else { return Ok(Vec::new()) };
        match v.get_ref() {
            DeValue::Table(t) => Ok(vec![(t, v.span())]),
            DeValue::Array(items) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::Table(t) => Ok((t, item.span())),
                    other => Err(self.error(
                        Some(&item.span()),
                        format!("{key}: expected tables, found {} in the list", kind(other)),
                    )),
                })
                .collect(),
            other => {
                Err(self.error(Some(&v.span()), format!("{key}: expected a table, found {}", kind(other))))
            }
        }
    }

    fn table<'a, 'i>(
        &self,
        table: &'a DeTable<'i>,
        key: &str,
    ) -> Result<Option<(&'a DeTable<'i>, Range<usize>)>, ConfigError> {
        match get(table, key) {
            None => Ok(None),
            Some(v) => {
                match v.get_ref() {
                    DeValue::Table(t) => Ok(Some((t, v.span()))),
                    other => Err(self
                        .error(Some(&v.span()), format!("{key}: expected a table, found {}", kind(other)))),
                }
            }
        }
    }

    fn allowlist_spec(
        &self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        prefix: &str,
    ) -> Result<AllowlistSpec, ConfigError> {
        let condition =
            match self.string(table, "condition")?.unwrap_or_default().to_ascii_uppercase().as_str() {
                "" | "OR" | "||" => Condition::Or,
                "AND" | "&&" => Condition::And,
                _ => {
                    let text = self.string(table, "condition")?.unwrap_or_default();
                    return Err(self.error(
                        Some(span),
                        format!("{prefix} unknown allowlist |condition| '{text}' (expected 'and', 'or')"),
                    ));
                }
            };
        let regex_target = match self.string(table, "regexTarget")?.as_deref() {
            None | Some("") | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(other) => {
                return Err(self.error(
                    Some(span),
                    format!("{prefix} unknown allowlist |regexTarget| '{other}' (expected 'match', 'line')"),
                ))
            }
        };
        Ok(AllowlistSpec {
            description: self.string(table, "description")?.unwrap_or_default(),
            condition,
            commits: self.strings(table, "commits")?,
            paths: self.strings(table, "paths")?,
            regex_target,
            regexes: self.strings(table, "regexes")?,
            stopwords: self.strings(table, "stopwords")?,
        })
    }

    fn allowlist(
        &self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        prefix: &str,
        budget: &mut Budget,
    ) -> Result<Allowlist, ConfigError> {
        let spec = self.allowlist_spec(table, span, prefix)?;
        Allowlist::within(&spec, budget).map_err(|e| self.error(Some(span), format!("{prefix} {e}")))
    }
}

impl Loader<'_> {
    fn translate(&mut self, text: &str, path: &Path, depth: usize) -> Result<Translated, ConfigError> {
        let doc = Doc { file: path.display().to_string(), text };
        let root =
            DeTable::parse(text).map_err(|e| doc.error(e.span().as_ref(), e.message().trim().to_string()))?;
        let root = root.get_ref();

        let mut rules: Vec<Located> = Vec::new();
        for (table, span) in doc.tables(root, "rules")? {
            let located = self.rule(&doc, table, &span)?;
            // A repeated id replaces the earlier rule, keeping its place.
            match rules.iter_mut().find(|r| r.rule.id == located.rule.id) {
                Some(existing) => *existing = located,
                None => rules.push(located),
            }
        }
        for located in &rules {
            for req in &located.rule.required {
                if !rules.iter().any(|r| r.rule.id == req.rule_id) {
                    return Err(ConfigError {
                        path: doc.file.clone(),
                        line: located.line,
                        message: format!(
                            "{}: [[rules.required]] rule ID '{}' does not exist",
                            located.rule.id, req.rule_id
                        ),
                    });
                }
            }
        }

        let old = doc.table(root, "allowlist")?;
        let new = doc.tables(root, "allowlists")?;
        if let (Some((_, span)), false) = (&old, new.is_empty()) {
            return Err(doc
                .error(Some(span), "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]"));
        }
        let mut allowlists = Vec::new();
        let mut targeted = Vec::new();
        for (table, span) in old.into_iter().chain(new) {
            let allowlist = doc.allowlist(table, &span, "[[allowlists]]", &mut self.budget)?;
            let targets = doc.strings(table, "targetRules")?;
            if targets.is_empty() {
                allowlists.push(allowlist);
            } else {
                let line = Some(doc.line(&span));
                targeted.extend(targets.into_iter().map(|id| (id, allowlist.clone(), line)));
            }
        }

        let mut config = Translated {
            file: doc.file.clone(),
            title: doc.string(root, "title")?.unwrap_or_default(),
            rules,
            allowlists,
            targeted,
            notes: Vec::new(),
        };

        if let Some((extend, span)) = doc.table(root, "extend")? {
            if depth < MAX_EXTEND_DEPTH {
                let base_path = doc.string(extend, "path")?.unwrap_or_default();
                let use_default = doc.boolean(extend, "useDefault")?;
                let disabled = doc.strings(extend, "disabledRules")?;
                if !base_path.is_empty() && use_default {
                    return Err(doc.error(
                        Some(&span),
                        "unable to load config due to extend.path and extend.useDefault being set",
                    ));
                }
                let base = if use_default {
                    Some(default_config(&doc.file))
                } else if !base_path.is_empty() {
                    let resolved = self.resolve(&base_path, path).ok_or_else(|| {
                        doc.error(
                            Some(&span),
                            format!("failed to load extended config {base_path:?}: file not found"),
                        )
                    })?;
                    let text = std::fs::read_to_string(&resolved).map_err(|e| {
                        doc.error(
                            Some(&span),
                            format!("failed to load extended config {}: {e}", resolved.display()),
                        )
                    })?;
                    Some(self.translate(&text, &resolved, depth + 1)?)
                } else {
                    None
                };
                if let Some(base) = base {
                    for id in disabled.iter().filter(|id| !base.rules.iter().any(|r| r.rule.matches(id))) {
                        config.notes.push(format!(
                            "{}:{}: extend.disabledRules: no rule {id:?} in the extended config",
                            doc.file,
                            doc.line(&span)
                        ));
                    }
                    config.extend(base, &disabled);
                }
            }
        }
        Ok(config)
    }

    /// Finds an extended config: absolute, else under `extend_base`, the working directory,
    /// then beside the extending file.
    fn resolve(&self, target: &str, from: &Path) -> Option<PathBuf> {
        let target = Path::new(target);
        if target.is_absolute() {
            return target.is_file().then(|| target.to_path_buf());
        }
        let mut candidates = Vec::new();
        if let Some(base) = &self.options.extend_base {
            candidates.push(base.join(target));
        }
        candidates.push(target.to_path_buf());
        if let Some(dir) = from.parent() {
            candidates.push(dir.join(target));
        }
        candidates.into_iter().find(|c| c.is_file())
    }

    fn rule(
        &mut self,
        doc: &Doc<'_>,
        table: &DeTable<'_>,
        span: &Range<usize>,
    ) -> Result<Located, ConfigError> {
        let id = doc.string(table, "id")?.unwrap_or_default();
        let mut compile = |key: &str| -> Result<Option<regex::Regex>, ConfigError> {
            match doc.string(table, key)? {
                Some(p) if !p.is_empty() => self.budget.compile(&p).map(Some).map_err(|e| {
                    let at = get(table, key).map(|v| v.span());
                    doc.error(at.as_ref(), format!("{id}: {key}: {e}"))
                }),
                _ => Ok(None),
            }
        };
        let regex = compile("regex")?;
        let path = compile("path")?;
        let old = doc.table(table, "allowlist")?;
        let new = doc.tables(table, "allowlists")?;
        if old.is_some() && !new.is_empty() {
            return Err(doc.error(
                Some(span),
                format!(
                    "{id}: [rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlist]]"
                ),
            ));
        }
        let mut allowlists = Vec::new();
        for (t, s) in old.into_iter().chain(new) {
            allowlists.push(doc.allowlist(
                t,
                &s,
                &format!("{id}: [[rules.allowlists]]"),
                &mut self.budget,
            )?);
        }
        let mut required = Vec::new();
        for (t, s) in doc.tables(table, "required")? {
            let rule_id = doc.string(t, "id")?.unwrap_or_default();
            if rule_id.is_empty() {
                return Err(doc.error(Some(&s), format!("{id}: [[rules.required]] rule ID is empty")));
            }
            required.push(Required {
                rule_id,
                within_lines: doc.integer(t, "withinLines")?,
                within_columns: doc.integer(t, "withinColumns")?,
            });
        }
        let description = doc.string(table, "description")?.unwrap_or_default();
        let rule = Rule {
            id,
            description,
            severity: Severity::High,
            regex: regex.map(RuleRegex::compiled),
            secret_group: doc.integer(table, "secretGroup")?.unwrap_or(0) as usize,
            entropy: doc.number(table, "entropy")?.unwrap_or(0.0),
            path,
            keywords: doc.strings(table, "keywords")?.iter().map(|k| k.to_lowercase()).collect(),
            tags: doc.strings(table, "tags")?,
            allowlists,
            required,
            skip_report: doc.boolean(table, "skipReport")?,
            aliases: Vec::new(),
            meta: None,
        };
        Ok(Located { rule, line: Some(doc.line(span)) })
    }
}

/// The built-in rules as the base of `[extend] useDefault = true`.
fn default_config(file: &str) -> Translated {
    let ruleset = crate::builtin::ruleset();
    Translated {
        file: file.to_string(),
        title: ruleset.title,
        rules: ruleset.rules.into_iter().map(|rule| Located { rule, line: None }).collect(),
        allowlists: ruleset.allowlists,
        targeted: Vec::new(),
        notes: Vec::new(),
    }
}

impl Translated {
    /// Merges a base config under this one (gitleaks' extend).
    fn extend(&mut self, base: Translated, disabled: &[String]) {
        let mut order_changed = false;
        for located in base.rules {
            let mut base_rule = located.rule;
            if disabled.iter().any(|d| base_rule.matches(d)) {
                continue;
            }
            match self.rules.iter_mut().find(|r| base_rule.matches(&r.rule.id)) {
                None => {
                    self.rules.push(Located { rule: base_rule, line: located.line });
                    order_changed = true;
                }
                Some(current) => {
                    let over = std::mem::replace(&mut current.rule, base_rule.clone());
                    if !over.description.is_empty() {
                        base_rule.description = over.description;
                    }
                    if over.entropy != 0.0 {
                        base_rule.entropy = over.entropy;
                    }
                    if over.secret_group != 0 {
                        base_rule.secret_group = over.secret_group;
                    }
                    if over.regex.is_some() {
                        base_rule.regex = over.regex;
                    }
                    if over.path.is_some() {
                        base_rule.path = over.path;
                    }
                    base_rule.tags.extend(over.tags);
                    base_rule.keywords.extend(over.keywords);
                    base_rule.allowlists.extend(over.allowlists);
                    base_rule.required.extend(over.required);
                    base_rule.skip_report |= over.skip_report;
                    current.rule = base_rule;
                }
            }
        }
        self.allowlists.extend(base.allowlists);
        self.targeted.extend(base.targeted);
        self.notes.extend(base.notes);
        if order_changed {
            self.rules.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        }
    }

    /// The checks done once everything is assembled (top-level config only).
    fn finish(&mut self) -> Result<(), ConfigError> {
        let file = self.file.clone();
        for located in &self.rules {
            validate(&located.rule).map_err(|message| ConfigError {
                path: file.clone(),
                line: located.line,
                message,
            })?;
        }
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            by_id.insert(r.rule.id.clone(), i);
        }
        for (id, allowlist, line) in std::mem::take(&mut self.targeted) {
            let index =
                by_id.get(&id).copied().or_else(|| self.rules.iter().position(|r| r.rule.matches(&id)));
            match index {
                Some(i) => self.rules[i].rule.allowlists.push(allowlist),
                None => {
                    return Err(ConfigError {
                        path: file,
                        line,
                        message: format!("[[allowlists]] target rule ID '{id}' does not exist"),
                    })
                }
            }
        }
        Ok(())
    }
}

/// A rule's own consistency checks (gitleaks `Rule.Validate`).
fn validate(rule: &Rule) -> Result<(), String> {
    if rule.id.trim().is_empty() {
        let mut context = String::new();
        if !rule.description.is_empty() {
            context.push_str(&format!(", description: {}", rule.description));
        }
        if let Some(re) = &rule.regex {
            context.push_str(&format!(", regex: {}", re.as_str()));
        }
        return Err(format!("rule |id| is missing or empty{context}"));
    }
    if rule.regex.is_none() && rule.path.is_none() {
        return Err(format!("{}: both |regex| and |path| are empty, this rule will have no effect", rule.id));
    }
    if rule.regex.is_some() && rule.secret_group > rule.group_count() {
        return Err(format!(
            "{}: invalid regex secret group {}, max regex secret group {}",
            rule.id,
            rule.secret_group,
            rule.group_count()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
