//! Declaring rules and emitting findings.

use std::sync::Arc;

use kubesecops_core::{fingerprint, Finding, Location, ObjectRef, RuleMeta, RuleRef};
use kubesecops_k8s::{Object, Pos};

use crate::{Config, Index};

/// Declares a rule's static metadata. The doc comment becomes the rule's documentation
/// (`kubesecops rules ID`, `docs/rules/ID.md`).
///
/// ```ignore
/// declare_rule! {
///     /// ## What it checks
///     /// ...
///     pub static META = {
///         id: "KSO-C001",
///         title: "Privileged container",
///         severity: Critical,
///         category: PodSecurity,
///         aliases: ["KSV-0017", "CKV_K8S_16", "C-0057"],
///         frameworks: [Cis("5.2.1"), Pss("baseline:privileged")],
///     };
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $name:ident = {
            id: $id:literal,
            title: $title:literal,
            severity: $severity:ident,
            category: $category:ident,
            aliases: [$($alias:literal),* $(,)?],
            frameworks: [$($fw:ident($control:literal)),* $(,)?] $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub static $name: kubesecops_core::RuleMeta = kubesecops_core::RuleMeta {
            id: $id,
            title: $title,
            severity: kubesecops_core::Severity::$severity,
            category: kubesecops_core::Category::$category,
            aliases: &[$($alias),*],
            frameworks: &[$(kubesecops_core::Framework::$fw($control)),*],
            doc: concat!($($doc, "\n"),*),
        };
    };
}

/// A check over one object.
pub type ObjectCheck = fn(&Object, &Config, &mut Emitter<'_>);
/// A check over the cross-object index, run once after every input was read.
pub type IndexCheck = fn(&Index, &Config, &mut IndexEmitter<'_>);

/// What a rule inspects.
#[derive(Clone, Copy)]
pub enum Check {
    /// One object at a time.
    Object(ObjectCheck),
    /// The index of all objects.
    Index(IndexCheck),
}

/// A built-in rule: metadata plus its check.
pub struct RuleDef {
    /// Id, title, severity, docs, aliases, frameworks.
    pub meta: &'static RuleMeta,
    /// The check.
    pub check: Check,
}

/// Collects one rule's findings on one object.
pub struct Emitter<'a> {
    pub(crate) rule: &'a Arc<RuleRef>,
    pub(crate) meta: &'static RuleMeta,
    pub(crate) object: &'a Object,
    pub(crate) out: &'a mut Vec<Finding>,
}

impl Emitter<'_> {
    /// Reports a finding at `pos` of the object. `key` is a logical name of the offending
    /// field that does not change when lines move (e.g. `containers[web].securityContext.privileged`);
    /// it makes the fingerprint.
    pub fn emit(&mut self, pos: Pos, key: &str, message: impl Into<String>) {
        let object = &self.object.meta;
        self.out.push(Finding {
            rule: Arc::clone(self.rule),
            severity: self.meta.severity,
            message: message.into(),
            location: self.object.location(pos),
            fingerprint: fingerprint(self.meta.id, &self.object.path, Some(object), key),
            vcs: None,
            package: None,
            fixed_version: None,
            object: Some(Arc::clone(object)),
        });
    }
}

/// Collects one index rule's findings; each finding names its own location and object.
pub struct IndexEmitter<'a> {
    pub(crate) rule: &'a Arc<RuleRef>,
    pub(crate) meta: &'static RuleMeta,
    pub(crate) out: &'a mut Vec<Finding>,
}

impl IndexEmitter<'_> {
    /// Reports a finding at `location` about `object`.
    pub fn emit(
        &mut self,
        location: Location,
        object: &Arc<ObjectRef>,
        key: &str,
        message: impl Into<String>,
    ) {
        self.out.push(Finding {
            rule: Arc::clone(self.rule),
            severity: self.meta.severity,
            message: message.into(),
            fingerprint: fingerprint(self.meta.id, &location.path, Some(object), key),
            vcs: None,
            package: None,
            fixed_version: None,
            location,
            object: Some(Arc::clone(object)),
        });
    }
}
