//! The seccomp and AppArmor profile a container ends up with, from the fields and from the
//! legacy annotations that older manifests still carry (`KSO-C016` to `KSO-C018`, `KSO-C029`).

use kubesecops_k8s::{Container, Node, PodTemplate};

use crate::rules::util::{effective_sc, pod_annotation_node, Level};

/// What a profile setting amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The runtime's default profile or a profile on the node (`RuntimeDefault`, `Localhost`).
    Confined,
    /// No profile at all.
    Unconfined,
    /// A value Kubernetes does not define.
    Unknown,
}

/// Where a profile setting was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A `securityContext` field.
    Field,
    /// A legacy annotation on the pod (template) metadata.
    Annotation,
}

/// The setting in effect for one container.
#[derive(Debug, Clone, Copy)]
pub struct Setting<'a> {
    /// The value node.
    pub node: &'a Node,
    /// What it amounts to.
    pub profile: Profile,
    /// Container or pod level.
    pub level: Level,
    /// Field or annotation.
    pub source: Source,
}

impl Setting<'_> {
    /// `the pod's seccompProfile`, `the container's annotation`, ... for messages.
    pub fn origin(&self) -> &'static str {
        match (self.level, self.source) {
            (Level::Container, Source::Field) => "its securityContext",
            (Level::Pod, Source::Field) => "the pod securityContext",
            (Level::Container, Source::Annotation) => "its legacy annotation",
            (Level::Pod, Source::Annotation) => "the pod's legacy annotation",
        }
    }
}

/// Legacy seccomp annotation for the whole pod.
pub const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// Legacy seccomp annotation prefix for one container (the container name follows).
pub const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";
/// Legacy AppArmor annotation prefix for one container (the container name follows).
pub const APPARMOR_CONTAINER_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

fn field_profile(node: &Node) -> Profile {
    match node.as_str() {
        Some("RuntimeDefault" | "Localhost") => Profile::Confined,
        Some("Unconfined") => Profile::Unconfined,
        _ => Profile::Unknown,
    }
}

fn annotation_profile(node: &Node, defaults: &[&str]) -> Profile {
    match node.as_str().unwrap_or("") {
        "unconfined" => Profile::Unconfined,
        value if defaults.contains(&value) || value.starts_with("localhost/") => Profile::Confined,
        _ => Profile::Unknown,
    }
}

fn annotation<'a>(template: &PodTemplate<'a>, key: &str) -> Option<&'a Node> {
    // An empty annotation value means "not set" to the kubelet and to Pod Security.
    pod_annotation_node(template, key).filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
}

/// The seccomp profile a container gets, in the kubelet's order of precedence: container
/// field, container annotation, pod field, pod annotation.
pub fn seccomp<'a>(template: &PodTemplate<'a>, container: &Container<'a>) -> Option<Setting<'a>> {
    const DEFAULTS: &[&str] = &["runtime/default", "docker/default"];
    let field = effective_sc(template, container, &["seccompProfile", "type"]);
    if let Some((node, Level::Container)) = field {
        return Some(Setting {
            node,
            profile: field_profile(node),
            level: Level::Container,
            source: Source::Field,
        });
    }
    let key = format!("{SECCOMP_CONTAINER_ANNOTATION}{}", container.name());
    if let Some(node) = annotation(template, &key) {
        let profile = annotation_profile(node, DEFAULTS);
        return Some(Setting { node, profile, level: Level::Container, source: Source::Annotation });
    }
    if let Some((node, level)) = field {
        return Some(Setting { node, profile: field_profile(node), level, source: Source::Field });
    }
    let node = annotation(template, SECCOMP_POD_ANNOTATION)?;
    Some(Setting {
        node,
        profile: annotation_profile(node, DEFAULTS),
        level: Level::Pod,
        source: Source::Annotation,
    })
}

/// The AppArmor profile a container gets: container field, container annotation, pod field.
pub fn apparmor<'a>(template: &PodTemplate<'a>, container: &Container<'a>) -> Option<Setting<'a>> {
    let field = effective_sc(template, container, &["appArmorProfile", "type"]);
    if let Some((node, Level::Container)) = field {
        return Some(Setting {
            node,
            profile: field_profile(node),
            level: Level::Container,
            source: Source::Field,
        });
    }
    let key = format!("{APPARMOR_CONTAINER_ANNOTATION}{}", container.name());
    if let Some(node) = annotation(template, &key) {
        let profile = annotation_profile(node, &["runtime/default"]);
        return Some(Setting { node, profile, level: Level::Container, source: Source::Annotation });
    }
    field.map(|(node, level)| Setting { node, profile: field_profile(node), level, source: Source::Field })
}
