//! The decision engine: the policies a config enables, and the verdict on one request.
//!
//! What each operation evaluates:
//! - CREATE: every enabled group, on `object`.
//! - UPDATE: every group on the new `object`; built-in rules and the Pod Security Standards
//!   are skipped when `spec` did not change (as Pod Security admission does), so that
//!   relabelling or scaling an object admitted before a policy existed is not blocked.
//! - DELETE: only Gatekeeper constraints, which see the deleted object as `object` (the other
//!   groups judge what is being stored, and nothing is).
//! - CONNECT, and subresources other than `ephemeralcontainers`: nothing is evaluated.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kubesecops_checks::pss::{self, Level, Version};
use kubesecops_checks::{Engine, RULES};
use kubesecops_core::{Finding, ReportError, RuleMeta};
use kubesecops_k8s::Object;
use kubesecops_policy::gatekeeper::Review;
use kubesecops_policy::{EnforcementAction, Gatekeeper, Inventory, PolicyOptions, PolicySet};
use kubesecops_trust::TrustedKeys;

use crate::config::{Config, GroupSettings, Mode, OnError};
use crate::error::ConfigError;
use crate::object::admission_object;
use crate::review::{AdmissionRequest, AdmissionResponse, Operation, Status};

/// Most violations listed in a denial message, and most warnings returned.
const MAX_LISTED: usize = 20;

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleGroup {
    /// kubesecops' built-in rules.
    Builtin,
    /// The Pod Security Standards.
    Pss,
    /// conftest-style Rego policies.
    Rego,
    /// Gatekeeper constraints.
    Gatekeeper,
}

impl RuleGroup {
    /// The name of the group's config table.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleGroup::Builtin => "builtin",
            RuleGroup::Pss => "pss",
            RuleGroup::Rego => "rego",
            RuleGroup::Gatekeeper => "gatekeeper",
        }
    }
}

/// One violated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The group of the rule.
    pub group: RuleGroup,
    /// Rule id (`KSO-C001`, `KSO-PSS-privileged`, a Rego rule id, `Kind/name` of a constraint).
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// What the violation does.
    pub mode: Mode,
}

/// The verdict on one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Every violation, in every mode.
    pub violations: Vec<Violation>,
    /// Evaluation errors (a failing policy, a missed deadline), already applied to `allowed`
    /// and the warnings as `on_error` says.
    pub errors: Vec<String>,
    /// Errors that deny the request (enforce-mode groups with `on_error = "deny"`).
    denying_errors: usize,
    /// Why nothing was evaluated (exempt namespace, operation), if so.
    pub skipped: Option<String>,
    /// `Kind namespace/name` of the object, for messages.
    pub object: String,
}

impl Decision {
    /// An admitted request on which nothing was evaluated.
    pub fn skip(reason: impl Into<String>) -> Decision {
        Decision { allowed: true, skipped: Some(reason.into()), ..Decision::default() }
    }

    /// The verdict when the evaluation failed as a whole (the deadline passed).
    pub fn failed(error: String, on_error: OnError) -> Decision {
        let deny = on_error == OnError::Deny;
        Decision {
            allowed: !deny,
            errors: vec![error],
            denying_errors: usize::from(deny),
            ..Decision::default()
        }
    }

    /// The `response` of the AdmissionReview: a denial lists every enforced violation (and
    /// denying error) in `status.message`; warn-mode violations and tolerated errors are
    /// `warnings`. Dry-run violations appear in neither.
    pub fn response(&self, uid: &str) -> AdmissionResponse {
        let line = |v: &Violation| one_line(&format!("[{}] {}", v.rule, v.message));
        let enforced: Vec<String> =
            self.violations.iter().filter(|v| v.mode == Mode::Enforce).map(line).collect();
        let mut warnings: Vec<String> =
            self.violations.iter().filter(|v| v.mode == Mode::Warn).map(line).collect();
        let (denying, tolerated) = self.errors.split_at(self.denying_errors.min(self.errors.len()));
        warnings.extend(tolerated.iter().map(|e| one_line(&format!("kubesecops: evaluation error: {e}"))));
        if warnings.len() > MAX_LISTED {
            let more = warnings.len() - MAX_LISTED + 1;
            warnings.truncate(MAX_LISTED - 1);
            warnings.push(format!("... and {more} more warnings"));
        }
        let status = (!self.allowed).then(|| {
            let mut reasons: Vec<String> = enforced.clone();
            reasons.extend(denying.iter().map(|e| one_line(&format!("evaluation error: {e}"))));
            let total = reasons.len();
            reasons.truncate(MAX_LISTED);
            let mut message = format!(
                "kubesecops denied {}: {}",
                if self.object.is_empty() { "the request" } else { &self.object },
                reasons.join("; ")
            );
            if total > MAX_LISTED {
                message.push_str(&format!("; ... and {} more", total - MAX_LISTED));
            }
            Status { code: 403, reason: "Forbidden".to_string(), message }
        });
        AdmissionResponse { uid: uid.to_string(), allowed: self.allowed, status, warnings }
    }

