use kubesecops_k8s::Object;

use crate::rules::secrets::control_plane::runs;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Static pod manifests of the API server (a Pod whose container runs `kube-apiserver`)
    /// without `--encryption-provider-config`, or with it set to an empty value.
    ///
    /// ## Why it matters
    /// Without an encryption configuration the API server stores every Secret in etcd as
    /// plain base64. Anyone who reads an etcd backup, an etcd data directory or a disk
    /// snapshot of a control-plane node reads every credential of the cluster (MITRE ATT&CK
    /// T1552, unsecured credentials).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Pod
    /// metadata:
    ///   name: kube-apiserver
    ///   namespace: kube-system
    /// spec:
    ///   containers:
    ///   - name: kube-apiserver
    ///     image: registry.k8s.io/kube-apiserver:v1.31.0
    ///     command:               # reported: no --encryption-provider-config
    ///     - kube-apiserver
    ///     - --etcd-servers=https://127.0.0.1:2379
    /// ```
    ///
    /// ## Fix
    /// Write an `EncryptionConfiguration` whose first provider for `secrets` is `kms` (v2) or
    /// `secretbox`/`aesgcm`/`aescbc`, mount it into the pod, start the API server with
    /// `--encryption-provider-config=/etc/kubernetes/enc/enc.yaml`, then rewrite existing
    /// Secrets (`kubectl get secrets -A -o json | kubectl replace -f -`).
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 1.2.27
    /// - Kubernetes documentation, "Encrypting Confidential Data at Rest"
    pub static META = {
        id: "KSO-S009",
        title: "API server without encryption at rest",
        severity: High,
        category: Secrets,
        aliases: ["CKV_K8S_104", "C-0141", "KCV-0030"],
        frameworks: [Cis("1.2.27"), NsaCisa("secrets"), MitreAttack("T1552")],
    };
}

/// Reports kube-apiserver static pods without an encryption provider config.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for run in runs(obj, "kube-apiserver") {
        let key = run.container.key_with(".--encryption-provider-config");
        match run.flag("encryption-provider-config") {
            Some((value, _)) if !value.is_empty() => {}
            Some((_, pos)) => out.emit(
                pos,
                &key,
                "kube-apiserver sets --encryption-provider-config to nothing: Secrets are stored in etcd unencrypted",
            ),
            None => out.emit(
                run.pos,
                &key,
                format!(
                    "container {:?} runs kube-apiserver without --encryption-provider-config: Secrets are stored in etcd unencrypted",
                    run.container.name()
                ),
            ),
        }
    }
}
