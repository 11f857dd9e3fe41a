use kubesecops_k8s::Object;
use kubesecops_k8s::{Node, Pos};

use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Pod volumes that put Secret keys on disk with permissive file modes: a `secret` volume,
    /// or a `projected` volume with a `secret` source, whose `defaultMode` is not set (the
    /// default is `0644`, readable by every user in the container) or grants more than read
    /// access to the group or any access to others; and `items[].mode` overrides that do the
    /// same. Restrictive modes are `0400`, `0440`, `0600` and `0640`.
    ///
    /// ## Why it matters
    /// Mounted Secret files are the right way to hand credentials to a process, but with the
    /// default mode every user inside the container can read them: a sidecar, a debug shell
    /// or a compromised helper process running as another user gets the credential too
    /// (MITRE ATT&CK T1552.001, credentials in files).
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: db
    ///   secret:
    ///     secretName: db          # no defaultMode: files are 0644, reported
    /// - name: tls
    ///   secret:
    ///     secretName: tls
    ///     defaultMode: 0400       # fine
    /// ```
    ///
    /// ## Fix
    /// Set `defaultMode: 0400` (or `0440` with an `fsGroup` the application runs in) on the
    /// volume, and keep `items[].mode` at least as strict.
    ///
    /// ## References
    /// - Kubernetes documentation, "Secrets": Secret files permissions
    /// - CIS Kubernetes Benchmark 5.4.1
    pub static META = {
        id: "KSO-S006",
        title: "Secret volume files readable beyond the owner",
        severity: Low,
        category: Secrets,
        aliases: [],
        frameworks: [NsaCisa("secrets"), MitreAttack("T1552.001")],
    };
}

/// The mode a volume gets when `defaultMode` is not set.
const DEFAULT_MODE: i64 = 0o644;

/// True when the mode lets the group write or execute, or others do anything.
fn permissive(mode: i64) -> bool {
    mode & 0o037 != 0
}

/// `mode` shown in octal, as it is usually written.
fn octal(mode: i64) -> String {
    format!("0{mode:o}")
}

/// Checks `defaultMode` of one volume source and the modes of its items.
fn check_source(
    source: &Node,
    default: Option<&Node>,
    at: Pos,
    what: &str,
    key: &str,
    out: &mut Emitter<'_>,
) {
    match default {
        None => out.emit(
            at,
            &format!("{key}.defaultMode"),
            format!(
                "{what} sets no defaultMode: its files are {} (readable by every user)",
                octal(DEFAULT_MODE)
            ),
        ),
        Some(node) => {
            if let Some(mode) = node.as_i64().filter(|&m| permissive(m)) {
                out.emit(
                    node.pos,
                    &format!("{key}.defaultMode"),
                    format!(
                        "{what} has defaultMode {}: its files are readable beyond the owner",
                        octal(mode)
                    ),
                );
            }
        }
    }
    for item in source.get("items").map(Node::items).unwrap_or_default() {
        let Some(mode_node) = item.get("mode") else { continue };
        let Some(mode) = mode_node.as_i64().filter(|&m| permissive(m)) else { continue };
        let item_key = item.get("key").and_then(Node::as_str).unwrap_or("?");
        out.emit(
            mode_node.pos,
            &format!("{key}.items[{item_key}].mode"),
            format!("{what} gives key {item_key:?} mode {}: readable beyond the owner", octal(mode)),
        );
    }
}

/// Reports secret and projected-secret volumes with permissive modes.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(template) = obj.pod_template() else { return };
    for volume in template.get("volumes").map(Node::items).unwrap_or_default() {
        let name = volume.get("name").and_then(Node::as_str).unwrap_or("?");
        if let Some(secret) = volume.get("secret") {
            let secret_name = secret.get("secretName").and_then(Node::as_str).unwrap_or("?");
            let what = format!("volume {name:?} (Secret {secret_name:?})");
            check_source(
                secret,
                secret.get("defaultMode"),
                volume.key_pos("secret"),
                &what,
                &format!("volumes[{name}]"),
                out,
            );
        }
        if let Some(projected) = volume.get("projected") {
            let sources = projected.get("sources").map(Node::items).unwrap_or_default();
            let secrets: Vec<&Node> = sources.iter().filter_map(|s| s.get("secret")).collect();
            if secrets.is_empty() {
                continue;
            }
            let what = format!("projected volume {name:?}");
            // Items of every secret source are checked; the default applies to all of them.
            let key = format!("volumes[{name}]");
            check_source(
                projected,
                projected.get("defaultMode"),
                volume.key_pos("projected"),
                &what,
                &key,
                out,
            );
            for secret in secrets {
                let secret_name = secret.get("name").and_then(Node::as_str).unwrap_or("?");
                let key = format!("volumes[{name}].secret[{secret_name}]");
                for item in secret.get("items").map(Node::items).unwrap_or_default() {
                    let Some(mode_node) = item.get("mode") else { continue };
                    let Some(mode) = mode_node.as_i64().filter(|&m| permissive(m)) else { continue };
                    let item_key = item.get("key").and_then(Node::as_str).unwrap_or("?");
                    out.emit(
                        mode_node.pos,
                        &format!("{key}.items[{item_key}].mode"),
                        format!(
                            "{what} gives key {item_key:?} of Secret {secret_name:?} mode {}: readable beyond the owner",
                            octal(mode)
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictive_modes() {
        for mode in [0o400, 0o440, 0o600, 0o640, 0o000] {
            assert!(!permissive(mode), "{mode:o}");
        }
        for mode in [0o644, 0o604, 0o660, 0o777, 0o450] {
            assert!(permissive(mode), "{mode:o}");
        }
        assert_eq!(octal(420), "0644");
    }
}