    /// A short name of the outcome for metrics and logs: `allowed`, `denied`, `warned`,
    /// `skipped`, `error`.
    pub fn result(&self) -> &'static str {
        if !self.allowed {
            if self.denying_errors > 0 && !self.violations.iter().any(|v| v.mode == Mode::Enforce) {
                "error"
            } else {
                "denied"
            }
        } else if self.skipped.is_some() {
            "skipped"
        } else if self.violations.iter().any(|v| v.mode == Mode::Warn) || !self.errors.is_empty() {
            "warned"
        } else {
            "allowed"
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A group's mode and exemptions, resolved against the global settings.
#[derive(Debug, Clone)]
struct Group {
    mode: Mode,
    exempt: Vec<String>,
}

impl Group {
    fn new(settings: &GroupSettings, config: &Config) -> Group {
        Group { mode: settings.mode.unwrap_or(config.mode), exempt: settings.exempt_namespaces.clone() }
    }

    fn exempts(&self, namespace: &str) -> bool {
        !namespace.is_empty() && self.exempt.iter().any(|p| glob(p, namespace))
    }
}

/// The policies a config enables, ready to judge requests. Immutable once built; shared by
/// every request (a reload builds a new one).
pub struct Policies {
    on_error: OnError,
    deadline: Duration,
    exempt: Vec<String>,
    rule_modes: Vec<(String, Mode)>,
    builtin: Option<(Engine, Group)>,
    pss: Option<(Level, Version, Group)>,
    rego: Option<(PolicySet, Group)>,
    gatekeeper: Option<(Gatekeeper, Group)>,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Policies {
    /// Loads the config file (or the default config without one) and every policy it names.
    pub fn load(config_path: Option<&Path>) -> Result<Policies, ConfigError> {
        match config_path {
            Some(path) => Policies::from_config(&Config::load(path)?, path),
            None => Policies::from_config(&Config::default(), Path::new("(default config)")),
        }
    }

    /// Builds the policies of a parsed config; `path` names the config file in errors.
    pub fn from_config(config: &Config, path: &Path) -> Result<Policies, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: path.to_path_buf(), message };
        let deadline = Duration::from_millis(config.deadline_ms);
        let builtin = match &config.builtin {
            None => None,
            Some(builtin) => {
                for (key, ids) in [("select", &builtin.select), ("skip", &builtin.skip)] {
                    for id in ids {
                        if !RULES.iter().any(|def| def.meta.matches(id)) {
                            return Err(invalid(format!(
                                "builtin.{key}: unknown rule {id:?} (see `kubesecops rules`)"
                            )));
                        }
                    }
                }
                let enabled = |meta: &RuleMeta| {
                    (builtin.select.is_empty() || builtin.select.iter().any(|id| meta.matches(id)))
                        && !builtin.skip.iter().any(|id| meta.matches(id))
                        && builtin.min_severity.is_none_or(|min| meta.severity >= min)
                };
                let rules_config = kubesecops_checks::Config {
                    allowed_registries: builtin.allowed_registries.clone(),
                    ..Default::default()
                };
                let engine = Engine::new(rules_config, enabled);
                if engine.rule_count() == 0 {
                    return Err(invalid("builtin: the selection enables no rule".to_string()));
                }
                Some((engine, Group::new(&builtin.settings(), config)))
            }
        };
        let pss = config.pss.as_ref().map(|p| (p.level, p.version, Group::new(&p.settings(), config)));
        let trusted = if config.policy_keys.is_empty() {
            None
        } else {
            let keys: Vec<PathBuf> = config.policy_keys.iter().map(|p| config.resolve(p)).collect();
            Some(TrustedKeys::load(&keys).map_err(|e| invalid(format!("policy_keys: {e}")))?)
        };
        let rego = match &config.rego {
            None => None,
            Some(rego) => {
                if rego.policies.is_empty() {
                    return Err(invalid("rego.policies: name at least one policy directory".to_string()));
                }
                let options = PolicyOptions {
                    policy_paths: rego.policies.iter().map(|p| config.resolve(p)).collect(),
                    data_paths: rego.data.iter().map(|p| config.resolve(p)).collect(),
                    namespaces: rego.namespaces.clone(),
                    timeout: deadline,
                    trusted: trusted.clone(),
                };
                let set = PolicySet::load(&options)
                    .map_err(|errors| ConfigError::Policies { group: "rego", errors })?;
                if !set.gatekeeper().constraints().is_empty() || set.gatekeeper().templates().next().is_some()
                {
                    return Err(invalid(
                        "rego.policies: holds Gatekeeper templates or constraints; list those under [gatekeeper] paths"
                            .to_string(),
                    ));
                }
                if set.rule_count() == 0 {
                    return Err(invalid(format!(
                        "rego.policies: no deny, violation or warn rule in packages {:?}",
                        if rego.namespaces.is_empty() {
                            vec!["main".to_string()]
                        } else {
                            rego.namespaces.clone()
                        }
                    )));
                }
                Some((set, Group::new(&rego.settings(), config)))
            }
        };
        let gatekeeper = match &config.gatekeeper {
            None => None,
            Some(gk) => Some((
                load_gatekeeper(config, gk, deadline, trusted.as_ref())?,
                Group::new(&gk.settings(), config),
            )),
        };
        Ok(Policies {
            on_error: config.on_error,
            deadline,
            exempt: config.exempt_namespaces.clone(),
            rule_modes: config.rules.iter().map(|(id, mode)| (id.clone(), *mode)).collect(),
            builtin,
            pss,
            rego,
            gatekeeper,
        })
    }

    /// The time allowed for one decision.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// What an evaluation error does.
    pub fn on_error(&self) -> OnError {
        self.on_error
    }

    /// One line saying what is enforced, for logs and `/readyz`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some((engine, group)) = &self.builtin {
            parts.push(format!("builtin: {} rules ({})", engine.rule_count(), group.mode));
        }
        if let Some((level, version, group)) = &self.pss {
            parts.push(format!("pss: {level} {version} ({})", group.mode));
        }
        if let Some((set, group)) = &self.rego {
            parts.push(format!("rego: {} rules ({})", set.rule_count(), group.mode));
        }
        if let Some((gk, group)) = &self.gatekeeper {
            parts.push(format!("gatekeeper: {} constraints ({})", gk.constraints().len(), group.mode));
        }
        if parts.is_empty() {
            "nothing enabled".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// The mode of a rule: a `[rules]` entry naming its id or an alias, else `default`.
    fn rule_mode(&self, ids: &[&str], default: Mode) -> Mode {
        self.rule_modes.iter().find(|(key, _)| ids.contains(&key.as_str())).map_or(default, |(_, mode)| *mode)
    }

    /// Judges one request.
    pub fn decide(&self, request: &AdmissionRequest) -> Decision {
        let namespace = request.namespace.as_str();
        if !namespace.is_empty() && self.exempt.iter().any(|p| glob(p, namespace)) {
            return Decision::skip(format!("namespace {namespace} is exempt"));
        }
        if request.operation == Operation::Connect {
            return Decision::skip("CONNECT requests are not evaluated");
        }
        if !request.sub_resource.is_empty() && request.sub_resource != "ephemeralcontainers" {
            return Decision::skip(format!("subresource {} is not evaluated", request.sub_resource));
        }
        let mut decision = Decision { allowed: true, ..Decision::default() };
        let stored = match request.operation {
            Operation::Delete => None,
            _ => request.object.as_ref(),
        };
        let object = stored.and_then(|o| admission_object(o, &request.kind, namespace));
        let described = request.object.as_ref().or(request.old_object.as_ref());
        decision.object = describe(request, described);
        // Built-in rules and PSS judge the pod spec: an UPDATE that leaves `spec` alone is
        // not theirs to block.
        let spec_unchanged = request.operation == Operation::Update
            && request
                .old_object
                .as_ref()
                .is_some_and(|old| request.object.as_ref().and_then(|o| o.get("spec")) == old.get("spec"));
        let mut errors: Vec<(String, Mode)> = Vec::new();
        if let Some(obj) = &object {
            if let Some((engine, group)) = &self.builtin {
                if !spec_unchanged && !group.exempts(namespace) {
                    let mut findings = Vec::new();
                    engine.check_object(obj, &mut findings);
                    self.add_findings(&mut decision, RuleGroup::Builtin, group.mode, findings, |_| false);
                }
            }
            if let Some((level, version, group)) = &self.pss {
                if !spec_unchanged && !group.exempts(namespace) {
                    for violation in pss_violations(obj, *level, *version) {
                        let rule = format!("KSO-PSS-{}", violation.check);
                        let mode = self.rule_mode(&[&rule, violation.check], group.mode);
                        decision.violations.push(Violation {
                            group: RuleGroup::Pss,
                            rule,
                            message: violation.message,
                            mode,
                        });
                    }
                }
            }
            if let Some((set, group)) = &self.rego {
                if !group.exempts(namespace) {
                    let (findings, eval_errors) = set.evaluate(obj);
                    // conftest's `warn` rules never fail a check: they warn (or stay dry-run).
                    self.add_findings(&mut decision, RuleGroup::Rego, group.mode, findings, is_warn_rule);
                    errors.extend(eval_errors.iter().map(|e| (report_error(e), group.mode)));
                }
            }
        }
        if let Some((gk, group)) = &self.gatekeeper {
            let has_object = request.object.is_some() || request.old_object.is_some();
            if has_object && !group.exempts(namespace) && !gk.constraints().is_empty() {
                self.review_gatekeeper(gk, group, request, &mut decision, &mut errors);
            }
        }
        let mut seen = HashSet::new();
        decision.violations.retain(|v| seen.insert((v.rule.clone(), v.message.clone())));
        // Errors of enforce-mode groups follow `on_error`; warn-mode ones warn; dry-run ones
        // are only reported (logs, metrics).
        let (mut denying, mut tolerated) = (Vec::new(), Vec::new());
        for (error, mode) in errors {
            match mode {
                Mode::Enforce if self.on_error == OnError::Deny => denying.push(error),
                Mode::Enforce | Mode::Warn => tolerated.push(error),
                Mode::DryRun => {}
            }
        }
        decision.denying_errors = denying.len();
        decision.errors = denying;
        decision.errors.extend(tolerated);
        decision.allowed =
            decision.denying_errors == 0 && !decision.violations.iter().any(|v| v.mode == Mode::Enforce);
        decision
    }

    fn add_findings(
        &self,
        decision: &mut Decision,
        group: RuleGroup,
        group_mode: Mode,
        findings: Vec<Finding>,
        warns: impl Fn(&Finding) -> bool,
    ) {
        for finding in findings {
            let default = if warns(&finding) { group_mode.min(Mode::Warn) } else { group_mode };
            let mut ids: Vec<&str> = vec![finding.rule.id.as_str()];
            ids.extend(finding.rule.aliases.iter().map(String::as_str));
            let mode = self.rule_mode(&ids, default);
            decision.violations.push(Violation {
                group,
                rule: finding.rule.id.clone(),
                message: finding.message,
                mode,
            });
        }
    }

    fn review_gatekeeper(
        &self,
        gk: &Gatekeeper,
        group: &Group,
        request: &AdmissionRequest,
        decision: &mut Decision,
        errors: &mut Vec<(String, Mode)>,
    ) {
        let review = serde_json::to_value(request)
            .map_err(|e| e.to_string())
            .and_then(|json| Review::from_admission_request(&json));
        let review = match review {
            Ok(review) => review,
            Err(error) => {
                errors.push((format!("gatekeeper: {error}"), group.mode));
                return;
            }
        };
        let (violations, eval_errors) = gk.review(&review);
        for violation in violations {
            let constraint = &gk.constraints()[violation.constraint];
            let rule = format!("{}/{}", constraint.kind, constraint.name);
            let default = match constraint.action {
                EnforcementAction::Deny => group.mode,
                EnforcementAction::Warn => group.mode.min(Mode::Warn),
                EnforcementAction::DryRun => Mode::DryRun,
            };
            let mode = self.rule_mode(&[&rule, &constraint.kind, &constraint.name], default);
            decision.violations.push(Violation {
                group: RuleGroup::Gatekeeper,
                rule,
                message: violation.message,
                mode,
            });
        }
        errors.extend(eval_errors.iter().map(|e| (report_error(e), group.mode)));
    }
}

fn pss_violations(obj: &Object, level: Level, version: Version) -> Vec<pss::Violation> {
    obj.pod_template().map(|template| pss::evaluate(&template, level, version)).unwrap_or_default()
}

/// conftest's rule naming: a rule without a `custom.id` annotation is `<package>.<rule>`, and
/// `warn` rules are `warn` or `warn_<suffix>`.
fn is_warn_rule(finding: &Finding) -> bool {
    let name = finding.rule.id.rsplit('.').next().unwrap_or("");
    finding.rule.id.contains('.') && (name == "warn" || name.starts_with("warn_"))
}

fn report_error(error: &ReportError) -> String {
    match error.line {
        Some(line) => format!("{}:{line}: {}", error.path, error.message),
        None => format!("{}: {}", error.path, error.message),
    }
}

/// `Pod team/web` for messages.
fn describe(request: &AdmissionRequest, object: Option<&serde_json::Value>) -> String {
    let meta = object.and_then(|o| o.get("metadata"));
    let field = |key: &str| meta.and_then(|m| m.get(key)).and_then(|v| v.as_str()).unwrap_or("");
    let name = if !request.name.is_empty() {
        request.name.as_str()
    } else if !field("name").is_empty() {
        field("name")
    } else {
        field("generateName")
    };
    let kind = if request.kind.kind.is_empty() { "object" } else { request.kind.kind.as_str() };
    match (request.namespace.as_str(), name) {
        ("", "") => kind.to_string(),
        ("", name) => format!("{kind} {name}"),
        (ns, name) => format!("{kind} {ns}/{name}"),
    }
}

/// Gatekeeper-style namespace globs: `prefix*`, `*suffix`, `*`, or an exact name.
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

/// Loads templates and constraints from YAML files and directories, and checks that every
/// constraint has its template.
fn load_gatekeeper(
    config: &Config,
    gk: &crate::config::GatekeeperConfig,
    deadline: Duration,
    trusted: Option<&TrustedKeys>,
) -> Result<Gatekeeper, ConfigError> {
    let mut gatekeeper = Gatekeeper::new(deadline);
    let mut errors = Vec::new();
    let paths: Vec<_> = gk.paths.iter().map(|p| config.resolve(p)).collect();
    let (sources, discover_errors) = kubesecops_k8s::discover(&paths);
    errors.extend(discover_errors);
    for source in &sources {
        let loaded = match (trusted, source) {
            (None, _) => kubesecops_k8s::load_source(source, &Default::default()),
            // With keys, the text loaded is the text whose signature was checked.
            (Some(keys), kubesecops_k8s::Source::File(path)) => match keys.read_verified_text(path) {
                Ok(text) => kubesecops_k8s::loader::load_text(Arc::from(path.display().to_string()), &text),
                Err(err) => {
                    errors.push(ReportError::at(err.path(), None, err.reason()));
                    continue;
                }
            },
            (Some(_), other) => {
                errors.push(ReportError::at(
                    other.display(),
                    None,
                    "a Helm chart, kustomization or standard input cannot be signature-checked; with \
                     policy_keys, list signed YAML files",
                ));
                continue;
            }
        };
        errors.extend(loaded.errors);
        errors.extend(gatekeeper.add_objects(&loaded.objects));
    }
    if errors.is_empty() {
        errors.extend(gatekeeper.set_inventory(Inventory::default()));
    }
    if errors.is_empty() && gatekeeper.constraints().is_empty() {
        errors.push(ReportError::at(
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            None,
            "no Gatekeeper constraint found",
        ));
    }
    if !errors.is_empty() {
        return Err(ConfigError::Policies { group: "gatekeeper", errors });
    }
    Ok(gatekeeper)
}
