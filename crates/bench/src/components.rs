//! The Kubernetes components of a node with their effective settings: command-line flags,
//! and for the kubelet its `--config` file merged under the flags (flags win, as in the
//! kubelet), each value with where it came from.

use std::collections::BTreeMap;

use kubesecops_k8s::Node;

use crate::controls::parse_yaml;
use crate::node::{parse_flags, NodeView, Process};

/// The components the built-in checks know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// kube-apiserver.
    ApiServer,
    /// kube-controller-manager.
    ControllerManager,
    /// kube-scheduler.
    Scheduler,
    /// etcd.
    Etcd,
    /// kubelet.
    Kubelet,
    /// kube-proxy.
    Proxy,
}

impl ComponentKind {
    /// Every kind, in report order.
    pub const ALL: [ComponentKind; 6] = [
        ComponentKind::ApiServer,
        ComponentKind::ControllerManager,
        ComponentKind::Scheduler,
        ComponentKind::Etcd,
        ComponentKind::Kubelet,
        ComponentKind::Proxy,
    ];

    /// The usual program name.
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::ApiServer => "kube-apiserver",
            ComponentKind::ControllerManager => "kube-controller-manager",
            ComponentKind::Scheduler => "kube-scheduler",
            ComponentKind::Etcd => "etcd",
            ComponentKind::Kubelet => "kubelet",
            ComponentKind::Proxy => "kube-proxy",
        }
    }

    /// Program names that run this component.
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            ComponentKind::ApiServer => {
                &["kube-apiserver", "hyperkube kube-apiserver", "hyperkube apiserver"]
            }
            ComponentKind::ControllerManager => &[
                "kube-controller-manager",
                "hyperkube kube-controller-manager",
                "hyperkube controller-manager",
            ],
            ComponentKind::Scheduler => {
                &["kube-scheduler", "hyperkube kube-scheduler", "hyperkube scheduler"]
            }
            ComponentKind::Etcd => &["etcd"],
            ComponentKind::Kubelet => &["kubelet", "hyperkube kubelet"],
            ComponentKind::Proxy => &["kube-proxy", "hyperkube kube-proxy", "hyperkube proxy"],
        }
    }
}

/// One effective setting and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value as text.
    pub value: String,
    /// Where it came from: `flag --x`, `FILE:LINE key`, or `default (...)`.
    pub origin: String,
    /// File and line, when it came from a config file.
    pub file_line: Option<(String, u32)>,
}

/// A component found running, with its flags and config file.
#[derive(Debug, Clone)]
pub struct Component {
    /// What it is.
    pub kind: ComponentKind,
    /// The process.
    pub process: Process,
    /// Its flags (`name` without dashes to value).
    pub flags: BTreeMap<String, String>,
    /// The config file given with `--config` (kubelet, kube-proxy), read and parsed.
    pub config: Option<(String, Node)>,
    /// Why the config file could not be used.
    pub config_error: Option<String>,
}

impl Component {
    /// Finds `kind` among the node's processes and reads its `--config` file.
    pub fn find(node: &NodeView, kind: ComponentKind) -> Option<Component> {
        let (_, process) = node.find(kind.programs())?;
        let flags = parse_flags(&process.args);
        let mut config = None;
        let mut config_error = None;
        let config_flag = match kind {
            ComponentKind::Kubelet | ComponentKind::Proxy => flags.get("config"),
            ComponentKind::Etcd => flags.get("config-file"),
            _ => None,
        };
        if let Some(path) = config_flag {
            let host = node.host_path(path);
            match std::fs::read_to_string(&host) {
                Ok(text) => match parse_yaml(&host, &text) {
                    Ok(Some(root)) => config = Some((path.clone(), root)),
                    Ok(None) => config_error = Some(format!("{path}: empty config file")),
                    Err(e) => config_error = Some(e.to_string()),
                },
                Err(e) => config_error = Some(format!("{path}: cannot read: {e}")),
            }
        }
        Some(Component { kind, process: process.clone(), flags, config, config_error })
    }

    /// A flag's value.
    pub fn flag(&self, name: &str) -> Option<Setting> {
        self.flags.get(name).map(|v| Setting {
            value: v.clone(),
            origin: format!("flag --{name}={v}"),
            file_line: None,
        })
    }

    /// The effective value of a setting that has a flag and a config-file field: the flag
    /// wins, then the config file, then the default (which differs with and without a config
    /// file for the kubelet: `config_default` / `flag_default`).
    pub fn setting(
        &self,
        flag: &str,
        config_path: &[&str],
        config_default: Option<&str>,
        flag_default: Option<&str>,
    ) -> Option<Setting> {
        if let Some(s) = self.flag(flag) {
            return Some(s);
        }
        if let Some((file, root)) = &self.config {
            if let Some(node) = root.path(config_path) {
                let value = match node.as_str() {
                    Some(s) => s.to_string(),
                    None => node.to_json().to_string(),
                };
                return Some(Setting {
                    origin: format!("{file}:{} {}", node.pos.line, config_path.join(".")),
                    file_line: Some((file.clone(), node.pos.line)),
                    value,
                });
            }
            return config_default.map(|d| Setting {
                value: d.to_string(),
                origin: format!("default with a config file ({file} does not set {})", config_path.join(".")),
                file_line: None,
            });
        }
        flag_default.map(|d| Setting {
            value: d.to_string(),
            origin: if self.kind == ComponentKind::Kubelet {
                format!("default without a config file (--{flag} not given)")
            } else {
                format!("default (--{flag} not given)")
            },
            file_line: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn kubelet_flags_override_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/kubelet.yaml"),
            "kind: KubeletConfiguration\nreadOnlyPort: 10255\nauthentication:\n  anonymous:\n    enabled: false\n",
        )
        .unwrap();
        let ps = dir.path().join("ps");
        std::fs::write(&ps, "/usr/bin/kubelet --config=/etc/kubelet.yaml --read-only-port=0\n").unwrap();
        let node = NodeView::offline(dir.path(), Path::new(&ps)).unwrap();
        let kubelet = Component::find(&node, ComponentKind::Kubelet).unwrap();
        let port = kubelet.setting("read-only-port", &["readOnlyPort"], Some("0"), Some("10255")).unwrap();
        assert_eq!((port.value.as_str(), port.origin.as_str()), ("0", "flag --read-only-port=0"));
        let anon = kubelet
            .setting(
                "anonymous-auth",
                &["authentication", "anonymous", "enabled"],
                Some("false"),
                Some("true"),
            )
            .unwrap();
        assert_eq!(anon.value, "false");
        assert_eq!(anon.file_line, Some(("/etc/kubelet.yaml".to_string(), 5)));
        let authz = kubelet.setting("authorization-mode", &["authorization", "mode"], Some("Webhook"), None);
        assert_eq!(authz.unwrap().value, "Webhook");
    }
}
