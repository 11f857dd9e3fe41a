//! Running the selected rules over objects and the index.

use std::sync::Arc;

use kubesecops_core::{Finding, ObjectRef, RuleMeta, RuleRef};
use kubesecops_k8s::Object;
use rayon::prelude::*;

use crate::rule::{Check, Emitter, IndexEmitter, RuleDef};
use crate::{Config, Index, RULES};

/// Annotation that silences rules on one object: `"KSO-C001=reason, KSV-0017=reason"`.
/// Ids or aliases; the reason is for humans.
pub const IGNORE_ANNOTATION: &str = "kubesecops.io/ignore";

/// The rule ids (or aliases) an object's ignore annotation names.
pub fn ignored_rules(obj: &Object) -> Vec<String> {
    let Some(value) = obj.annotation(IGNORE_ANNOTATION) else { return Vec::new() };
    value
        .split(',')
        .filter_map(|item| {
            let id = item.split_once('=').map_or(item, |(id, _)| id).trim();
            (!id.is_empty()).then(|| id.to_string())
        })
        .collect()
}

/// Runs a chosen set of built-in rules.
pub struct Engine {
    rules: Vec<(&'static RuleDef, Arc<RuleRef>)>,
    config: Config,
}

impl Engine {
    /// An engine running every rule for which `enabled` returns true.
    pub fn new(config: Config, enabled: impl Fn(&RuleMeta) -> bool) -> Engine {
        let rules = RULES
            .iter()
            .filter(|def| enabled(def.meta))
            .map(|def| (*def, Arc::new(RuleRef::from(def.meta))))
            .collect();
        Engine { rules, config }
    }

    /// Number of rules enabled.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Runs the object rules on `obj`, skipping rules its ignore annotation names.
    pub fn check_object(&self, obj: &Object, out: &mut Vec<Finding>) {
        let ignored = ignored_rules(obj);
        for (def, rule) in &self.rules {
            let Check::Object(check) = def.check else { continue };
            if ignored.iter().any(|id| def.meta.matches(id)) {
                continue;
            }
            let mut emitter = Emitter { rule, meta: def.meta, object: obj, out };
            check(obj, &self.config, &mut emitter);
        }
    }

    /// Runs the index rules once every object was added to `index`. Findings about an
    /// object whose ignore annotation names the rule are dropped.
    ///
    /// The rules are independent of each other and run when every file has been scanned, so
    /// they run as parallel tasks (on one thread the other cores sat idle while the RBAC and
    /// NetworkPolicy rules ran). Findings are appended in rule order, as one by one.
    pub fn check_index(&self, index: &Index, out: &mut Vec<Finding>) {
        let per_rule: Vec<Vec<Finding>> = self
            .rules
            .par_iter()
            .filter_map(|(def, rule)| {
                let Check::Index(check) = def.check else { return None };
                let mut found = Vec::new();
                let mut emitter = IndexEmitter { rule, meta: def.meta, out: &mut found };
                check(index, &self.config, &mut emitter);
                found.retain(|f| !index_ignores(index, f.object.as_deref(), def.meta));
                Some(found)
            })
            .collect();
        out.extend(per_rule.into_iter().flatten());
    }
}

fn index_ignores(index: &Index, object: Option<&ObjectRef>, meta: &RuleMeta) -> bool {
    let Some(object) = object else { return false };
    index.ignored.iter().any(|(obj, ids)| **obj == *object && ids.iter().any(|id| meta.matches(id)))
}
