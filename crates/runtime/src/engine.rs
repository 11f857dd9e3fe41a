//! The compiled rule set and its evaluation, one event at a time.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::compile::{self, apply_transforms, CompiledRule, Segment, SlotSpec, SlotValues};
use crate::event::AuditEvent;
use crate::fields::Values;
use crate::loader::{Location, Notice, Priority, RuleError, RuleLoader};

/// Which rules fire when several match one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
    /// Only the first matching rule in load order (Falco's default, `rule_matching: first`).
    #[default]
    First,
    /// Every matching rule (`rule_matching: all`).
    All,
}

/// What an alert says about its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    /// Rule name.
    pub name: String,
    /// Description (`desc`).
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Event source (`k8s_audit`).
    pub source: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// Where the rule is (first) defined.
    pub location: Location,
}

/// A rule that matched an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// The rendered output template.
    pub output: String,
    /// Event time (`stageTimestamp`), nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The event's `auditID`.
    pub audit_id: Option<String>,
}

/// Counts describing a compiled rule set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesetStats {
    /// Rules of the `k8s_audit` source, enabled or not.
    pub audit_rules: usize,
    /// Of those, the disabled ones.
    pub disabled: usize,
    /// Rules of other sources (loaded, not evaluated), by source.
    pub skipped_by_source: BTreeMap<String, usize>,
    /// Lists defined.
    pub lists: usize,
    /// Macros defined.
    pub macros: usize,
}

/// A compiled, immutable rule set. It is `Send + Sync`: share it between threads and call
/// [`Ruleset::evaluate`] on each event.
#[derive(Debug, Clone)]
pub struct Ruleset {
    rules: Vec<CompiledRule>,
    active: Vec<usize>,
    slots: Vec<SlotSpec>,
    matching: Matching,
    notices: Vec<Notice>,
    stats: RulesetStats,
}

impl RuleLoader {
    /// Compiles the loaded rules: lists substituted, macros resolved, fields and outputs
    /// checked. Errors name the file and line of the offending item.
    pub fn compile(&self) -> Result<Ruleset, RuleError> {
        let compiled = compile::compile(self)?;
        let active =
            compiled.rules.iter().enumerate().filter(|(_, r)| r.meta.enabled).map(|(i, _)| i).collect();
        let stats = RulesetStats {
            audit_rules: compiled.rules.len(),
            disabled: compiled.disabled,
            skipped_by_source: compiled.skipped_by_source,
            lists: self.lists.items.len(),
            macros: self.macros.items.len(),
        };
        Ok(Ruleset {
            rules: compiled.rules,
            active,
            slots: compiled.slots,
            matching: Matching::First,
            notices: compiled.notices,
            stats,
        })
    }
}

impl Ruleset {
    /// Loads and compiles rule files in order (later files amend earlier ones).
    pub fn from_files<P: AsRef<std::path::Path>>(paths: &[P]) -> Result<Ruleset, RuleError> {
        let mut loader = RuleLoader::new();
        for path in paths {
            loader.load_file(path.as_ref())?;
        }
        loader.compile()
    }

    /// Sets the matching strategy (default [`Matching::First`]).
    pub fn with_matching(mut self, matching: Matching) -> Ruleset {
        self.matching = matching;
        self
    }

    /// The matching strategy.
    pub fn matching(&self) -> Matching {
        self.matching
    }

    /// The compiled `k8s_audit` rules in load order, disabled ones included.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<RuleMeta>> {
        self.rules.iter().map(|r| &r.meta)
    }

    /// Notices from loading and compiling.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Counts of rules, sources, lists and macros.
    pub fn stats(&self) -> &RulesetStats {
        &self.stats
    }

    /// Evaluates the enabled rules on one event and returns the alerts (at most one with
    /// [`Matching::First`]).
    pub fn evaluate(&self, event: &AuditEvent<'_>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.evaluate_into(event, &mut alerts);
        alerts
    }

    /// Like [`Ruleset::evaluate`], appending to `alerts`; returns how many were added.
    pub fn evaluate_into(&self, event: &AuditEvent<'_>, alerts: &mut Vec<Alert>) -> usize {
        let mut ctx = EventSlots { event, specs: &self.slots, cache: Vec::new() };
        ctx.cache.resize_with(self.slots.len(), || Slot::Unloaded);
        let before = alerts.len();
        for &index in &self.active {
            let rule = &self.rules[index];
            if rule.condition.eval(&mut ctx) {
                alerts.push(Alert {
                    rule: rule.meta.clone(),
                    output: render(&rule.output, &mut ctx),
                    time_ns: event.time_ns(),
                    audit_id: event.audit_id().map(Cow::into_owned),
                });
                if self.matching == Matching::First {
                    break;
                }
            }
        }
        alerts.len() - before
    }
}

