//! The explicit list of every built-in rule. No registration magic: a rule exists when it
//! is listed in its family's `RULES` slice and that slice is chained here.

use std::sync::LazyLock;

use crate::rule::RuleDef;
use crate::rules;

/// Every built-in rule, grouped by family in a fixed order.
pub static RULES: LazyLock<Vec<&'static RuleDef>> = LazyLock::new(|| {
    [
        rules::pod::RULES,
        rules::host::RULES,
        rules::image::RULES,
        rules::resources::RULES,
        rules::workload::RULES,
        rules::network::RULES,
        rules::rbac::RULES,
        rules::secrets::RULES,
        rules::cluster::RULES,
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// The rule with this id or alias (case-insensitive).
pub fn find_rule(name: &str) -> Option<&'static RuleDef> {
    RULES.iter().copied().find(|def| def.meta.matches(name))
}
