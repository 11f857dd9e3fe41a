//! Kustomize directories: rendered with `kustomize build` (or `kubectl kustomize`), and each
//! rendered object traced back to the file and lines it came from.
//!
//! A scan should judge what would be applied, not the pieces: a base's Deployment may get
//! its namespace, its security context or its image from an overlay. So a directory holding
//! a kustomization is rendered as one input, and the files it reads are not scanned on their
//! own (other files of its tree still are).
//! Findings still point at the files people edit: the directory is rendered through a small
//! wrapper kustomization in a temporary directory that asks for kustomize's
//! `config.kubernetes.io/origin` annotation, which names the file each object came from. The
//! annotation is removed again, and every field found at the same place in that file takes
//! its line and column there; fields that only a patch or a transformer added take the line
//! of their closest ancestor that the file has. With a kustomize too old for origin
//! annotations, the plain rendering is used and objects point at the directory.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use kubesecops_core::ReportError;

use crate::loader::{add_object, failed, find_on_path, load_text, Loaded};
use crate::node::{parse_documents, Node, Pos, Value};

/// The file names kustomize looks for in a directory, in its order.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// The annotation kustomize writes with `buildMetadata: [originAnnotations]`.
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// The kustomization file of `dir`, when it has one.
pub(crate) fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES.iter().map(|name| dir.join(name)).find(|file| file.is_file())
}

/// What the kustomizations found by a walk make of it: the directories to render, and the
/// files they read (which are not scanned on their own: only as rendered).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Kustomizations {
    /// The kustomization directories no other one uses as a resource, base or component
    /// (those are rendered inside their users), in walk order.
    pub(crate) roots: Vec<PathBuf>,
    /// Canonical paths of the files some kustomization reads: its kustomization file,
    /// resources, patches, generator inputs and the like.
    pub(crate) used_files: HashSet<PathBuf>,
}

impl Kustomizations {
    /// Reads the kustomization of each of `dirs`.
    pub(crate) fn of(dirs: Vec<PathBuf>) -> Kustomizations {
        let mut used_dirs = HashSet::new();
        let mut used_files = HashSet::new();
        for dir in &dirs {
            let Some(file) = kustomization_file(dir) else { continue };
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            used_files.extend(std::fs::canonicalize(&file));
            for reference in references(&text) {
                let Ok(canonical) = std::fs::canonicalize(dir.join(reference)) else { continue };
                if canonical.is_dir() {
                    used_dirs.insert(canonical);
                } else {
                    used_files.insert(canonical);
                }
            }
        }
        let roots = dirs
            .into_iter()
            .filter(|dir| {
                std::fs::canonicalize(dir).map_or(true, |canonical| !used_dirs.contains(&canonical))
            })
            .collect();
        Kustomizations { roots, used_files }
    }
}

/// The local paths a kustomization file names, as written (remote URLs come out too, and
/// are dropped by the caller: no such file): resources, bases, components, CRDs, patch
/// files, generator and transformer configurations, generator inputs, replacements, the
/// OpenAPI schema and Helm values files.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut add = |node: Option<&Node>| {
        for item in node.map_or(&[][..], |n| if n.is_seq() { n.items() } else { std::slice::from_ref(n) }) {
            if let Some(text) = item.as_str() {
                // `files` entries may name their key: `key=path`.
                let path = text.split_once('=').map_or(text, |(_, path)| path);
                if !path.is_empty() {
                    found.push(path.to_string());
                }
            }
        }
    };
    for doc in parse_documents(text).into_iter().flatten() {
        let Some(root) = doc.root else { continue };
        for key in [
            "resources",
            "bases",
            "components",
            "crds",
            "configurations",
            "generators",
            "transformers",
            "validators",
            "patchesStrategicMerge",
        ] {
            add(root.get(key));
        }
        for key in ["patches", "patchesJson6902", "replacements"] {
            for item in root.get(key).map(Node::items).unwrap_or_default() {
                add(item.get("path"));
            }
        }
        for key in ["configMapGenerator", "secretGenerator"] {
            for item in root.get(key).map(Node::items).unwrap_or_default() {
                for field in ["files", "envs", "env"] {
                    add(item.get(field));
                }
            }
        }
        add(root.path(&["openapi", "path"]));
        for item in root.get("helmCharts").map(Node::items).unwrap_or_default() {
            add(item.get("valuesFile"));
            add(item.get("additionalValuesFiles"));
        }
    }
    found
}

