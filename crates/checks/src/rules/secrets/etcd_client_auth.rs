use kubesecops_k8s::Object;

use crate::rules::secrets::control_plane::runs;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Static pod manifests of etcd (a Pod whose container runs `etcd`) that do not require
    /// client certificates: `--client-cert-auth` is missing or not `true`, `--trusted-ca-file`
    /// (the CA client certificates are checked against) is missing, `--cert-file` or
    /// `--key-file` (the server's TLS identity) is missing, or `--auto-tls=true` replaces them
    /// with a self-signed certificate. Each problem is reported on its own.
    ///
    /// ## Why it matters
    /// etcd holds every object of the cluster, Secrets included. Without client certificate
    /// authentication anyone who can reach its client port reads and writes the whole cluster
    /// state, bypassing the API server's authentication, authorization and audit: a read of
    /// `/registry/secrets` yields every credential (MITRE ATT&CK T1552, unsecured credentials).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: etcd
    ///   image: registry.k8s.io/etcd:3.5.15-0
    ///   command:
    ///   - etcd
    ///   - --listen-client-urls=https://0.0.0.0:2379
    ///   - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    ///   - --key-file=/etc/kubernetes/pki/etcd/server.key   # reported: no --client-cert-auth
    /// ```
    ///
    /// ## Fix
    /// Start etcd with `--client-cert-auth=true`, `--trusted-ca-file` pointing at a CA used
    /// only for etcd, and `--cert-file`/`--key-file`; give the API server a client certificate
    /// from that CA (`--etcd-certfile`, `--etcd-keyfile`, `--etcd-cafile`).
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 2.1, 2.2 and 2.3
    /// - etcd documentation, "Transport security model"
    pub static META = {
        id: "KSO-S011",
        title: "etcd without client certificate authentication",
        severity: Critical,
        category: Secrets,
        aliases: ["CKV_K8S_117", "C-0154", "KCV-0043", "CKV_K8S_116", "KCV-0042", "CKV_K8S_118", "KCV-0044"],
        frameworks: [Cis("2.2"), NsaCisa("control plane"), MitreAttack("T1552")],
    };
}

/// Reports etcd static pods that accept clients without certificates.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for run in runs(obj, "etcd") {
        let name = run.container.name();
        let key = |flag: &str| format!("{}.--{flag}", run.container.key());
        match run.flag("client-cert-auth") {
            _ if run.flag_on("client-cert-auth") => {}
            Some((value, pos)) => out.emit(
                pos,
                &key("client-cert-auth"),
                format!("etcd sets --client-cert-auth={value}: any client that reaches it reads every Secret"),
            ),
            None => out.emit(
                run.pos,
                &key("client-cert-auth"),
                format!("container {name:?} runs etcd without --client-cert-auth=true: any client that reaches it reads every Secret"),
            ),
        }
        for (flag, what) in [
            ("trusted-ca-file", "the CA client certificates are verified against"),
            ("cert-file", "the server certificate"),
            ("key-file", "the server key"),
        ] {
            if run.flag(flag).is_none_or(|(value, _)| value.is_empty()) {
                out.emit(
                    run.pos,
                    &key(flag),
                    format!("container {name:?} runs etcd without --{flag} ({what})"),
                );
            }
        }
        if run.flag_on("auto-tls") {
            if let Some((_, pos)) = run.flag("auto-tls") {
                out.emit(
                    pos,
                    &key("auto-tls"),
                    "etcd sets --auto-tls=true: a self-signed certificate that clients cannot verify",
                );
            }
        }
    }
}
