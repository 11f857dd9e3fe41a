//! Container and pod security-context rules (`KSO-C`).

use crate::rule::{Check, RuleDef};

pub mod privileged;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[RuleDef { meta: &privileged::META, check: Check::Object(privileged::check) }];