/// What renders kustomizations on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Renderer {
    /// `kustomize build DIR`.
    Kustomize(PathBuf),
    /// `kubectl kustomize DIR`.
    Kubectl(PathBuf),
}

impl Renderer {
    /// `kustomize` on `PATH`, else `kubectl` (which carries kustomize).
    pub(crate) fn find() -> Option<Renderer> {
        find_on_path("kustomize")
            .map(Renderer::Kustomize)
            .or_else(|| find_on_path("kubectl").map(Renderer::Kubectl))
    }

    fn render(&self, dir: &Path) -> Result<String, String> {
        let (program, verb) = match self {
            Renderer::Kustomize(program) => (program, "build"),
            Renderer::Kubectl(program) => (program, "kustomize"),
        };
        let output = Command::new(program)
            .arg(verb)
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "`{} {verb}` failed ({}): {}",
                program.display(),
                output.status,
                stderr.trim()
            ));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| format!("`{} {verb}` printed non-UTF-8 output", program.display()))
    }
}

/// Renders the kustomization in `dir` (shown as `label`) and loads its objects, each
/// labelled with the file it came from when the renderer says so.
pub(crate) fn load_kustomization(dir: &Path, label: Arc<str>, renderer: Option<&Renderer>) -> Loaded {
    let Some(renderer) = renderer else {
        return failed(
            &label,
            "kustomization not scanned: neither `kustomize` nor `kubectl` is on PATH; install one, \
             or render it with `kustomize build` and scan the output"
                .to_string(),
        );
    };
    let traced = std::fs::canonicalize(dir).map_err(|e| e.to_string()).and_then(|canonical_dir| {
        let (text, wrapper) = render_with_origins(&canonical_dir, renderer)?;
        Ok(load_traced(&label, &canonical_dir, &wrapper, &text))
    });
    match traced {
        Ok(loaded) => loaded,
        // An older kustomize rejects `buildMetadata`: the plain rendering still judges the
        // objects, which then point at the directory.
        Err(_) => match renderer.render(dir) {
            Ok(text) => load_text(label, &text),
            Err(message) => failed(&label, message),
        },
    }
}

