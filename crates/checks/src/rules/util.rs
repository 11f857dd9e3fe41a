//! Helpers shared by rules.

use kubesecops_k8s::{Container, Node, Object, PodTemplate};

/// Calls `f` for every container of the object's pod template, if it has one.
pub fn for_each_container<'a>(obj: &'a Object, mut f: impl FnMut(&PodTemplate<'a>, Container<'a>)) {
    if let Some(template) = obj.pod_template() {
        for container in template.containers() {
            f(&template, container);
        }
    }
}

/// A container's `securityContext` field, or `None`.
pub fn sc_field<'a>(container: &Container<'a>, key: &str) -> Option<&'a Node> {
    container.security_context()?.get(key)
}

/// Where a security-context setting a container sees comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The container's own `securityContext`.
    Container,
    /// The pod's `securityContext`, inherited because the container does not set the field.
    Pod,
}

/// The security-context setting at `path` (below `securityContext`) as a container sees it:
/// its own value, else the pod-level value it inherits. An explicit `null` counts as unset.
pub fn effective_sc<'a>(
    template: &PodTemplate<'a>,
    container: &Container<'a>,
    path: &[&str],
) -> Option<(&'a Node, Level)> {
    if let Some(node) = container.security_context().and_then(|sc| sc.path(path)) {
        return Some((node, Level::Container));
    }
    template.get("securityContext").and_then(|sc| sc.path(path)).map(|node| (node, Level::Pod))
}

/// A pod-level `securityContext` field, or `None`.
pub fn pod_sc_field<'a>(template: &PodTemplate<'a>, key: &str) -> Option<&'a Node> {
    template.get("securityContext")?.get(key)
}

/// Where to report a setting a container lacks: its `securityContext` key when it has one,
/// else the container itself.
pub fn sc_anchor(container: &Container<'_>) -> kubesecops_k8s::Pos {
    container.node.key_pos("securityContext")
}

/// Where to report a setting a pod spec lacks: the `spec` key that opens the pod spec.
pub fn pod_spec_anchor(obj: &Object, template: &PodTemplate<'_>) -> kubesecops_k8s::Pos {
    let keys: Vec<&str> = template.spec_path.split('.').collect();
    let Some((last, parents)) = keys.split_last() else { return template.spec.pos };
    obj.root.path(parents).map_or(template.spec.pos, |parent| parent.key_pos(last))
}

/// True when the pod declares `spec.os.name: windows`; Linux-only hardening does not apply.
pub fn is_windows_pod(template: &PodTemplate<'_>) -> bool {
    template.get("os").and_then(|os| os.get("name")).and_then(Node::as_str) == Some("windows")
}

/// A pod annotation's value node (template metadata), for its position.
pub fn pod_annotation_node<'a>(template: &PodTemplate<'a>, key: &str) -> Option<&'a Node> {
    template.metadata?.get("annotations")?.get(key)
}

/// How a value is written, for messages: `false`, `"true" (a string)`, `a mapping`.
pub fn show_value(node: &Node) -> String {
    match &node.value {
        kubesecops_k8s::Value::Scalar(s) if s.plain => s.text.clone(),
        kubesecops_k8s::Value::Scalar(s) => format!("{:?} (a string)", s.text),
        kubesecops_k8s::Value::Seq(_) => "a list".to_string(),
        kubesecops_k8s::Value::Map(_) => "a mapping".to_string(),
    }
}
