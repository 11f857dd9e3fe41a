//! Pod Security Standards, evaluated check for check as the Kubernetes Pod Security
//! admission controller does at a given level and version.
//!
//! - [`evaluate`] runs the checks of a [`Level`] and [`Version`] over one pod template and
//!   returns every offending field as a [`Violation`] named by the admission's own check id
//!   (`hostNamespaces`, `runAsNonRoot`, ...), with its line and column.
//! - [`evaluate_object`] gives the verdict for one object (`kubesecops pss`), [`findings`]
//!   turns the violations into report findings with rule ids `KSO-PSS-<checkId>`
//!   (`kubesecops scan`), and [`check_metas`] lists those rules.
//!
//! A pod is allowed exactly when no check of the level and version reports anything. Checks
//! that changed over time keep each behaviour with the version it started at (which sysctls
//! are safe, seccomp fields replacing annotations at v1.19, Windows pods exempt from some
//! restricted checks at v1.25, user-namespaced pods relaxed at v1.35, ...). Fields are read
//! as the API server decodes them: an explicit `null` is the same as an absent field, and
//! scalars follow YAML 1.1 typing. The API server's defaults that change a verdict are
//! applied as admission would see them: a volume without a source becomes `emptyDir`, and
//! in a Pod (not a template) on the host network every container port is a host port.
//! Not modelled: the API server copying the deprecated seccomp pod annotation into an unset
//! `seccompProfile` field, which depends on the cluster's own release.

mod checks;
mod level;
mod pod;
mod registry;

use std::sync::{Arc, LazyLock};

use kubesecops_core::{fingerprint, Finding, RuleMeta, RuleRef};
use kubesecops_k8s::{Object, PodTemplate, Pos};
use serde::Serialize;

pub use level::{Level, ParseLevelError, ParseVersionError, Version, NEWEST_MINOR};

use pod::{Pod, Sink};
use registry::{active, CHECKS, METAS};

/// One field of a pod that a check rejects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The admission controller's check id (`hostNamespaces`, `capabilities_restricted`, ...).
    pub check: &'static str,
    /// What is wrong, naming the container or volume and the field.
    pub message: String,
    /// Line and column of the offending field in the file (for a missing field, of the
    /// nearest enclosing field that is written, or of the container).
    #[serde(skip)]
    pub pos: Pos,
    /// A logical name of the field relative to the pod spec, stable across line moves
    /// (`containers[web].securityContext.privileged`); it makes finding fingerprints.
    #[serde(skip)]
    pub key: String,
}

/// The verdict for one object, as `kubesecops pss` reports it:
/// `{"path", "name", "kind", "namespace", "line", "allowed", "violations": [{"check", "message"}]}`
/// (`kind`, `namespace` and `line` are left out when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PssResult {
    /// File the object came from.
    pub path: String,
    /// `metadata.name` (or `generateName`) of the object.
    pub name: String,
    /// `kind` of the object.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace as written in the object (empty when not set).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Line where the object starts (0 when unknown).
    #[serde(skip_serializing_if = "is_zero")]
    pub line: u32,
    /// True when the admission controller would admit the pod at the level and version.
    pub allowed: bool,
    /// Every violation, grouped by check in the admission's order.
    pub violations: Vec<Violation>,
}

fn is_zero(line: &u32) -> bool {
    *line == 0
}

impl PssResult {
    /// The ids of the failing checks, each once, in report order.
    pub fn failed_checks(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for violation in &self.violations {
            if !ids.contains(&violation.check) {
                ids.push(violation.check);
            }
        }
        ids
    }
}

/// Evaluates one pod template at `level` and `version`. An empty result means the pod is
/// allowed. Violations are grouped by check: baseline checks first, then restricted-only
/// checks, each in id order; within a check, in the order the fields appear (pod level,
/// then init, regular and ephemeral containers).
pub fn evaluate(template: &PodTemplate<'_>, level: Level, version: Version) -> Vec<Violation> {
    let pod = Pod::new(template);
    let mut violations = Vec::new();
    for (check, since) in active(level, version) {
        let mut sink = Sink { check: check.id, out: &mut violations };
        (since.run)(&pod, &mut sink);
    }
    violations
}

/// The verdict for an object that has a pod template (Pods, workloads, CronJobs, custom
/// resources embedding a template); `None` for any other object.
pub fn evaluate_object(obj: &Object, level: Level, version: Version) -> Option<PssResult> {
    let template = obj.pod_template()?;
    let violations = evaluate(&template, level, version);
    Some(PssResult {
        path: obj.path.to_string(),
        name: obj.meta.name.clone(),
        kind: obj.meta.kind.clone(),
        namespace: obj.meta.namespace.clone(),
        line: obj.root.pos.line,
        allowed: violations.is_empty(),
        violations,
    })
}

