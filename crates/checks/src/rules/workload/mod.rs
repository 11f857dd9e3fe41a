//! Workload placement and identity rules (`KSO-W`): namespaces, service accounts, bare pods.

use kubesecops_k8s::{Node, Object, Pos};

use crate::rule::{Check, RuleDef};

pub mod bare_pod;
pub mod default_namespace;
pub mod default_service_account;
pub mod deprecated_service_account_field;
pub mod system_namespace;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &default_namespace::META, check: Check::Object(default_namespace::check) },
    RuleDef { meta: &system_namespace::META, check: Check::Object(system_namespace::check) },
    RuleDef { meta: &default_service_account::META, check: Check::Object(default_service_account::check) },
    RuleDef {
        meta: &deprecated_service_account_field::META,
        check: Check::Object(deprecated_service_account_field::check),
    },
    RuleDef { meta: &bare_pod::META, check: Check::Object(bare_pod::check) },
];

/// `metadata.namespace` of an object, when written.
fn namespace_node(obj: &Object) -> Option<&Node> {
    obj.metadata()?.get("namespace")
}

/// Where an object-level finding without a more precise field goes: the `kind` line.
fn object_pos(obj: &Object) -> Pos {
    obj.root.key_pos("kind")
}
