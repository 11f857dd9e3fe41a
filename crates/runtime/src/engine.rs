//! The compiled rule set and its evaluation, one event at a time.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::compile::{self, apply_transforms, CompiledRule, Segment, SlotField, SlotSpec, SlotValues};
use crate::event::AuditEvent;
use crate::fields::Values;
use crate::loader::{Location, Notice, Priority, RuleError, RuleLoader};
use crate::syscall::SyscallEvent;

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
    /// Event source (`k8s_audit` or `syscall`).
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
    /// Event time (`stageTimestamp` of audit events), nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The event's `auditID` (audit events).
    pub audit_id: Option<String>,
}

/// Counts describing a compiled rule set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesetStats {
    /// Rules of the `k8s_audit` source, enabled or not.
    pub audit_rules: usize,
    /// Of those, the disabled ones.
    pub disabled: usize,
    /// Rules of the `syscall` source compiled, enabled or not.
    pub syscall_rules: usize,
    /// Of those, the disabled ones.
    pub syscall_disabled: usize,
    /// `syscall` rules not evaluated because they use a field or operator this engine does not
    /// support: (rule name, reason).
    pub syscall_unsupported: Vec<(String, String)>,
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
    sys_active: Vec<usize>,
    slots: Vec<SlotSpec>,
    sys_slots: Vec<SlotSpec>,
    matching: Matching,
    notices: Vec<Notice>,
    stats: RulesetStats,
}