enum Slot<'e> {
    Unloaded,
    Absent,
    Present(Values<'e>),
}

/// The per-event value cache: each field is extracted at most once per event.
struct EventSlots<'r, 'e> {
    event: &'r AuditEvent<'e>,
    specs: &'r [SlotSpec],
    cache: Vec<Slot<'e>>,
}

impl<'e> SlotValues<'e> for EventSlots<'_, 'e> {
    fn load(&mut self, slot: usize) {
        if !matches!(self.cache[slot], Slot::Unloaded) {
            return;
        }
        let spec = &self.specs[slot];
        let values = spec.field.extract(self.event).and_then(|values| {
            if spec.transforms.is_empty() {
                return Some(values);
            }
            let list = match values {
                Values::One(v) => vec![v],
                Values::Many(vs) => vs,
            };
            let mut out = apply_transforms(list, &spec.transforms)?;
            match out.len() {
                0 => None,
                1 => out.pop().map(Values::One),
                _ => Some(Values::Many(out)),
            }
        });
        self.cache[slot] = match values {
            Some(values) => Slot::Present(values),
            None => Slot::Absent,
        };
    }

    fn get(&self, slot: usize) -> Option<&[Cow<'e, str>]> {
        match &self.cache[slot] {
            Slot::Present(values) => Some(values.as_slice()),
            _ => None,
        }
    }
}

/// Renders an output template: absent fields print `<NA>`, list fields `(a,b)`.
fn render<'e>(segments: &[Segment], ctx: &mut EventSlots<'_, 'e>) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Field { slot, width } => {
                ctx.load(*slot);
                let list = ctx.specs[*slot].list;
                let value = match ctx.get(*slot) {
                    None => Cow::Borrowed("<NA>"),
                    Some(values) if list => Cow::Owned(format!("({})", values.join(","))),
                    Some(values) => Cow::Borrowed(&*values[0]),
                };
                if *width > 0 {
                    let mut cut: String = value.chars().take(*width).collect();
                    while cut.chars().count() < *width {
                        cut.push(' ');
                    }
                    out.push_str(&cut);
                } else {
                    out.push_str(&value);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn ruleset(text: &str) -> Ruleset {
        let mut loader = RuleLoader::new();
        loader.load_str("rules.yaml", text).unwrap();
        loader.compile().unwrap()
    }

    fn alerts(rules: &Ruleset, event: &str) -> Vec<Alert> {
        let doc = json::parse(event).unwrap();
        let event = AuditEvent::from_json(&doc).unwrap();
        rules.evaluate(&event)
    }

    const EVENT: &str = r#"{"kind":"Event","auditID":"id-1","stage":"ResponseComplete",
        "stageTimestamp":"2024-05-01T10:00:00.5Z","verb":"create",
        "user":{"username":"mallory","groups":["devs","system:authenticated"]},
        "objectRef":{"resource":"pods","namespace":"default","name":"web"},
        "requestURI":"/api/v1/namespaces/default/pods",
        "responseStatus":{"code":201},
        "requestObject":{"spec":{"containers":[
            {"name":"a","image":"nginx:1","securityContext":{"privileged":true}},
            {"name":"b","image":"busybox"}]}}}"#;

    const RULES: &str = r#"
- list: trusted_images
  items: [docker.io/library/nginx, registry.k8s.io/pause]
- macro: kevt
  condition: (jevt.value[/stage] in (ResponseComplete))
- macro: kcreate
  condition: ka.verb=create
- rule: Privileged Pod
  desc: privileged
  condition: kevt and kcreate and ka.target.resource=pods and ka.req.pod.containers.privileged intersects (true) and not ka.req.pod.containers.image.repository in (trusted_images)
  output: Privileged pod (user=%ka.user.name images=%ka.req.pod.containers.image missing=%ka.target.subresource code=%ka.response.code)
  priority: WARNING
  source: k8s_audit
  tags: [k8s, pods]
- rule: Any Create
  desc: any
  condition: kevt and kcreate
  output: created %ka.target.resource/%ka.target.name by %5ka.user.name.
  priority: INFO
  source: k8s_audit
- rule: Syscall thing
  desc: other source
  condition: evt.type=open and proc.name=sh
  output: "%proc.name"
  priority: ERROR
