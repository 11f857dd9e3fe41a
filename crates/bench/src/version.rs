//! The node's Kubernetes version: given by the user, or read from `<program> --version` of
//! the running kubelet or API server. Never guessed: when it is unknown, the report says so
//! and says which benchmark was chosen instead and why.

use std::time::Duration;

use crate::audit::AuditRunner;
use crate::components::ComponentKind;
use crate::config::BenchConfig;
use crate::node::NodeView;
use crate::BenchError;

/// A Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KubeVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// As reported (`v1.20.2`).
    pub git_version: String,
}

impl KubeVersion {
    /// Parses `v1.20.2`, `1.20`, or `Kubernetes v1.20.2` (the `--version` output).
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let word = text.split_whitespace().find(|w| {
            w.trim_start_matches('v').split('.').next().is_some_and(|m| m.parse::<u32>().is_ok())
        })?;
        let bare = word.trim_start_matches('v');
        let mut parts = bare.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(KubeVersion { major, minor, git_version: format!("v{bare}") })
    }

    /// `major.minor`.
    pub fn base(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// True when this version is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

/// The version and how it was learnt (or why it is unknown).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionDetection {
    /// The version, when known.
    pub version: Option<KubeVersion>,
    /// How it was found, or why not.
    pub source: String,
}

/// Finds the version: `given` first, else `--version` of the running kubelet or API server
/// on the live node. Programs of an offline copy are never run.
pub fn detect_version(node: &NodeView, given: Option<&str>) -> VersionDetection {
    if let Some(text) = given {
        return match KubeVersion::parse(text) {
            Some(v) => VersionDetection { version: Some(v), source: "given with --kube-version".into() },
            None => VersionDetection {
                version: None,
                source: format!("--kube-version {text:?} is not a version"),
            },
        };
    }
    if node.ps_file.is_some() {
        return VersionDetection {
            version: None,
            source: "offline copy: its programs are not run; pass --kube-version".into(),
        };
    }
    let runner = AuditRunner { timeout: Duration::from_secs(5), ps_file: None };
    let mut tried = Vec::new();
    for kind in [ComponentKind::Kubelet, ComponentKind::ApiServer] {
        let Some((_, process)) = node.find(kind.programs()) else { continue };
        // The running executable, even when argv[0] is a bare name not on our PATH.
        let program = process
            .pid
            .and_then(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| process.args[0].clone());
        let quoted = format!("'{}' --version", program.replace('\'', r"'\''"));
        match runner.run(&quoted) {
            Ok(out) => match KubeVersion::parse(&out) {
                Some(v) => {
                    return VersionDetection {
                        version: Some(v),
                        source: format!("`{} --version` of the running {}", program, kind.name()),
                    }
                }
                None => tried.push(format!("`{program} --version` printed {:?}", out.trim())),
            },
            Err(e) => tried.push(format!("`{program} --version` failed: {}", e.error)),
        }
    }
    let source = if tried.is_empty() {
        "no kubelet or kube-apiserver running, and no --kube-version given".to_string()
    } else {
        tried.join("; ")
    };
    VersionDetection { version: None, source }
}

/// The benchmark chosen and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BenchmarkChoice {
    /// Benchmark folder name (`cis-1.20`).
    pub benchmark: String,
    /// Why this one.
    pub reason: String,
}

/// Chooses the benchmark: `--benchmark`, else the mapping of the detected version, else the
/// benchmark of the newest version in `config.yaml`, saying that the version is unknown.
pub fn choose_benchmark(
    config: &BenchConfig,
    given: Option<&str>,
    detection: &VersionDetection,
) -> Result<BenchmarkChoice, BenchError> {
    if let Some(b) = given {
        return Ok(BenchmarkChoice { benchmark: b.to_string(), reason: "given with --benchmark".into() });
    }
    if let Some(v) = &detection.version {
        if let Some((key, b)) = config.benchmark_for(&v.base()) {
            let how =
                if key == v.base() { "mapped".to_string() } else { format!("nearest lower mapping {key}") };
            return Ok(BenchmarkChoice {
                reason: format!(
                    "Kubernetes {} ({}) {how} to {b} in config.yaml",
                    v.git_version, detection.source
                ),
                benchmark: b,
            });
        }
        if let Some((key, b)) = config.newest_benchmark() {
            return Ok(BenchmarkChoice {
                reason: format!(
                    "Kubernetes {} has no mapping in config.yaml; using {b}, the benchmark of the newest mapped version {key}",
                    v.git_version
                ),
                benchmark: b,
            });
        }
    }
    match config.newest_benchmark() {
        Some((key, b)) => Ok(BenchmarkChoice {
            reason: format!(
                "Kubernetes version UNKNOWN ({}); using {b}, the benchmark of the newest mapped version {key}",
                detection.source
            ),
            benchmark: b,
        }),
        None => Err(BenchError::Benchmark(format!(
            "Kubernetes version unknown ({}) and config.yaml has no version_mapping: pass --benchmark",
            detection.source
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_texts() {
        let v = KubeVersion::parse("Kubernetes v1.20.2\n").unwrap();
        assert_eq!((v.base().as_str(), v.git_version.as_str()), ("1.20", "v1.20.2"));
        assert!(v.at_least(1, 20) && !v.at_least(1, 21));
        assert_eq!(KubeVersion::parse("1.31").unwrap().minor, 31);
        assert_eq!(KubeVersion::parse("unknown"), None);
    }
}