/// Renders `canonical_dir` through a wrapper kustomization asking for origin annotations.
/// Returns the output and the wrapper's directory (gone by then: origins are relative to it).
fn render_with_origins(canonical_dir: &Path, renderer: &Renderer) -> Result<(String, PathBuf), String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::fs::canonicalize(std::env::temp_dir()).map_err(|e| e.to_string())?;
    let wrapper = base.join(format!(
        "kubesecops-kustomize-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&wrapper).map_err(|e| e.to_string())?;
    // kustomize refuses absolute resource paths: the wrapper names the directory relative to
    // itself. The path goes in as a JSON string, which YAML reads as it is.
    let relative = relative_path(&wrapper, canonical_dir);
    let resource = serde_json::to_string(&relative.to_string_lossy()).map_err(|e| e.to_string())?;
    let text = format!("resources:\n- {resource}\nbuildMetadata: [originAnnotations]\n");
    let rendered = std::fs::write(wrapper.join("kustomization.yaml"), text)
        .map_err(|e| e.to_string())
        .and_then(|()| renderer.render(&wrapper));
    let _ = std::fs::remove_dir_all(&wrapper);
    rendered.map(|text| (text, wrapper))
}

/// Loads rendered objects, moving each to the file its origin annotation names.
fn load_traced(label: &Arc<str>, canonical_dir: &Path, wrapper: &Path, text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    let mut sources = SourceFiles::default();
    for doc in parse_documents(text) {
        let mut root = match doc {
            Ok(doc) => match doc.root {
                Some(root) => root,
                None => continue,
            },
            Err(err) => {
                loaded.errors.push(ReportError::at(
                    &**label,
                    Some(err.line),
                    format!(
                        "the rendered kustomization is not valid YAML (column {}): {}",
                        err.column, err.message
                    ),
                ));
                continue;
            }
        };
        let origin = take_origin(&mut root).map(|path| lexical_normal(&wrapper.join(path)));
        let source = origin.as_ref().and_then(|file| sources.document_like(file, &root).cloned());
        let object_label = match (origin, source) {
            (Some(file), Some(source)) => {
                retarget(&mut root, &source, source.pos);
                sources.label(display_path(label, canonical_dir, &file))
            }
            _ => Arc::clone(label),
        };
        let line = root.pos.line;
        add_object(&object_label, root, line, &mut loaded, None);
    }
    loaded
}

/// Removes the origin annotation (and `annotations`, when kustomize added it only for that)
/// and returns the `path` it gave. Generated objects and remote resources have none.
fn take_origin(root: &mut Node) -> Option<String> {
    let Value::Map(fields) = &mut root.value else { return None };
    let metadata = fields.iter_mut().find(|e| e.key == "metadata")?;
    let Value::Map(meta) = &mut metadata.value.value else { return None };
    let at = meta.iter().position(|e| e.key == "annotations")?;
    let Value::Map(annotations) = &mut meta[at].value.value else { return None };
    let index = annotations.iter().position(|e| e.key == ORIGIN_ANNOTATION)?;
    let origin = annotations.remove(index).value;
    if annotations.is_empty() {
        meta.remove(at);
    }
    let text = origin.as_str()?;
    let doc = parse_documents(text).into_iter().next()?.ok()?.root?;
    // A resource fetched from a repository names a path inside it, not on this disk.
    if doc.get("repo").is_some() {
        return None;
    }
    doc.get("path").and_then(Node::as_str).map(str::to_string)
}

/// Source files read for one rendering, and one label per file.
#[derive(Default)]
struct SourceFiles {
    documents: HashMap<PathBuf, Vec<Node>>,
    labels: HashMap<String, Arc<str>>,
}

impl SourceFiles {
    /// The document of `file` that `rendered` came from: of those of its kind, the one with
    /// its name, else the one with the longest name the rendered name contains (kustomize
    /// adds prefixes and suffixes), else the first.
    fn document_like(&mut self, file: &Path, rendered: &Node) -> Option<&Node> {
        let documents = self.documents.entry(file.to_path_buf()).or_insert_with(|| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            parse_documents(&text).into_iter().filter_map(|doc| doc.ok()?.root).collect()
        });
        let kind = |node: &Node| node.get("kind").and_then(Node::as_str).map(str::to_string);
        let name =
            |node: &Node| node.path(&["metadata", "name"]).and_then(Node::as_str).unwrap_or("").to_string();
        let (rendered_kind, rendered_name) = (kind(rendered), name(rendered));
        // Each document of the rendered kind, with its name.
        let same_kind: Vec<(&Node, String)> =
            documents.iter().filter(|doc| kind(doc) == rendered_kind).map(|doc| (doc, name(doc))).collect();
        let exact = same_kind.iter().find(|(_, n)| *n == rendered_name);
        let contained = || {
            same_kind
                .iter()
                .filter(|(_, n)| !n.is_empty() && rendered_name.contains(n.as_str()))
                .max_by_key(|(_, n)| n.len())
        };
        exact.or_else(contained).or_else(|| same_kind.first()).map(|(doc, _)| *doc)
    }

    fn label(&mut self, display: String) -> Arc<str> {
        Arc::clone(self.labels.entry(display.clone()).or_insert_with(|| Arc::from(display)))
    }
}

/// Gives every node of `rendered` the position of the node at the same place in `source`.
/// A field the source does not have takes `anchor`: the line of its closest ancestor's
/// field there. List items are paired by `name` when they have one (containers, volumes,
/// env), else by index.
fn retarget(rendered: &mut Node, source: &Node, anchor: Pos) {
    rendered.pos = source.pos;
    match &mut rendered.value {
        Value::Scalar(_) => {}
        Value::Map(entries) => {
            for entry in entries {
                match source.entry(&entry.key) {
                    Some(found) => {
                        entry.key_pos = found.key_pos;
                        retarget(&mut entry.value, &found.value, found.key_pos);
                    }
                    None => {
                        entry.key_pos = anchor;
                        set_all(&mut entry.value, anchor);
                    }
                }
            }
        }
        Value::Seq(items) => {
            let originals = source.items();
            for (index, item) in items.iter_mut().enumerate() {
                let paired = match item.get("name").and_then(Node::as_str) {
                    Some(name) => {
                        originals.iter().find(|o| o.get("name").and_then(Node::as_str) == Some(name))
                    }
                    None => originals.get(index),
                };
                match paired {
                    Some(original) => retarget(item, original, original.pos),
                    None => set_all(item, anchor),
                }
            }
        }
    }
}

