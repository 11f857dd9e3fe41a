//! Kubernetes label selectors (`matchLabels` and `matchExpressions`).

use crate::node::Node;

/// One `matchExpressions` requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `In`: the label is set to one of the values.
    In(String, Vec<String>),
    /// `NotIn`: the label is unset or set to none of the values.
    NotIn(String, Vec<String>),
    /// `Exists`: the label is set.
    Exists(String),
    /// `DoesNotExist`: the label is unset.
    DoesNotExist(String),
}

/// A label selector. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    /// `matchLabels` pairs.
    pub match_labels: Vec<(String, String)>,
    /// `matchExpressions` requirements.
    pub expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// Reads a selector node; an unknown operator is an error naming it.
    pub fn from_node(node: &Node) -> Result<LabelSelector, String> {
        let mut sel = LabelSelector::default();
        if let Some(labels) = node.get("matchLabels") {
            for e in labels.entries() {
                sel.match_labels.push((e.key.clone(), e.value.as_str().unwrap_or("").to_string()));
            }
        }
        for expr in node.get("matchExpressions").map(Node::items).unwrap_or_default() {
            let key = expr.get("key").and_then(Node::as_str).unwrap_or("").to_string();
            let values: Vec<String> = expr
                .get("values")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let op = expr.get("operator").and_then(Node::as_str).unwrap_or("");
            sel.expressions.push(match op {
                "In" => Requirement::In(key, values),
                "NotIn" => Requirement::NotIn(key, values),
                "Exists" => Requirement::Exists(key),
                "DoesNotExist" => Requirement::DoesNotExist(key),
                other => return Err(format!("unknown label selector operator {other:?}")),
            });
        }
        Ok(sel)
    }

    /// True when no requirement is set (selects everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether a set of labels satisfies the selector.
    pub fn matches(&self, labels: &[(&str, &str)]) -> bool {
        let get = |k: &str| labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| *v);
        self.match_labels.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.expressions.iter().all(|req| match req {
                Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
                Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
                Requirement::Exists(k) => get(k).is_some(),
                Requirement::DoesNotExist(k) => get(k).is_none(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_documents;

    #[test]
    fn match_labels_and_expressions() {
        let node = parse_documents(
            "matchLabels: {app: web}\nmatchExpressions:\n- {key: tier, operator: In, values: [a, b]}\n- {key: x, operator: DoesNotExist}\n",
        )
        .remove(0)
        .unwrap()
        .root
        .unwrap();
        let sel = LabelSelector::from_node(&node).unwrap();
        assert!(sel.matches(&[("app", "web"), ("tier", "a")]));
        assert!(!sel.matches(&[("app", "web"), ("tier", "c")]));
        assert!(!sel.matches(&[("app", "web"), ("tier", "a"), ("x", "1")]));
        assert!(LabelSelector::default().matches(&[]));
    }
}
