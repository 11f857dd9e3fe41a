use kubesecops_k8s::Object;

use crate::rules::secrets::{credential_name, credential_shape, literal_value};
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// ConfigMap `data` entries that hold credentials:
    /// - a key whose name says it holds a credential (the same name test as `KSO-S001`) with
    ///   a single-line literal value;
    /// - a value shaped like a credential whatever the key: a PEM private key, a URL with an
    ///   embedded password, or an AWS access key id;
    /// - inside a configuration file stored in the ConfigMap (a multi-line value), a line
    ///   `name = value`, `name: value` or `"name": "value"` whose name says it holds a
    ///   credential and whose value is a literal (not empty, not `${VAR}` or a template, not a
    ///   path, boolean or number). Comment lines are skipped.
    ///
    /// Findings point at the ConfigMap key and name the setting, never the value.
    ///
    /// ## Why it matters
    /// ConfigMaps are not meant for secrets: they are readable by every role that can `get`
    /// ConfigMaps (the built-in `view` role included), are never encrypted at rest by
    /// Kubernetes, and are copied freely into logs, dashboards and support bundles. A password
    /// in a ConfigMap is readable by far more identities than one in a Secret (MITRE ATT&CK
    /// T1552.001, credentials in files; T1552.007, container API).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata:
    ///   name: app-config
    /// data:
    ///   LOG_LEVEL: info
    ///   SMTP_PASSWORD: s3cr3t!        # reported
    ///   application.properties: |     # reported: spring.datasource.password
    ///     spring.datasource.url=jdbc:postgresql://db:5432/app
    ///     spring.datasource.password=s3cr3t!
    /// ```
    ///
    /// ## Fix
    /// Move the credential into a Secret and mount or reference it from there; keep only
    /// non-sensitive settings in the ConfigMap. Rotate the exposed credential.
    ///
    /// ## References
    /// - Kubernetes documentation, "ConfigMaps": "ConfigMap does not provide secrecy or encryption"
    /// - CIS Kubernetes Benchmark 5.4.2
    pub static META = {
        id: "KSO-S002",
        title: "Credential in a ConfigMap",
        severity: High,
        category: Secrets,
        aliases: ["KSV-01010", "KSV-0109", "sensitiveConfigmapContent"],
        frameworks: [NsaCisa("secrets"), MitreAttack("T1552.001"), MitreAttack("T1552.007")],
    };
}

/// A `name = value` / `name: value` / `"name": "value"` line of an embedded configuration
/// file, as (name, value). `None` for comments and lines without a separator.
fn setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || ["#", ";", "//", "!", "<"].iter().any(|c| line.starts_with(c)) {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let at = line.find(['=', ':'])?;
    let name = line[..at].trim().trim_matches(['"', '\'']);
    let value = line[at + 1..].trim().trim_end_matches([',', ';']).trim().trim_matches(['"', '\'']);
    if name.is_empty() || name.contains(char::is_whitespace) || value.starts_with(['{', '[', '|', '>']) {
        return None;
    }
    Some((name, value))
}

/// Reports credentials in a ConfigMap's data.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    if obj.kind() != "ConfigMap" || !obj.group().is_empty() {
        return;
    }
    let Some(data) = obj.root.get("data") else { return };
    for entry in data.entries() {
        let Some(value) = entry.value.as_str() else { continue };
        let key = &entry.key;
        let fingerprint = format!("data.{key}");
        if let Some(shape) = credential_shape(value) {
            out.emit(entry.key_pos, &fingerprint, format!("ConfigMap key {key:?} holds {shape}"));
        } else if !value.trim_end().contains('\n') {
            if credential_name(key) && literal_value(value) {
                out.emit(
                    entry.key_pos,
                    &fingerprint,
                    format!("ConfigMap key {key:?} holds what looks like a credential"),
                );
            }
        } else {
            for (name, _) in
                value.lines().filter_map(setting).filter(|(n, v)| credential_name(n) && literal_value(v))
            {
                out.emit(
                    entry.key_pos,
                    &format!("{fingerprint}.{name}"),
                    format!("ConfigMap key {key:?} sets {name:?} to what looks like a literal credential"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_in_embedded_files() {
        assert_eq!(setting("spring.datasource.password=abc"), Some(("spring.datasource.password", "abc")));
        assert_eq!(setting("  password: \"abc\""), Some(("password", "abc")));
        assert_eq!(setting("\"apiKey\": \"abc\","), Some(("apiKey", "abc")));
        assert_eq!(setting("export TOKEN=abc"), Some(("TOKEN", "abc")));
        assert_eq!(setting("# password=abc"), None);
        assert_eq!(setting("auth: {"), None);
        assert_eq!(setting("no separator here"), None);
    }
}