impl RuleLoader {
    /// Compiles the loaded rules: lists substituted, macros resolved, fields and outputs
    /// checked. Errors name the file and line of the offending item.
    pub fn compile(&self) -> Result<Ruleset, RuleError> {
        let compiled = compile::compile(self)?;
        let of_source = |source: &str, enabled_only: bool| -> Vec<usize> {
            let rules = compiled.rules.iter().enumerate();
            rules
                .filter(|(_, r)| r.meta.source == source && (r.meta.enabled || !enabled_only))
                .map(|(i, _)| i)
                .collect()
        };
        let active = of_source(crate::fields::SOURCE, true);
        let sys_active = of_source(crate::sysfields::SOURCE, true);
        let syscall_rules = of_source(crate::sysfields::SOURCE, false).len();
        let stats = RulesetStats {
            audit_rules: compiled.rules.len() - syscall_rules,
            disabled: compiled.rules.len() - syscall_rules - active.len(),
            syscall_rules,
            syscall_disabled: syscall_rules - sys_active.len(),
            syscall_unsupported: compiled.unsupported,
            skipped_by_source: compiled.skipped_by_source,
            lists: self.lists.items.len(),
            macros: self.macros.items.len(),
        };
        debug_assert_eq!(stats.disabled + stats.syscall_disabled, compiled.disabled);
        Ok(Ruleset {
            rules: compiled.rules,
            active,
            sys_active,
            slots: compiled.slots,
            sys_slots: compiled.sys_slots,
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

    /// The compiled rules (`k8s_audit` and `syscall`) in load order, disabled ones included.
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
        let mut ctx = EventSlots { event: AuditRef(event), specs: &self.slots, cache: Vec::new() };
        ctx.cache.resize_with(self.slots.len(), || Slot::Unloaded);
        self.run(&self.active, &mut ctx, event.time_ns(), || event.audit_id().map(Cow::into_owned), alerts)
    }

    /// The names and compiled conditions of the enabled `syscall` rules, with their slots.
    pub(crate) fn syscall_conditions(&self) -> (impl Iterator<Item = (&str, &compile::Node)>, &[SlotSpec]) {
        let rules =
            self.sys_active.iter().map(|&i| (self.rules[i].meta.name.as_str(), &self.rules[i].condition));
        (rules, &self.sys_slots)
    }

    /// True when the set has enabled `syscall` rules.
    pub fn has_syscall_rules(&self) -> bool {
        !self.sys_active.is_empty()
    }

    /// Evaluates the enabled `syscall` rules on one syscall event, appending alerts to
    /// `alerts`; returns how many were added (at most one with [`Matching::First`]).
    pub fn evaluate_syscall_into(&self, event: &SyscallEvent, alerts: &mut Vec<Alert>) -> usize {
        let mut ctx = EventSlots { event: SyscallRef(event), specs: &self.sys_slots, cache: Vec::new() };
        ctx.cache.resize_with(self.sys_slots.len(), || Slot::Unloaded);
        self.run(&self.sys_active, &mut ctx, event.time_ns, || None, alerts)
    }

    /// Like [`Ruleset::evaluate_syscall_into`], returning the alerts.
    pub fn evaluate_syscall(&self, event: &SyscallEvent) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.evaluate_syscall_into(event, &mut alerts);
        alerts
    }

    fn run<'e, E: Extract<'e>>(
        &self,
        active: &[usize],
        ctx: &mut EventSlots<'_, 'e, E>,
        time_ns: i64,
        audit_id: impl Fn() -> Option<String>,
        alerts: &mut Vec<Alert>,
    ) -> usize {
        let before = alerts.len();
        for &index in active {
            let rule = &self.rules[index];
            if rule.condition.eval(ctx) {
                alerts.push(Alert {
                    rule: rule.meta.clone(),
                    output: render(&rule.output, ctx),
                    time_ns,
                    audit_id: audit_id(),
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

/// An event the slots extract from; one implementation per source, so each source's
/// evaluation is compiled on its own (the audit path stays as lean as before).
trait Extract<'e> {
    fn extract(&self, field: &SlotField) -> Option<Values<'e>>;
}

struct AuditRef<'r, 'e>(&'r AuditEvent<'e>);

struct SyscallRef<'e>(&'e SyscallEvent);

impl<'e> Extract<'e> for AuditRef<'_, 'e> {
    #[inline]
    fn extract(&self, field: &SlotField) -> Option<Values<'e>> {
        match field {
            SlotField::Audit(field) => field.extract(self.0),
            SlotField::Syscall(_) => None,
        }
    }
}

impl<'e> Extract<'e> for SyscallRef<'e> {
    #[inline]
    fn extract(&self, field: &SlotField) -> Option<Values<'e>> {
        match field {
            SlotField::Syscall(field) => field.extract(self.0),
            SlotField::Audit(_) => None,
        }
    }
}

/// The per-event value cache: each field is extracted at most once per event.
struct EventSlots<'r, 'e, E> {
    event: E,
    specs: &'r [SlotSpec],
    cache: Vec<Slot<'e>>,
}

impl<'e, E: Extract<'e>> SlotValues<'e> for EventSlots<'_, 'e, E> {
    fn load(&mut self, slot: usize) {
        if !matches!(self.cache[slot], Slot::Unloaded) {
            return;
        }
        let spec = &self.specs[slot];
        let extracted = self.event.extract(&spec.field);
        let values = extracted.and_then(|values| {
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
fn render<'e, E: Extract<'e>>(segments: &[Segment], ctx: &mut EventSlots<'_, 'e, E>) -> String {
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
        // The syscall rule is compiled for syscall events, not evaluated on audit events.
        assert_eq!(rules.stats().syscall_rules, 1);
        assert_eq!(rules.stats().audit_rules, 2);
        assert!(rules.stats().skipped_by_source.is_empty());
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
    fn macros_that_double_are_errors_not_explosions() {
        // Each macro uses the one before twice: m40 would inline 2^40 checks.
        let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
        for i in 1..=40 {
            text.push_str(&format!("- macro: m{i}\n  condition: m{0} or m{0}\n", i - 1));
        }
        let mut loader = RuleLoader::new();
        loader.load_str("double.yaml", &text).unwrap();
        let err = loader.compile().unwrap_err().to_string();
        assert!(err.contains("expand to more than 2000000 nodes"), "{err}");
        assert!(err.starts_with("double.yaml:"), "{err}");
        // Rules inlining a large macro many times are counted together.
        let mut text = String::from("- macro: m0\n  condition: ka.verb=create\n");
        for i in 1..=15 {
            text.push_str(&format!("- macro: m{i}\n  condition: m{0} or m{0}\n", i - 1));
        }
        for r in 0..40 {
            text.push_str(&format!(
                "- rule: R{r}\n  desc: d\n  condition: m15\n  output: o\n  priority: INFO\n  source: k8s_audit\n"
            ));
        }
        let mut loader = RuleLoader::new();
        loader.load_str("rules.yaml", &text).unwrap();
        let err = loader.compile().unwrap_err().to_string();
        assert!(err.contains("rule 'R") && err.contains("expand to more than"), "{err}");
    }

    #[test]
    fn lists_multiplied_into_long_conditions_are_errors() {
        // b holds a's 1,000 items 800 times: 800,000 items, 2.4 MB of condition text.
        let a = vec!["x"; 1_000].join(", ");
        let b = vec!["a"; 800].join(", ");
        let text = format!(
            "- list: a\n  items: [{a}]\n- list: b\n  items: [{b}]\n- macro: m\n  condition: ka.verb in (b)\n"
        );
        let mut loader = RuleLoader::new();
        loader.load_str("lists.yaml", &text).unwrap();
        let err = loader.compile().unwrap_err().to_string();
        assert!(err.contains("macro 'm': condition longer than 1 MiB once lists are substituted"), "{err}");
        assert!(err.starts_with("lists.yaml:6:"), "{err}");
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

    fn syscall_matches(condition: &str, line: &str) -> bool {
        let text = format!(
            "- rule: R\n  desc: d\n  condition: '{}'\n  output: 'file=%fd.name proc=%proc.name gp=%proc.aname[2]'\n  priority: INFO\n",
            condition.replace('\'', "''")
        );
        let rules = ruleset(&text);
        assert_eq!(rules.stats().syscall_rules, 1, "{condition}");
        let event = SyscallEvent::parse_line(line).unwrap();
        !rules.evaluate_syscall(&event).is_empty()
    }

    const OPEN: &str = r#"{"kind":"SyscallEvent","ts":5,"type":"openat","res":3,
        "args":{"flags":"O_RDONLY"},"proc":{"pid":9,"name":"cat","args":["/etc/shadow"]},
        "ancestors":[{"name":"bash"},{"name":"sshd"}],"fd":{"num":3,"type":"file","name":"/etc/shadow"}}"#;

    const CONNECT: &str = r#"{"kind":"SyscallEvent","ts":5,"type":"connect","res":-115,
        "proc":{"name":"curl"},"fd":{"num":5,"type":"ipv4","name":"10.1.2.3:5000->192.168.7.9:443",
        "cip":"10.1.2.3","cport":5000,"sip":"192.168.7.9","sport":443,"l4proto":"tcp"}}"#;

    #[test]
    fn syscall_rules_evaluate_syscall_fields() {
        let cases = [
            ("evt.type in (open, openat) and fd.name = /etc/shadow", OPEN, true),
            ("evt.is_open_read = true and fd.typechar = f and fd.num >= 0", OPEN, true),
            ("fd.num = -1", OPEN, false),
            ("proc.aname = sshd", OPEN, true),
            ("proc.aname in (cron, sshd)", OPEN, true),
            ("proc.aname[1] = sshd", OPEN, false),
            ("proc.pname = bash and proc.cmdline = \"cat /etc/shadow\"", OPEN, true),
            ("container.id = host and not container.image.repository exists", OPEN, true),
            ("fd.snet in (\"10.0.0.0/8\", \"192.168.0.0/16\")", CONNECT, true),
            ("fd.snet in (\"10.0.0.0/8\")", CONNECT, false),
            ("fd.net != \"127.0.0.0/8\" and fd.ip != \"0.0.0.0\"", CONNECT, true),
            ("fd.sip = 192.168.7.9 and fd.sport in (80, 443)", CONNECT, true),
            ("evt.rawres >= 0 or evt.res = EINPROGRESS", CONNECT, true),
            ("fd.lport = 5000 and fd.rport = 443", CONNECT, true),
        ];
        for (condition, line, want) in cases {
            assert_eq!(syscall_matches(condition, &line.replace('\n', " ")), want, "{condition}");
        }
    }

    #[test]
    fn host_name_fields_match_the_addresses_the_names_resolve_to() {
        use crate::hostnames::{table, StaticResolver};
        // Names unique to this test: the table is process-wide.
        let text = "- rule: API\n  desc: d\n  condition: evt.type = connect and fd.sip.name in (Api.Engine-Test.example., other.engine-test.example)\n  output: 'to %fd.sip.name'\n  priority: INFO\n";
        let rules = ruleset(text);
        assert!(table().names().contains(&"api.engine-test.example".to_string()));
        let event = SyscallEvent::parse_line(&CONNECT.replace('\n', " ")).unwrap();
        assert!(rules.evaluate_syscall(&event).is_empty(), "no match before the names are resolved");
        let mut names = std::collections::BTreeMap::new();
        names.insert("api.engine-test.example".to_string(), vec!["192.168.7.9".parse().unwrap()]);
        table().refresh(&StaticResolver(names));
        let found = rules.evaluate_syscall(&event);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].output, "to api.engine-test.example");
        let elsewhere =
            SyscallEvent::parse_line(&CONNECT.replace('\n', " ").replace("192.168.7.9", "192.168.7.10"))
                .unwrap();
        assert!(rules.evaluate_syscall(&elsewhere).is_empty());
    }

    #[test]
    fn syscall_rules_do_not_see_audit_events_and_vice_versa() {
        let rules = ruleset(RULES);
        let event =
            SyscallEvent::parse_line(&OPEN.replace("\"cat\"", "\"sh\"").replace("openat", "open")).unwrap();
        let found = rules.evaluate_syscall(&event);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule.name, "Syscall thing");
        assert_eq!(found[0].output, "sh");
        assert_eq!(found[0].audit_id, None);
        assert!(alerts(&rules, EVENT).iter().all(|a| a.rule.source == "k8s_audit"));
    }

    #[test]
    fn syscall_rules_with_unknown_fields_are_listed_not_errors() {
        let rules = ruleset(
            "- rule: Known\n  desc: d\n  condition: proc.name = sh\n  output: o\n  priority: INFO\n\
             - rule: Unknown\n  desc: d\n  condition: proc.name = sh and proc.nonesuch = 1\n  output: o\n  priority: INFO\n\
             - rule: Bad output\n  desc: d\n  condition: proc.name = sh\n  output: '%proc.other'\n  priority: INFO\n",
        );
        let stats = rules.stats();
        assert_eq!(stats.syscall_rules, 1);
        let names: Vec<_> = stats.syscall_unsupported.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Unknown", "Bad output"]);
        assert!(stats.syscall_unsupported[0].1.contains("proc.nonesuch"));
        assert!(rules.notices().iter().any(|n| n.message.contains("syscall rule 'Unknown' not evaluated")));
    }

    #[test]
    fn ruleset_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Ruleset>();
    }
}