"#;

    #[test]
    fn first_match_and_outputs() {
        let rules = ruleset(RULES);
        let found = alerts(&rules, EVENT);
        assert_eq!(found.len(), 1);
        let alert = &found[0];
        assert_eq!(alert.rule.name, "Privileged Pod");
        assert_eq!(alert.rule.priority, Priority::Warning);
        assert_eq!(alert.rule.tags, ["k8s", "pods"]);
        assert_eq!(alert.audit_id.as_deref(), Some("id-1"));
        assert_eq!(
            alert.output,
            "Privileged pod (user=mallory images=(nginx:1,busybox) missing=<NA> code=201)"
        );
        assert_eq!(rules.stats().skipped_by_source.get("syscall"), Some(&1));
        assert!(rules.notices().iter().any(|n| n.message.contains("source 'syscall'")));
    }

    #[test]
    fn all_matching_fires_every_rule() {
        let rules = ruleset(RULES).with_matching(Matching::All);
        let found = alerts(&rules, EVENT);
        let names: Vec<_> = found.iter().map(|a| a.rule.name.as_str()).collect();
        assert_eq!(names, ["Privileged Pod", "Any Create"]);
        assert_eq!(found[1].output, "created pods/web by mallo.");
    }

    #[test]
    fn in_on_a_list_field_needs_every_value() {
        // Only one of the two images is trusted: `in` is false, the rule fires.
        let rules = ruleset(&RULES.replace("docker.io/library/nginx", "nginx"));
        assert_eq!(alerts(&rules, EVENT)[0].rule.name, "Privileged Pod");
        let rules = ruleset(&RULES.replace("docker.io/library/nginx", "nginx, busybox"));
        assert_eq!(alerts(&rules, EVENT)[0].rule.name, "Any Create");
    }

    #[test]
    fn absent_fields_make_every_check_false() {
        let rules = ruleset(
            "- rule: R\n  desc: d\n  condition: ka.target.subresource != exec\n  output: o\n  priority: INFO\n  source: k8s_audit\n\
             - rule: S\n  desc: d\n  condition: not ka.target.subresource exists\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
        );
        let found = alerts(&rules, EVENT);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule.name, "S");
    }

    #[test]
    fn benchmark_fallback_rules_compile_and_apply_exceptions() {
        let rules = ruleset(include_str!("../benches/fallback_rules.yaml"));
        assert_eq!(rules.stats().audit_rules, 8);
        let exec = |user: &str, ns: &str| {
            format!(
                r#"{{"kind":"Event","auditID":"e","stage":"ResponseStarted","stageTimestamp":"2024-05-01T10:00:00Z",
                "verb":"create","user":{{"username":"{user}"}},"requestURI":"/api/v1/namespaces/{ns}/pods/p/exec?command=id",
                "objectRef":{{"resource":"pods","subresource":"exec","namespace":"{ns}","name":"p"}}}}"#
            )
        };
        let found = alerts(&rules, &exec("admin", "payments"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].output, "admin ran id in payments/p");
        assert!(alerts(&rules, &exec("admin", "monitoring")).is_empty(), "excepted by (admin, monitoring)");
    }

    /// Compiles `condition` as the only rule and tells whether it matches [`EVENT`].
    fn matches(condition: &str) -> bool {
        let text = format!(
            "- rule: R\n  desc: d\n  condition: '{}'\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
            condition.replace('\'', "''")
        );
        !alerts(&ruleset(&text), EVENT).is_empty()
    }

    #[test]
    fn operators() {
        let cases = [
            ("ka.user.name = mallory", true),
            ("ka.user.name == mallory", true),
            ("ka.user.name != mallory", false),
            ("ka.user.name contains llo", true),
            ("ka.user.name icontains LLO", true),
            ("ka.user.name startswith mal", true),
            ("ka.user.name endswith ory", true),
            ("ka.user.name glob \"m*y\"", true),
            ("ka.user.name iglob \"M*Y\"", true),
            ("ka.user.name regex \"mal+ory\"", true),
            ("ka.user.name regex \"mal\"", false),
            ("ka.response.code < 300", true),
            ("ka.response.code > 300", false),
            ("ka.response.code >= 200", true),
            ("ka.user.name in (alice, mallory)", true),
            ("ka.user.name intersects (alice)", false),
            ("ka.uri pmatch (/api/v1)", true),
            ("ka.uri pmatch (/api/v)", false),
            ("ka.uri startswith anyof (/apis, /api/)", true),
            ("ka.uri startswith allof (/apis, /api/)", false),
            ("ka.uri contains oneof (api, v1, zzz)", false),
            ("ka.user.name bcontains 6c6c", true),
            ("ka.user.name bstartswith 6d61", true),
            ("ka.user.groups intersects (devs)", true),
            ("ka.user.groups in (devs)", false),
            ("ka.user.groups in (devs, system:authenticated, other)", true),
            ("ka.user.groups exists", true),
            ("ka.impuser.name exists", false),
            ("ka.impuser.name != x", false),
            ("not ka.impuser.name = x", true),
            ("evt.rawtime > 1000", true),
            ("evt.rawtime in (1714557600500000000)", true),
            ("len(ka.user.groups) = 2", true),
            ("toupper(ka.user.name) = MALLORY", true),
            ("ka.target.name = val(ka.target.name)", true),
            ("ka.target.name = val(ka.user.name)", false),
            ("ka.target.namespace in val(ka.user.groups)", false),
            ("ka.user.groups intersects val(ka.user.groups)", true),
            ("jevt.value[/requestObject/spec/containers/0/securityContext/privileged] = true", true),
            ("ka.req.pod.containers.image[1] = busybox", true),
        ];
        for (condition, want) in cases {
            assert_eq!(matches(condition), want, "{condition}");
        }
    }

    #[test]
    fn compile_errors_name_file_and_line() {
        let mut loader = RuleLoader::new();
        loader.load_str("ok.yaml", "- macro: m\n  condition: ka.verb=get\n").unwrap();
        let bad = |loader: &RuleLoader, text: &str| {
            let mut loader = loader.clone();
            loader.load_str("bad.yaml", text).unwrap();
            loader.compile().unwrap_err().to_string()
        };
        let rule = |cond: &str, output: &str| {
            format!("- rule: R\n  desc: d\n  condition: {cond}\n  output: {output}\n  priority: INFO\n  source: k8s_audit\n")
        };
        let err = bad(&loader, &rule("m and ka.nope = 1", "o"));
        assert!(err.starts_with("bad.yaml:3:3: rule 'R': nonexistent field ka.nope"), "{err}");
        let err = bad(&loader, &rule("m and missing_macro", "o"));
        assert!(err.contains("Undefined macro 'missing_macro'"), "{err}");
        let err = bad(&loader, &rule("m and (ka.verb = get", "o"));
        assert!(err.starts_with("bad.yaml:3:3:") && err.contains("expected a ')'"), "{err}");
        let err = bad(&loader, &rule("m", "user %ka.nope.field"));
        assert!(err.starts_with("bad.yaml:4:3: rule 'R': output:"), "{err}");
        let err = bad(&loader, "- macro: loop1\n  condition: loop2\n- macro: loop2\n  condition: loop1\n");
        assert!(err.contains("Undefined macro 'loop2'"), "{err}");
        let err = bad(&loader, "- macro: a\n  condition: ka.verb=x\n- macro: a\n  condition: a\n");
        assert!(err.contains("reference loop"), "{err}");
        // Rules of other sources are not compiled, so their fields are not checked.
        let mut other = loader.clone();
        other
            .load_str(
                "other.yaml",
                "- rule: S\n  desc: d\n  condition: proc.name = sh\n  output: o\n  priority: INFO\n",
            )
            .unwrap();
        assert!(other.compile().is_ok());
    }

    #[test]
    fn deep_macro_chains_are_errors_not_crashes() {
        let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
        for i in 1..=1_100 {
            text.push_str(&format!("- macro: m{i}\n  condition: (m{} and ka.verb exists)\n", i - 1));
        }
        text.push_str(
            "- rule: R\n  desc: d\n  condition: m1100\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
        );
        let mut loader = RuleLoader::new();
        loader.load_str("deep.yaml", &text).unwrap();
        assert!(loader.compile().unwrap_err().to_string().contains("nested more than"));
    }

    #[test]
    fn macros_see_only_earlier_macros_unless_redefined() {
        let text = "- macro: a\n  condition: b\n- macro: b\n  condition: ka.verb=create\n";
        let mut loader = RuleLoader::new();
        loader.load_str("x.yaml", text).unwrap();
        assert!(loader.compile().unwrap_err().to_string().contains("Undefined macro 'b'"));
        // Appending to `a` after `b` is defined makes `b` visible to it.
        loader.load_str("y.yaml", "- macro: a\n  condition: and b\n  append: true\n").unwrap();
        loader
            .load_str(
                "z.yaml",
                "- rule: R\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
            )
            .unwrap();
        let rules = loader.compile().unwrap();
        assert_eq!(alerts(&rules, EVENT).len(), 1);
    }

    #[test]
    fn ruleset_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Ruleset>();
    }
}