/// Report references of every check, in [`CHECKS`] order, shared by all findings.
static RULE_REFS: LazyLock<Vec<Arc<RuleRef>>> =
    LazyLock::new(|| METAS.iter().map(|meta| Arc::new(RuleRef::from(*meta))).collect());

/// The violations of an object as findings with rule ids `KSO-PSS-<checkId>`: severity HIGH
/// for baseline checks and MEDIUM for restricted-only checks, located at the offending
/// field, fingerprinted by rule, file, object and field. Empty for objects without a pod
/// template.
pub fn findings(obj: &Object, level: Level, version: Version) -> Vec<Finding> {
    let Some(template) = obj.pod_template() else { return Vec::new() };
    evaluate(&template, level, version)
        .into_iter()
        .map(|violation| {
            let index =
                CHECKS.iter().position(|c| c.id == violation.check).expect("violations name known checks");
            let meta = METAS[index];
            let key = format!("{}: {}", template.spec_path, violation.key);
            Finding {
                rule: Arc::clone(&RULE_REFS[index]),
                severity: meta.severity,
                message: violation.message,
                location: obj.location(violation.pos),
                object: Some(Arc::clone(&obj.meta)),
                fingerprint: fingerprint(meta.id, &obj.path, Some(&obj.meta), &key),
                vcs: None,
                package: None,
                fixed_version: None,
            }
        })
        .collect()
}

/// Metadata (id `KSO-PSS-<checkId>`, title, severity, documentation) of every check,
/// baseline checks first, for `kubesecops rules`.
pub fn check_metas() -> &'static [&'static RuleMeta] {
    &METAS[..]
}

/// The metadata of the rule for an admission check id (`hostPorts`), if it is one.
pub fn check_meta(check_id: &str) -> Option<&'static RuleMeta> {
    CHECKS.iter().position(|c| c.id == check_id).map(|index| METAS[index])
}

/// Every admission check id this evaluator knows, baseline checks first.
pub fn all_check_ids() -> impl Iterator<Item = &'static str> {
    CHECKS.iter().map(|c| c.id)
}

/// The ids of the checks that run at `level` and `version`, in report order (empty for
/// the privileged level).
pub fn check_ids(level: Level, version: Version) -> Vec<&'static str> {
    active(level, version).into_iter().map(|(check, _)| check.id).collect()
}

/// The restricted check that takes the place of baseline check `check_id` at `level` and
/// `version` (`restrictedVolumes` for `hostPathVolumes` at the restricted level), if any.
pub fn replaced_by(check_id: &str, level: Level, version: Version) -> Option<&'static str> {
    active(level, version)
        .into_iter()
        .find(|(_, since)| since.overrides.contains(&check_id))
        .map(|(check, _)| check.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_in_admission_order_and_match_their_metadata() {
        let baseline: Vec<_> = CHECKS.iter().filter(|c| c.level == Level::Baseline).map(|c| c.id).collect();
        let restricted: Vec<_> =
            CHECKS.iter().filter(|c| c.level == Level::Restricted).map(|c| c.id).collect();
        let mut sorted = baseline.clone();
        sorted.sort_unstable();
        assert_eq!(baseline, sorted);
        let mut sorted = restricted.clone();
        sorted.sort_unstable();
        assert_eq!(restricted, sorted);
        assert_eq!(all_check_ids().collect::<Vec<_>>(), [baseline, restricted].concat());
        for (check, meta) in CHECKS.iter().zip(METAS.iter()) {
            assert_eq!(meta.id, format!("KSO-PSS-{}", check.id));
            let expected = if check.level == Level::Baseline { "HIGH" } else { "MEDIUM" };
            assert_eq!(meta.severity.as_str(), expected, "{}", check.id);
        }
    }

    #[test]
    fn newest_minor_is_the_last_behaviour_change() {
        let newest = CHECKS.iter().flat_map(|c| c.versions.iter().map(|s| s.minor)).max();
        assert_eq!(newest, Some(NEWEST_MINOR));
        for check in CHECKS {
            assert!(check.versions.windows(2).all(|w| w[0].minor < w[1].minor), "{}", check.id);
            for since in check.versions {
                for replaced in since.overrides {
                    assert_eq!(check.level, Level::Restricted, "{}", check.id);
                    let target = CHECKS.iter().find(|c| c.id == *replaced).expect("override names a check");
                    assert_eq!(target.level, Level::Baseline);
                }
            }
        }
    }
}