fn set_all(node: &mut Node, pos: Pos) {
    node.pos = pos;
    match &mut node.value {
        Value::Scalar(_) => {}
        Value::Seq(items) => items.iter_mut().for_each(|item| set_all(item, pos)),
        Value::Map(entries) => entries.iter_mut().for_each(|entry| {
            entry.key_pos = pos;
            set_all(&mut entry.value, pos);
        }),
    }
}

/// `file` as reports show it: under the kustomization's label when it is inside the
/// directory, else reached from it with `..` (so relative inputs give relative paths).
fn display_path(label: &str, canonical_dir: &Path, file: &Path) -> String {
    let shown = Path::new(label).join(relative_path(canonical_dir, file));
    lexical_normal(&shown).display().to_string()
}

/// The path from directory `from` to `to`, both absolute and free of `.` and `..`.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part);
    }
    path
}

/// `path` with `.` dropped and each `..` cancelling the name before it, without asking the
/// file system (leading `..` of a relative path stay).
fn lexical_normal(path: &Path) -> PathBuf {
    let mut parts: Vec<Component> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(part),
            },
            other => parts.push(other),
        }
    }
    let normal: PathBuf = parts.iter().collect();
    if normal.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, name: &str, text: &str) {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const BASE_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n      - name: side\n        image: busybox\n";

    #[test]
    fn overlays_are_rendered_and_what_they_read_is_not_scanned_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "base/kustomization.yaml", "resources:\n- deployment.yaml\n");
        write(root, "base/deployment.yaml", BASE_DEPLOYMENT);
        write(
            root,
            "overlays/prod/kustomization.yml",
            "resources:\n- ../../base\n- https://example.com/x\npatches:\n- path: patch.yaml\n- patch: |-\n    inline\npatchesStrategicMerge: [sm.yaml]\nconfigMapGenerator:\n- name: c\n  files: [key=conf/app.json]\n  envs: [app.env]\n",
        );
        for name in ["patch.yaml", "sm.yaml", "conf/app.json", "app.env", "unused.yaml"] {
            write(root, &format!("overlays/prod/{name}"), "");
        }
        write(root, "lonely/Kustomization", "resources: []\n");
        let found =
            Kustomizations::of(vec![root.join("base"), root.join("lonely"), root.join("overlays/prod")]);
        assert_eq!(found.roots, vec![root.join("lonely"), root.join("overlays/prod")]);
        let canonical = |name: &str| std::fs::canonicalize(root.join(name)).unwrap();
        let mut used: Vec<PathBuf> = found.used_files.into_iter().collect();
        used.sort();
        let mut expected: Vec<PathBuf> = [
            "base/deployment.yaml",
            "base/kustomization.yaml",
            "lonely/Kustomization",
            "overlays/prod/app.env",
            "overlays/prod/conf/app.json",
            "overlays/prod/kustomization.yml",
            "overlays/prod/patch.yaml",
            "overlays/prod/sm.yaml",
        ]
        .iter()
        .map(|name| canonical(name))
        .collect();
        expected.sort();
        assert_eq!(used, expected);
    }

    #[test]
    fn paths_are_shown_from_the_label() {
        assert_eq!(
            relative_path(Path::new("/a/b/c"), Path::new("/a/d/e.yaml")),
            PathBuf::from("../../d/e.yaml")
        );
        assert_eq!(relative_path(Path::new("/tmp/w"), Path::new("/tmp/w/x")), PathBuf::from("x"));
        assert_eq!(
            lexical_normal(Path::new("k/overlays/prod/../../base/d.yaml")),
            PathBuf::from("k/base/d.yaml")
        );
        assert_eq!(lexical_normal(Path::new("../k/./a/../b")), PathBuf::from("../k/b"));
        assert_eq!(lexical_normal(Path::new("/../a")), PathBuf::from("/a"));
        assert_eq!(
            display_path("k/overlays/prod", Path::new("/r/k/overlays/prod"), Path::new("/r/k/base/d.yaml")),
            "k/base/d.yaml"
        );
        assert_eq!(display_path("/r/k", Path::new("/r/k"), Path::new("/r/k/d.yaml")), "/r/k/d.yaml");
    }

    #[test]
    fn origins_are_taken_out_of_the_object() {
        let text = "metadata:\n  name: web\n  annotations:\n    config.kubernetes.io/origin: |\n      path: ../b/d.yaml\n";
        let mut root = parse_documents(text).remove(0).unwrap().root.unwrap();
        assert_eq!(take_origin(&mut root).as_deref(), Some("../b/d.yaml"));
        assert!(root.path(&["metadata", "annotations"]).is_none());

        let text = "metadata:\n  annotations:\n    keep: x\n    config.kubernetes.io/origin: |\n      path: d.yaml\n      repo: https://github.com/o/r\n";
        let mut root = parse_documents(text).remove(0).unwrap().root.unwrap();
        assert_eq!(take_origin(&mut root), None);
        assert!(root.path(&["metadata", "annotations", "keep"]).is_some());
        assert!(root.path(&["metadata", "annotations", ORIGIN_ANNOTATION]).is_none());
    }

    #[test]
    fn rendered_fields_take_the_lines_of_the_source() {
        // As kustomize prints the base with an overlay's namespace, a patched security
        // context and the containers in its order (keys sorted).
        let rendered = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: prod-web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n      - image: busybox\n        name: side\n      - image: nginx:1.25\n        name: web\n        securityContext:\n          privileged: true\n";
        let mut root = parse_documents(rendered).remove(0).unwrap().root.unwrap();
        let source = parse_documents(BASE_DEPLOYMENT).remove(0).unwrap().root.unwrap();
        retarget(&mut root, &source, source.pos);
        let line = |keys: &[&str]| root.path(keys).unwrap().pos.line;
        assert_eq!(line(&["metadata", "name"]), 4);
        // Added by the overlay: the line of `metadata`, its closest ancestor in the base.
        assert_eq!(root.path(&["metadata"]).unwrap().entry("namespace").unwrap().key_pos.line, 3);
        let containers = root.path(&["spec", "template", "spec", "containers"]).unwrap().items();
        // Paired by name, not by index.
        assert_eq!(containers[0].get("image").unwrap().pos.line, 12);
        assert_eq!(containers[1].get("image").unwrap().pos.line, 10);
        // The patched field: the line of its container in the base.
        assert_eq!(containers[1].path(&["securityContext", "privileged"]).unwrap().pos.line, 9);
    }

    #[test]
    fn the_source_document_is_found_by_kind_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("all.yaml");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: db-config}\n",
        )
        .unwrap();
        let rendered = parse_documents("kind: ConfigMap\nmetadata: {name: team-db-config-v1}\n")
            .remove(0)
            .unwrap()
            .root
            .unwrap();
        let mut files = SourceFiles::default();
        assert_eq!(files.document_like(&file, &rendered).unwrap().pos.line, 9);
        let exact =
            parse_documents("kind: ConfigMap\nmetadata: {name: config}\n").remove(0).unwrap().root.unwrap();
        assert_eq!(files.document_like(&file, &exact).unwrap().pos.line, 5);
        let other =
            parse_documents("kind: Secret\nmetadata: {name: db-config}\n").remove(0).unwrap().root.unwrap();
        assert!(files.document_like(&file, &other).is_none());
    }

    #[test]
    fn without_a_renderer_the_kustomization_is_an_error() {
        let loaded = load_kustomization(Path::new("k"), Arc::from("k"), None);
        assert!(loaded.objects.is_empty());
        assert_eq!(loaded.errors.len(), 1);
        assert!(
            loaded.errors[0].message.contains("neither `kustomize` nor `kubectl`"),
            "{:?}",
            loaded.errors
        );
    }
}
