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
