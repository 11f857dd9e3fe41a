//! Kubernetes objects over a [`Node`] tree, and pod-template discovery.

use std::sync::Arc;

use kubesecops_core::{Location, ObjectRef};

use crate::node::{same_key, Node, Pos};

/// One Kubernetes object read from a file.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file it came from (`-` for stdin).
    pub path: Arc<str>,
    /// The whole object.
    pub root: Node,
    /// apiVersion, kind, namespace, name.
    pub meta: Arc<ObjectRef>,
    /// Where the pod template is in `root`, found once when the object is built: every
    /// container rule asks for it, and finding it by key each time was a large share of a
    /// scan. Like `meta`, it describes `root` as it was given to [`Object::from_root`].
    template: TemplateCache,
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
        let mut obj = Object { path, root, meta, template: TemplateCache::Lookup };
        obj.template = TemplateAt::locate(&obj);
        Some(obj)
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
        match &self.template {
            // The positions are checked against the keys; should `root` have been changed
            // since, the template is looked up again by key.
            TemplateCache::At(at) => at.resolve(&self.root).or_else(|| PodTemplate::find(self)),
            TemplateCache::Absent => None,
            TemplateCache::Lookup => PodTemplate::find(self),
        }
    }
}

/// What an object knows of its pod template.
#[derive(Debug, Clone, Copy)]
enum TemplateCache {
    /// The object has none.
    Absent,
    /// It is at this position.
    At(TemplateAt),
    /// Not recorded: looked up by key at each use.
    Lookup,
}

/// The position of a pod template in an object's tree, as entry indices along its key path.
#[derive(Debug, Clone, Copy)]
struct TemplateAt {
    /// Keys from the root to the pod spec.
    keys: &'static [&'static str],
    /// Index of each key's entry in its mapping (only the first `keys.len()` are used).
    indices: [u32; MAX_TEMPLATE_DEPTH],
    /// Index of `metadata` in the mapping that holds the pod spec, when it has one.
    metadata: Option<u32>,
    /// As [`PodTemplate::spec_path`].
    spec_path: &'static str,
}

/// Longest key path to a pod spec: `spec.jobTemplate.spec.template.spec`.
const MAX_TEMPLATE_DEPTH: usize = 5;

/// Index of the entry for `key` in `node`, when its value is not null (as [`Node::get`]).
fn entry_index(node: &Node, key: &str) -> Option<u32> {
    let entries = node.entries();
    let i = entries.iter().position(|e| same_key(&e.key, key))?;
    (!entries[i].value.is_null()).then_some(i as u32)
}

impl TemplateAt {
    /// Finds the pod template as [`PodTemplate::find`] does and records where it is.
    fn locate(obj: &Object) -> TemplateCache {
        match PodTemplate::find(obj) {
            None => TemplateCache::Absent,
            Some(found) => TemplateAt::record(obj, &found).map_or(TemplateCache::Lookup, TemplateCache::At),
        }
    }

    /// The position of `found` in `obj`, when it can be recorded and read back exactly.
    fn record(obj: &Object, found: &PodTemplate<'_>) -> Option<TemplateAt> {
        let keys: &'static [&'static str] = match found.spec_path {
            "spec" => &["spec"],
            "spec.jobTemplate.spec.template.spec" => &["spec", "jobTemplate", "spec", "template", "spec"],
            "spec.template.spec" => &["spec", "template", "spec"],
            "template.spec" => &["template", "spec"],
            _ => return None,
        };
        let mut indices = [0; MAX_TEMPLATE_DEPTH];
        let mut parent = &obj.root;
        let mut node = &obj.root;
        for (slot, key) in indices.iter_mut().zip(keys) {
            *slot = entry_index(node, key)?;
            parent = node;
            node = &node.entries()[*slot as usize].value;
        }
        let metadata = entry_index(parent, "metadata");
        let at = TemplateAt { keys, indices, metadata, spec_path: found.spec_path };
        // Recorded only when reading it back gives exactly what the lookup by key found.
        let back = at.resolve(&obj.root)?;
        (std::ptr::eq(back.spec, found.spec)
            && back.metadata.map(std::ptr::from_ref) == found.metadata.map(std::ptr::from_ref))
        .then_some(at)
    }

    /// The template at the recorded position; `None` when a key there is not the expected one.
    fn resolve<'a>(&self, root: &'a Node) -> Option<PodTemplate<'a>> {
        let mut parent = root;
        let mut node = root;
        for (key, &i) in self.keys.iter().zip(&self.indices) {
            let entry = node.entries().get(i as usize).filter(|e| same_key(&e.key, key))?;
            parent = node;
            node = &entry.value;
        }
        let metadata = match self.metadata {
            Some(i) => Some(&parent.entries().get(i as usize).filter(|e| e.key == "metadata")?.value),
            None => None,
        };
        Some(PodTemplate { spec: node, metadata, spec_path: self.spec_path })
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
        self.key_with("")
    }

    /// [`Container::key`] followed by `suffix`: `containers[web].securityContext.privileged`.
    pub fn key_with(&self, suffix: &str) -> String {
        // Built by hand: rules ask for keys once per container, and `format!` was a few
        // percent of a large scan's time.
        let (field, name) = (self.kind.field(), self.name());
        let mut key = String::with_capacity(field.len() + name.len() + 2 + suffix.len());
        key.push_str(field);
        key.push('[');
        key.push_str(name);
        key.push(']');
        key.push_str(suffix);
        key
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

    #[test]
    fn recorded_template_is_the_one_found_by_key() {
        let texts = [
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b}}\nspec:\n  containers: [{name: a}]\n",
            "apiVersion: v1\nkind: Pod\nmetadata: ~\nspec:\n  containers: [{name: a}]\n",
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: x\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {a: b}}\n        spec:\n          containers: [{name: a}]\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers: [{name: a}]\n",
            "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate:\n  metadata: {name: x}\n  spec:\n    containers: [{name: a}]\n",
        ];
        for text in texts {
            let obj = object(text);
            let (cached, found) = (obj.pod_template().unwrap(), PodTemplate::find(&obj).unwrap());
            assert!(matches!(obj.template, TemplateCache::At(_)), "{text}");
            assert!(std::ptr::eq(cached.spec, found.spec), "{text}");
            assert_eq!(
                cached.metadata.map(std::ptr::from_ref),
                found.metadata.map(std::ptr::from_ref),
                "{text}"
            );
            assert_eq!(cached.spec_path, found.spec_path);
        }
        // A tree changed after the object was built is looked up again.
        let mut obj = object(texts[3]);
        if let crate::node::Value::Map(entries) = &mut obj.root.value {
            entries.swap(2, 3);
        }
        let template = obj.pod_template().unwrap();
        assert_eq!(template.containers().count(), 1);
    }
}
