//! Finding and reading manifest inputs: files, directories, stdin, Helm charts and
//! kustomizations.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use kubesecops_core::ReportError;

use crate::kustomize;
use crate::node::{parse_documents, Node, Value};
use crate::object::Object;

/// One input to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A manifest file (YAML or JSON, one or many documents).
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A directory holding `Chart.yaml`, rendered with `helm template`.
    HelmChart(PathBuf),
    /// A directory holding a kustomization (`kustomization.yaml`, `kustomization.yml` or
    /// `Kustomization`), rendered with `kustomize build` or `kubectl kustomize`.
    Kustomization(PathBuf),
}

impl Source {
    /// The path shown in reports.
    pub fn display(&self) -> String {
        match self {
            Source::File(p) | Source::HelmChart(p) | Source::Kustomization(p) => p.display().to_string(),
            Source::Stdin => "-".to_string(),
        }
    }
}

/// Options for loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--helm-values FILE`, in order.
    pub helm_values: Vec<PathBuf>,
    /// `--helm-set key=value`, in order.
    pub helm_set: Vec<String>,
}

/// What loading one source gave.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The Kubernetes objects, `List` items expanded.
    pub objects: Vec<Object>,
    /// Documents that could not be read or parsed.
    pub errors: Vec<ReportError>,
    /// Documents that parsed but are not Kubernetes objects (said, not scanned).
    pub skipped: Vec<ReportError>,
}

const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Expands user-given paths into sources. Directories are walked recursively honouring
/// `.gitignore` (and `.ignore`); only `.yaml`, `.yml` and `.json` files are taken from them,
/// while a file named explicitly is read whatever its extension. A directory holding
/// `Chart.yaml` becomes a [`Source::HelmChart`] and is not walked further. A directory
/// holding a kustomization becomes a [`Source::Kustomization`] unless another kustomization
/// found in the walk uses it (it is rendered inside that one); the files kustomizations read
/// are not sources of their own, the other files of their trees are.
pub fn discover(paths: &[PathBuf]) -> (Vec<Source>, Vec<ReportError>) {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            sources.push(Source::Stdin);
        } else if is_helm_chart(path) {
            // Named itself, a chart is one input: the walk below would only see the charts
            // under it.
            sources.push(Source::HelmChart(path.clone()));
        } else if path.is_dir() {
            walk_dir(path, &mut sources, &mut errors);
        } else if path.is_file() {
            sources.push(Source::File(path.clone()));
        } else {
            errors.push(ReportError::at(path.display().to_string(), None, "no such file or directory"));
        }
    }
    (sources, errors)
}

/// Whether `dir` is a Helm chart (holds `Chart.yaml`).
fn is_helm_chart(dir: &Path) -> bool {
    dir.join("Chart.yaml").is_file()
}

fn walk_dir(root: &Path, sources: &mut Vec<Source>, errors: &mut Vec<ReportError>) {
    let charts = Arc::new(Mutex::new(Vec::new()));
    let charts_in_filter = Arc::clone(&charts);
    let walker = ignore::WalkBuilder::new(root)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            let is_chart = entry.file_type().is_some_and(|t| t.is_dir()) && is_helm_chart(entry.path());
            if is_chart {
                charts_in_filter.lock().expect("chart list lock").push(entry.path().to_path_buf());
            }
            !is_chart
        })
        .build();
    let mut files = Vec::new();
    let mut kustomization_dirs = Vec::new();
    for entry in walker {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if is_dir && kustomize::kustomization_file(path).is_some() {
                    kustomization_dirs.push(path.to_path_buf());
                }
                let is_manifest = entry.file_type().is_some_and(|t| t.is_file())
                    && path
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| MANIFEST_EXTENSIONS.iter().any(|m| m.eq_ignore_ascii_case(e)));
                if is_manifest {
                    files.push(path.to_path_buf());
                }
            }
            Err(err) => errors.push(ReportError::at(root.display().to_string(), None, err.to_string())),
        }
    }
    let kustomizations = kustomize::Kustomizations::of(kustomization_dirs);
    sources.extend(
        files
            .into_iter()
            .filter(|file| {
                kustomizations.used_files.is_empty()
                    || std::fs::canonicalize(file).map_or(true, |c| !kustomizations.used_files.contains(&c))
            })
            .map(Source::File),
    );
    let charts = std::mem::take(&mut *charts.lock().expect("chart list lock"));
    sources.extend(charts.into_iter().map(Source::HelmChart));
    sources.extend(kustomizations.roots.into_iter().map(Source::Kustomization));
}

