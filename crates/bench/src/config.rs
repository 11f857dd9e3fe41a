//! kube-bench's `config.yaml`: where each component's binaries and files may be, which
//! benchmark fits which Kubernetes version, and which targets a benchmark has.
//!
//! A benchmark folder may hold its own `config.yaml`; its keys override the top-level ones
//! (deep merge, as kube-bench's configuration library does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::controls::{parse_yaml, read};
use crate::BenchError;

/// The merged configuration of one benchmark.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The folder holding `config.yaml` and the benchmark folders.
    pub dir: PathBuf,
    raw: Value,
}

/// A component's settings under one target (`node: kubelet: {bins, confs, ...}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentConfig {
    /// Component name (`kubelet`).
    pub name: String,
    /// Program names to look for, in order.
    pub bins: Vec<String>,
    /// Missing binaries are fine.
    pub optional: bool,
    /// Candidate files per kind (`confs`, `svc`, `kubeconfig`, `cafile`, `datadirs`) and the
    /// kind's default (`defaultconf`, ...).
    pub files: BTreeMap<String, (Vec<String>, Option<String>)>,
}

/// Kinds of files, their `$<component><suffix>` variable suffix, the list key and the
/// default key in `config.yaml`.
pub const FILE_KINDS: &[(&str, &str, &str)] = &[
    ("conf", "confs", "defaultconf"),
    ("svc", "svc", "defaultsvc"),
    ("kubeconfig", "kubeconfig", "defaultkubeconfig"),
    ("cafile", "cafile", "defaultcafile"),
    ("datadir", "datadirs", "defaultdatadir"),
];

impl BenchConfig {
    /// Reads `DIR/config.yaml`.
    pub fn load(dir: &Path) -> Result<BenchConfig, BenchError> {
        let raw = load_value(&dir.join("config.yaml"))?;
        Ok(BenchConfig { dir: dir.to_path_buf(), raw })
    }

    /// This configuration with `DIR/<benchmark>/config.yaml` merged over it, when present.
    pub fn for_benchmark(&self, benchmark: &str) -> Result<BenchConfig, BenchError> {
        let folder = self.benchmark_dir(benchmark);
        if !folder.is_dir() {
            return Err(BenchError::Benchmark(format!(
                "benchmark {benchmark:?} not found: no folder {}",
                folder.display()
            )));
        }
        let mut raw = self.raw.clone();
        let own = folder.join("config.yaml");
        if own.is_file() {
            merge(&mut raw, load_value(&own)?);
        }
        Ok(BenchConfig { dir: self.dir.clone(), raw })
    }

    /// The folder of a benchmark.
    pub fn benchmark_dir(&self, benchmark: &str) -> PathBuf {
        self.dir.join(benchmark)
    }

    /// `version_mapping`: Kubernetes `major.minor` (or a platform name) to benchmark.
    pub fn version_mapping(&self) -> BTreeMap<String, String> {
        string_map(self.raw.get("version_mapping"))
    }

    /// `target_mapping`: the targets of a benchmark.
    pub fn targets(&self, benchmark: &str) -> Vec<String> {
        self.raw.get("target_mapping").and_then(|m| m.get(benchmark)).map(string_list).unwrap_or_default()
    }

    /// The benchmark for a Kubernetes `major.minor`: the exact key, else the nearest lower
    /// minor version present (kube-bench's rule). `None` when nothing fits.
    pub fn benchmark_for(&self, version: &str) -> Option<(String, String)> {
        let mapping = self.version_mapping();
        let (major, minor) = version.split_once('.')?;
        let mut minor: u32 = minor.parse().ok()?;
        loop {
            let key = format!("{major}.{minor}");
            if let Some(b) = mapping.get(&key) {
                return Some((key, b.clone()));
            }
            if minor <= 1 {
                return None;
            }
            minor -= 1;
        }
    }

    /// The benchmark mapped from the newest Kubernetes version in `version_mapping`.
    pub fn newest_benchmark(&self) -> Option<(String, String)> {
        self.version_mapping()
            .into_iter()
            .filter_map(|(k, b)| {
                let (ma, mi) = k.split_once('.')?;
                Some(((ma.parse::<u32>().ok()?, mi.parse::<u32>().ok()?), k, b))
            })
            .max_by_key(|(v, _, _)| *v)
            .map(|(_, k, b)| (k, b))
    }

    /// The components of a target with their settings.
    pub fn components(&self, target: &str) -> Vec<ComponentConfig> {
        let Some(section) = self.raw.get(target) else { return Vec::new() };
        let names = section.get("components").map(string_list).unwrap_or_default();
        names
            .into_iter()
            .filter_map(|name| {
                let c = section.get(&name)?;
                let files = FILE_KINDS
                    .iter()
                    .map(|(kind, list, default)| {
                        let candidates = c.get(*list).map(string_list).unwrap_or_default();
                        let default = c.get(*default).and_then(scalar_text);
                        (kind.to_string(), (candidates, default))
                    })
                    .collect();
                Some(ComponentConfig {
                    bins: c.get("bins").map(string_list).unwrap_or_default(),
                    optional: c.get("optional").and_then(Value::as_bool).unwrap_or(false),
                    files,
                    name,
                })
            })
            .collect()
    }
}

fn load_value(path: &Path) -> Result<Value, BenchError> {
    let text = read(path)?;
    let root = parse_yaml(path, &text)?;
    match root {
        Some(node) if node.is_map() => Ok(node.to_json()),
        Some(node) => Err(BenchError::Yaml {
            path: path.to_path_buf(),
            line: node.pos.line,
            message: "config.yaml must be a mapping".into(),
        }),
        None => Ok(Value::Object(Default::default())),
    }
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?))).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "node:\n  components: [kubelet]\n  kubelet:\n    bins: [kubelet]\n    confs: [/a.yaml]\n    defaultconf: /b.yaml\n\
             version_mapping:\n  \"1.18\": bm-a\n  \"1.20\": bm-b\n\
             target_mapping:\n  bm-b: [node]\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("bm-b")).unwrap();
        std::fs::write(dir.path().join("bm-b/config.yaml"), "node:\n  kubelet:\n    defaultconf: /c.yaml\n")
            .unwrap();
        dir
    }

    #[test]
    fn version_mapping_falls_back_to_lower_minor() {
        let dir = fixture();
        let cfg = BenchConfig::load(dir.path()).unwrap();
        assert_eq!(cfg.benchmark_for("1.21").unwrap().1, "bm-b");
        assert_eq!(cfg.benchmark_for("1.19").unwrap(), ("1.18".into(), "bm-a".into()));
        assert_eq!(cfg.benchmark_for("1.10"), None);
        assert_eq!(cfg.newest_benchmark().unwrap().1, "bm-b");
    }

    #[test]
    fn benchmark_config_overrides_keys() {
        let dir = fixture();
        let cfg = BenchConfig::load(dir.path()).unwrap().for_benchmark("bm-b").unwrap();
        let kubelet = &cfg.components("node")[0];
        assert_eq!(kubelet.files["conf"], (vec!["/a.yaml".to_string()], Some("/c.yaml".to_string())));
        assert_eq!(cfg.targets("bm-b"), vec!["node"]);
        assert!(BenchConfig::load(dir.path()).unwrap().for_benchmark("nope").is_err());
    }
}
