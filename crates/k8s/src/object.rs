//! Kubernetes objects over a [`Node`] tree, and pod-template discovery.

use std::sync::Arc;

use kubesecops_core::{Location, ObjectRef};

use crate::node::{Node, Pos};

/// One Kubernetes object read from a file.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file it came from (`-` for stdin).
    pub path: Arc<str>,
    /// The whole object.
    pub root: Node,
    /// apiVersion, kind, namespace, name.
    pub meta: Arc<ObjectRef>,
}

impl Object {
    /// Builds an object from a document root; `None` when the root is not a mapping with a
    /// string `kind` and `apiVersion`.
    pub fn from_root(path: Arc<str>, root: Node) -> Option<Object> {
        let api_version = root.get("apiVersion")?.as_str()?.to_string();
        let kind = root.get("kind")?.as_str()?.to_string();
        let metadata = root.get("metadata");
        let field = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Node::as_str);
        let name = field("name").or_else(|| field("generateName")).unwrap_or("").to_string();
        let namespace = field("namespace").unwrap_or("").to_string();
        let meta = Arc::new(ObjectRef { api_version, kind, namespace, name });
        Some(Object { path, root, meta })
    }

    /// `kind` of the object.
    pub fn kind(&self) -> &str {
        &self.meta.kind
    }

    /// The API group (`apps` for `apps/v1`, empty for the core group).
    pub fn group(&self) -> &str {
        self.meta.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// Namespace as written (empty when not set).
    pub fn namespace(&self) -> &str {
        &self.meta.namespace
    }

    /// `metadata` of the object.
    pub fn metadata(&self) -> Option<&Node> {
        self.root.get("metadata")
    }

    /// An annotation of the object itself.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata()?.get("annotations")?.get(key)?.as_str()
    }

    /// A location in this object's file.
    pub fn location(&self, pos: Pos) -> Location {
        Location { path: self.path.clone(), line: Some(pos.line), column: Some(pos.column) }
    }

    /// The pod template of this object, if it carries one (see [`PodTemplate::find`]).
    pub fn pod_template(&self) -> Option<PodTemplate<'_>> {
        PodTemplate::find(self)
    }
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    /// `containers`
    Regular,
    /// `initContainers`
    Init,
    /// `ephemeralContainers`
    Ephemeral,
}

impl ContainerKind {
    /// The pod-spec field name of the list.
    pub fn field(self) -> &'static str {
        match self {
            Self::Regular => "containers",
            Self::Init => "initContainers",
            Self::Ephemeral => "ephemeralContainers",
        }
    }
}

/// One container of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// Which list it is in.
    pub kind: ContainerKind,
    /// Its index in that list.
    pub index: usize,
    /// The container node.
    pub node: &'a Node,
}

impl<'a> Container<'a> {
    /// `name` of the container (empty if missing).
    pub fn name(&self) -> &'a str {
        self.node.get("name").and_then(Node::as_str).unwrap_or("")
    }

    /// `securityContext` of the container.
    pub fn security_context(&self) -> Option<&'a Node> {
        self.node.get("securityContext")
    }

    /// `image` of the container.
    pub fn image(&self) -> Option<&'a str> {
        self.node.get("image").and_then(Node::as_str)
    }

    /// A stable key for fingerprints: `initContainers[setup]`.
    pub fn key(&self) -> String {
        format!("{}[{}]", self.kind.field(), self.name())
    }
}

/// A pod spec and the metadata beside it (the object's own metadata for a Pod, the
/// template's metadata for workloads).
#[derive(Debug, Clone, Copy)]
pub struct PodTemplate<'a> {
    /// The pod `spec`.
    pub spec: &'a Node,
    /// The pod's metadata (labels, annotations), when present.
    pub metadata: Option<&'a Node>,
    /// Dotted path of the spec inside the object, e.g. `spec.jobTemplate.spec.template.spec`.
    pub spec_path: &'static str,
}

/// Paths of pod specs, tried in order. `spec.template.spec` covers Deployment, ReplicaSet,
/// StatefulSet, DaemonSet, Job, ReplicationController and custom resources that embed a pod
/// template (Argo Rollout, OpenShift DeploymentConfig, ...).
const TEMPLATE_PATHS: &[(&[&str], &str)] = &[
    (&["spec", "jobTemplate", "spec", "template"], "spec.jobTemplate.spec.template.spec"),
    (&["spec", "template"], "spec.template.spec"),
    (&["template"], "template.spec"),
];

impl<'a> PodTemplate<'a> {
    /// Finds the pod spec of an object: a Pod's `spec`, a PodTemplate's `template`, a
    /// CronJob's `spec.jobTemplate.spec.template`, or `spec.template` of any other kind
    /// whose template has a `spec.containers` list.
    pub fn find(obj: &'a Object) -> Option<PodTemplate<'a>> {
        let root = &obj.root;
        if obj.kind() == "Pod" && obj.group().is_empty() {
            let spec = root.get("spec")?;
            return Some(PodTemplate { spec, metadata: root.get("metadata"), spec_path: "spec" });
        }
        TEMPLATE_PATHS.iter().find_map(|(path, spec_path)| {
            let template = root.path(path)?;
            let spec = template.get("spec")?;
            spec.get("containers").filter(|c| c.is_seq())?;
            Some(PodTemplate { spec, metadata: template.get("metadata"), spec_path })
        })
    }

    /// Every container: `initContainers`, `containers`, then `ephemeralContainers`.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + 'a {
        let spec = self.spec;
        [ContainerKind::Init, ContainerKind::Regular, ContainerKind::Ephemeral].into_iter().flat_map(
            move |kind| {
                spec.get(kind.field())
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(move |(index, node)| Container { kind, index, node })
            },
        )
    }

    /// A pod-level field of the spec.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.spec.get(key)
    }

    /// A pod annotation (template metadata).
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata?.get("annotations")?.get(key)?.as_str()
    }

    /// Pod labels as (key, value) pairs.
    pub fn labels(&self) -> Vec<(&'a str, &'a str)> {
        self.metadata
            .and_then(|m| m.get("labels"))
            .map(|l| l.entries().iter().filter_map(|e| Some((e.key.as_str(), e.value.as_str()?))).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_documents;

    fn object(text: &str) -> Object {
        let root = parse_documents(text).remove(0).unwrap().root.unwrap();
        Object::from_root(Arc::from("t.yaml"), root).unwrap()
    }

    #[test]
    fn finds_templates_in_every_workload_kind() {
        let pod =
            object("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n");
        assert_eq!(pod.pod_template().unwrap().spec_path, "spec");
        let cron = object(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: n}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: i}]\n          containers: [{name: a}]\n",
        );
        let t = cron.pod_template().unwrap();
        assert_eq!(t.spec_path, "spec.jobTemplate.spec.template.spec");
        let names: Vec<_> = t.containers().map(|c| c.key()).collect();
        assert_eq!(names, ["initContainers[i]", "containers[a]"]);
        assert_eq!(cron.meta.namespace, "n");
        let rollout = object(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n      containers: [{name: a}]\n      ephemeralContainers: [{name: dbg}]\n",
        );
        let t = rollout.pod_template().unwrap();
        assert_eq!(t.labels(), [("app", "r")]);
        assert_eq!(t.containers().count(), 2);
        let cm = object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n");
        assert!(cm.pod_template().is_none());
    }
}