/// Reads and parses one source.
pub fn load_source(source: &Source, options: &LoadOptions) -> Loaded {
    let label: Arc<str> = Arc::from(source.display());
    match source {
        Source::File(path) => match std::fs::read(path) {
            Ok(bytes) => load_bytes(label, bytes),
            Err(err) => failed(&label, format!("cannot read: {err}")),
        },
        Source::Stdin => {
            let mut bytes = Vec::new();
            match std::io::stdin().lock().read_to_end(&mut bytes) {
                Ok(_) => load_bytes(label, bytes),
                Err(err) => failed(&label, format!("cannot read standard input: {err}")),
            }
        }
        Source::HelmChart(dir) => match render_helm(dir, options) {
            Ok(text) => load_text(label, &text),
            Err(message) => failed(&label, message),
        },
        Source::Kustomization(dir) => {
            kustomize::load_kustomization(dir, label, kustomize::Renderer::find().as_ref())
        }
    }
}

pub(crate) fn failed(label: &str, message: String) -> Loaded {
    Loaded { errors: vec![ReportError::at(label, None, message)], ..Loaded::default() }
}

fn load_bytes(label: Arc<str>, bytes: Vec<u8>) -> Loaded {
    match String::from_utf8(bytes) {
        Ok(text) => load_text(label, &text),
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let line = err.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            Loaded {
                errors: vec![ReportError::at(&*label, Some(line), "not UTF-8 text (binary file?)")],
                ..Loaded::default()
            }
        }
    }
}

/// Parses a manifest stream already in memory. `label` is the path shown in reports.
pub fn load_text(label: Arc<str>, text: &str) -> Loaded {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut loaded = Loaded::default();
    for doc in parse_documents(text) {
        match doc {
            Ok(doc) => {
                if let Some(root) = doc.root {
                    let line = root.pos.line;
                    add_object(&label, root, line, &mut loaded, None);
                }
            }
            Err(err) => loaded.errors.push(ReportError::at(
                &*label,
                Some(err.line),
                format!("invalid YAML/JSON (column {}): {}", err.column, err.message),
            )),
        }
    }
    loaded
}

/// Adds a document's object, expanding `List` and `*List` kinds. `inherited` gives the
/// apiVersion and kind of typed list items that omit them (`PodList` items).
pub(crate) fn add_object(
    label: &Arc<str>,
    mut root: Node,
    line: u32,
    loaded: &mut Loaded,
    inherited: Option<(&str, &str)>,
) {
    if !root.is_map() {
        loaded.skipped.push(ReportError::at(
            &**label,
            Some(line),
            "document is not a mapping: not a Kubernetes object",
        ));
        return;
    }
    if let (Some((api_version, kind)), Value::Map(entries)) = (inherited, &mut root.value) {
        let pos = root.pos;
        for (key, value) in [("apiVersion", api_version), ("kind", kind)] {
            if !entries.iter().any(|e| e.key == key) {
                entries.push(crate::node::Entry {
                    key: key.to_string(),
                    key_pos: pos,
                    value: Node {
                        pos,
                        value: Value::Scalar(crate::node::Scalar { text: value.to_string(), plain: false }),
                    },
                });
            }
        }
    }
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or("").to_string();
    if kind.ends_with("List") && root.get("items").is_some_and(Node::is_seq) {
        let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("v1").to_string();
        let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
        let Value::Map(entries) = root.value else { return };
        let items = entries.into_iter().find(|e| e.key == "items").map(|e| e.value);
        if let Some(Node { value: Value::Seq(items), .. }) = items {
            for item in items {
                let item_line = item.pos.line;
                let inherit = (!item_kind.is_empty()).then_some((api_version.as_str(), item_kind.as_str()));
                add_object(label, item, item_line, loaded, inherit);
            }
        }
        return;
    }
    match Object::from_root(Arc::clone(label), root) {
        Some(obj) => loaded.objects.push(obj),
        None => loaded.skipped.push(ReportError::at(
            &**label,
            Some(line),
            "document has no apiVersion/kind: not a Kubernetes object",
        )),
    }
}

/// Finds an executable named `name` on `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| {
        use std::os::unix::fs::PermissionsExt;
        candidate.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

