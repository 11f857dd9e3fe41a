//! The pod as the checks see it, and how they report.
//!
//! The admission controller works on decoded Go structs, so the helpers here give the Go
//! meaning of a field: an absent key and an explicit `null` are both "unset" (a nil pointer),
//! a string field that is unset reads as `""`, and a bool or integer of the wrong YAML type
//! (which the API server would refuse to decode) counts as unset.

use kubesecops_k8s::{Container, Entry, Node, PodTemplate, Pos};

use super::Violation;

/// The pod spec and pod metadata under evaluation.
pub(crate) struct Pod<'a> {
    /// The pod `spec`.
    pub spec: &'a Node,
    /// The pod metadata (a workload's template metadata).
    pub metadata: Option<&'a Node>,
    /// Init, regular then ephemeral containers, the admission's visiting order.
    pub containers: Vec<Container<'a>>,
    /// A Pod object rather than a workload's template: the API server applies defaults
    /// to Pods that it no longer applies to templates.
    pub is_pod: bool,
}

impl<'a> Pod<'a> {
    pub fn new(template: &PodTemplate<'a>) -> Pod<'a> {
        Pod {
            spec: template.spec,
            metadata: template.metadata,
            containers: template.containers().collect(),
            is_pod: template.spec_path == "spec",
        }
    }

    /// The pod-level `securityContext`.
    pub fn security_context(&self) -> Option<&'a Node> {
        self.spec.get("securityContext")
    }

    /// `spec.os.name` is `windows`: some restricted checks exempt such pods from v1.25.
    pub fn is_windows(&self) -> bool {
        self.spec.path(&["os", "name"]).and_then(Node::as_str) == Some("windows")
    }

    /// `spec.hostUsers: false`: the pod runs in its own user namespace.
    pub fn in_user_namespace(&self) -> bool {
        self.spec.get("hostUsers").and_then(Node::as_bool) == Some(false)
    }

    /// The pod's annotations as written (an annotation set to `null` is present with `""`).
    pub fn annotations(&self) -> &'a [Entry] {
        self.metadata.and_then(|m| m.get("annotations")).map_or(&[], Node::entries)
    }

    /// The pod's `volumes`.
    pub fn volumes(&self) -> &'a [Node] {
        self.spec.get("volumes").map_or(&[], Node::items)
    }
}

/// A container's `securityContext` field.
pub(crate) fn container_field<'a>(container: &Container<'a>, key: &str) -> Option<&'a Node> {
    container.security_context()?.get(key)
}

/// A bool field with pointer semantics: `None` when unset or not a bool.
pub(crate) fn opt_bool(parent: Option<&Node>, key: &str) -> Option<bool> {
    parent?.get(key)?.as_bool()
}

/// A string field as Go reads it: `""` when unset.
pub(crate) fn string_field<'a>(parent: &'a Node, key: &str) -> &'a str {
    parent.get(key).and_then(Node::as_str).unwrap_or("")
}

/// The scalar text of a list item or map value, `""` for null.
pub(crate) fn text(node: &Node) -> &str {
    node.as_str().unwrap_or("")
}

/// Where a missing or offending field would be: the key of the deepest part of `path` that
/// is written under `node`, or `node` itself.
pub(crate) fn pos_along(node: &Node, path: &[&str]) -> Pos {
    let mut current = node;
    let mut pos = node.pos;
    for key in path {
        let Some(entry) = current.entry(key) else { break };
        pos = entry.key_pos;
        if entry.value.is_null() {
            break;
        }
        current = &entry.value;
    }
    pos
}

/// `name` of a list item (volume, sysctl), `""` when missing.
pub(crate) fn item_name(node: &Node) -> &str {
    string_field(node, "name")
}

/// Collects one check's violations.
pub(crate) struct Sink<'s> {
    pub check: &'static str,
    pub out: &'s mut Vec<Violation>,
}

impl Sink<'_> {
    /// Records a violation at `pos`; `key` names the field independently of its line.
    pub fn report(&mut self, pos: Pos, key: String, message: String) {
        self.out.push(Violation { check: self.check, message, pos, key });
    }
}
