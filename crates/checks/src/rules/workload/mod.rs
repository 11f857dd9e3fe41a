//! Rules of the `workload` family.

use crate::rule::RuleDef;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[];