fn render_helm(dir: &Path, options: &LoadOptions) -> Result<String, String> {
    let helm = find_on_path("helm").ok_or_else(|| {
        "Helm chart (Chart.yaml) not scanned: the `helm` binary is not on PATH; install helm or \
         render the chart with `helm template` and scan the output"
            .to_string()
    })?;
    let mut cmd = Command::new(helm);
    cmd.arg("template").arg(dir);
    for values in &options.helm_values {
        cmd.arg("--values").arg(values);
    }
    for set in &options.helm_set {
        cmd.arg("--set").arg(set);
    }
    let output = cmd.output().map_err(|e| format!("cannot run helm: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("helm template failed ({}): {}", output.status, stderr.trim()));
    }
    String::from_utf8(output.stdout).map_err(|_| "helm template printed non-UTF-8 output".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_expanded_with_item_lines() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n";
        let loaded = load_text(Arc::from("l.yaml"), text);
        let names: Vec<_> = loaded.objects.iter().map(|o| o.meta.display()).collect();
        assert_eq!(names, ["Pod/a", "Service/b"]);
        assert_eq!(loaded.objects[1].root.pos.line, 7);
    }

    #[test]
    fn typed_list_items_inherit_kind() {
        let text =
            r#"{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p"}, "spec": {}}]}"#;
        let loaded = load_text(Arc::from("l.json"), text);
        assert_eq!(loaded.objects[0].meta.kind, "Pod");
        assert_eq!(loaded.objects[0].meta.api_version, "v1");
    }

    #[test]
    fn bad_documents_are_errors_and_others_survive() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: [\n---\nfoo: bar\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n";
        let loaded = load_text(Arc::from("m.yaml"), text);
        assert_eq!(loaded.objects.len(), 2);
        assert_eq!(loaded.errors.len(), 1);
        assert!(loaded.errors[0].line.unwrap() >= 5);
        assert_eq!(loaded.skipped.len(), 1);
        assert_eq!(loaded.skipped[0].line, Some(7));
    }

    #[test]
    fn binary_input_is_an_error() {
        let loaded = load_bytes(Arc::from("b.bin"), vec![b'a', b'\n', 0xff, 0xfe]);
        assert_eq!(loaded.errors[0].line, Some(2));
    }

    #[test]
    fn directories_honour_gitignore_and_find_charts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "ignored.yaml\n").unwrap();
        std::fs::write(root.join("ignored.yaml"), "a: 1").unwrap();
        std::fs::write(root.join("kept.yml"), "a: 1").unwrap();
        std::fs::write(root.join("notes.txt"), "a: 1").unwrap();
        std::fs::create_dir_all(root.join("chart/templates")).unwrap();
        std::fs::write(root.join("chart/Chart.yaml"), "name: c").unwrap();
        std::fs::write(root.join("chart/templates/x.yaml"), "{{ .Values.x }}").unwrap();
        let (sources, errors) = discover(&[root.to_path_buf(), root.join("missing.yaml")]);
        assert_eq!(errors.len(), 1);
        assert_eq!(sources, vec![Source::File(root.join("kept.yml")), Source::HelmChart(root.join("chart"))]);
    }

    #[test]
    fn kustomizations_and_charts_are_inputs_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |name: &str, text: &str| {
            std::fs::create_dir_all(root.join(name).parent().unwrap()).unwrap();
            std::fs::write(root.join(name), text).unwrap();
        };
        write("app/base/kustomization.yaml", "resources: [deployment.yaml]\n");
        write("app/base/deployment.yaml", "kind: Deployment\n");
        write(
            "app/overlays/prod/kustomization.yaml",
            "resources: [../../base]\npatches: [{path: patch.yaml}]\n",
        );
        write("app/overlays/prod/patch.yaml", "kind: Deployment\n");
        write("app/overlays/prod/notes.yaml", "kind: ConfigMap\n");
        write("chart/Chart.yaml", "name: c\n");
        write("chart/templates/x.yaml", "{{ .Values.x }}\n");
        // The overlay is the input; its base and the files they read are not, a file
        // neither reads is.
        let (sources, errors) = discover(&[root.join("app")]);
        assert!(errors.is_empty());
        assert_eq!(
            sources,
            vec![
                Source::File(root.join("app/overlays/prod/notes.yaml")),
                Source::Kustomization(root.join("app/overlays/prod")),
            ]
        );
        // Named, a kustomization is walked the same way; a chart is one input.
        let (sources, _) = discover(&[root.join("app/base"), root.join("chart")]);
        assert_eq!(
            sources,
            vec![Source::Kustomization(root.join("app/base")), Source::HelmChart(root.join("chart"))]
        );
    }
}
