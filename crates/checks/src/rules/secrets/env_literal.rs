use kubesecops_k8s::Object;

use crate::rules::secrets::{credential_name, credential_shape, env_entries, literal_value};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Container environment variables that carry a credential as a literal `value:`
    /// instead of `valueFrom.secretKeyRef`. A variable is reported when:
    /// - its name says it holds a credential (a part such as `PASSWORD`, `PASSWD`,
    ///   `PASSPHRASE`, `SECRET`, `TOKEN`, `CREDENTIALS`, `API_KEY`, `ACCESS_KEY`,
    ///   `PRIVATE_KEY`, `SIGNING_KEY`, or `PASS`/`PWD` as a separate part, in any case or
    ///   camelCase) and does not end in a metadata word (`_FILE`, `_PATH`, `_NAME`, `_URL`,
    ///   `_ID`, `_TTL`, `_ENABLED`, `_LENGTH`, ...), and its value looks like a literal: not
    ///   empty, not a `$(VAR)`, `${VAR}` or `{{ template }}` reference, not a `<placeholder>`,
    ///   a path, a boolean word or a plain number; or
    /// - whatever its name, its value is a PEM private key, a URL with an embedded password,
    ///   or an AWS access key id.
    ///
    /// Findings name the variable, never its value.
    ///
    /// ## Why it matters
    /// A credential written into a manifest lives in Git history, CI logs, Helm release
    /// Secrets, `kubectl get -o yaml` output and the pod spec, which far more people and tools
    /// can read than the Secrets API. Anyone with read access to the repository or to
    /// Deployments holds the credential (MITRE ATT&CK T1552.001, credentials in files).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:1.0
    ///   env:
    ///   - name: DB_PASSWORD
    ///     value: hunter2            # reported
    ///   - name: DB_PASSWORD_FILE
    ///     value: /run/secrets/db    # fine: a path
    /// ```
    ///
    /// ## Fix
    /// Move the value into a Secret (created out of band, by an external-secrets operator or
    /// from a sealed/encrypted source) and mount it as a file, or reference it with
    /// `valueFrom.secretKeyRef`. Rotate the credential: it is already exposed.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.4.1 and 5.4.2
    /// - Kubernetes documentation, "Good practices for Kubernetes Secrets"
    pub static META = {
        id: "KSO-S001",
        title: "Credential in a literal environment variable",
        severity: High,
        category: Secrets,
        aliases: ["C-0012", "env-var-secret", "sensitiveContainerEnvVar"],
        frameworks: [Cis("5.4.2"), NsaCisa("secrets"), MitreAttack("T1552.001")],
    };
}

/// Reports env vars whose literal value is, by name or by shape, a credential.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        for (entry, name) in env_entries(container.node) {
            let Some(value_node) = entry.get("value") else { continue };
            let Some(value) = value_node.as_str() else { continue };
            let message = if let Some(shape) = credential_shape(value) {
                format!("container {:?} sets {name} to {shape} as a literal value", container.name())
            } else if credential_name(name) && literal_value(value) {
                format!(
                    "container {:?} sets {name} as a literal value; it looks like a credential",
                    container.name()
                )
            } else {
                continue;
            };
            out.emit(value_node.pos, &format!("{}.env[{name}]", container.key()), message);
        }
    });
}
