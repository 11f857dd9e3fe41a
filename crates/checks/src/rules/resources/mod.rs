//! Rules of the `resources` family.

use crate::rule::RuleDef;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[];
