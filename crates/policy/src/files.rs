//! Finding policy and data files, and reading data documents.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubesecops_core::ReportError;
use kubesecops_k8s::parse_documents;
use serde_json::{Map, Value as Json};

/// Every file under `root` (or `root` itself when it is a file) whose name passes `keep`,
/// sorted. Hidden directories are skipped.
pub(crate) fn collect(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, ReportError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| ReportError::at(root.display().to_string(), None, format!("cannot read: {e}")))?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| ReportError::at(dir.display().to_string(), None, format!("cannot read: {e}")))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if path.is_dir() {
                if !hidden {
                    stack.push(path);
                }
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// True for `.rego` files.
pub(crate) fn is_rego(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rego")
}

/// True for `*_test.rego` files.
pub(crate) fn is_rego_test(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_test.rego"))
}

/// True for `.json`, `.yaml` and `.yml` files.
pub(crate) fn is_data(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "json" | "yaml" | "yml"))
}

/// Reads a file as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path)
        .map_err(|e| ReportError::at(path.display().to_string(), None, format!("cannot read: {e}")))
}

/// Reads a JSON or YAML data document (a mapping) for `data`. As `opa` does, a file found
/// inside a directory given by the user is placed under the path of its sub-directories
/// (`dir/a/b/x.yaml` goes to `data.a.b`); a file given directly goes to the root.
pub(crate) fn read_data(root: &Path, file: &Path) -> Result<Json, ReportError> {
    parse_data(root, file, &read_text(file)?)
}

/// [`read_data`] on text already read.
pub(crate) fn parse_data(root: &Path, file: &Path, text: &str) -> Result<Json, ReportError> {
    let label = file.display().to_string();
    let mut merged = Map::new();
    for doc in parse_documents(text) {
        let doc = doc.map_err(|e| ReportError::at(label.clone(), Some(e.line), e.message))?;
        let Some(root_node) = doc.root else { continue };
        match root_node.to_json() {
            Json::Object(map) => merged.extend(map),
            _ => {
                return Err(ReportError::at(
                    label,
                    Some(doc.line),
                    "a data document must be a mapping (object) at its top level",
                ))
            }
        }
    }
    let mut value = Json::Object(merged);
    let prefix: Vec<String> = file
        .parent()
        .and_then(|parent| parent.strip_prefix(root).ok())
        .map(|rel| rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    for key in prefix.into_iter().rev() {
        let mut map = Map::new();
        map.insert(key, value);
        value = Json::Object(map);
    }
    Ok(value)
}

/// Deep-merges `add` into `base`; a key set to two different non-object values is an error.
pub(crate) fn merge(base: &mut Json, add: Json, path: &str) -> Result<(), String> {
    match (base, add) {
        (Json::Object(b), Json::Object(a)) => {
            for (k, v) in a {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v, &format!("{path}.{k}"))?,
                    None => {
                        b.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        (b, a) if *b == a => Ok(()),
        _ => Err(format!("conflicting values for {path}")),
    }
}

/// A shared path label.
pub(crate) fn label(path: &Path) -> Arc<str> {
    Arc::from(path.display().to_string())
}
