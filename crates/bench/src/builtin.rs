//! Built-in node checks: the CIS controls that matter most, evaluated on the components'
//! effective settings (no benchmark folder needed). Numbers follow the CIS Kubernetes
//! Benchmark v1.10.0 (kube-bench's `cis-1.10`) unless a check says otherwise; each check's
//! kube-bench id is given as an alias (`kube-bench:cis-1.10:1.2.1`).

use std::os::unix::fs::MetadataExt;

use kubesecops_core::Severity;
use serde::Serialize;

use crate::components::{Component, ComponentKind, Setting};
use crate::evaluate::Status;
use crate::node::NodeView;
use crate::version::KubeVersion;

/// One verdict of a built-in check (a file check gives one per file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeResult {
    /// Our id (`KSO-B001`), or the benchmark's check id for kube-bench folders.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Verdict.
    pub status: Status,
    /// CIS control number.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cis: String,
    /// Ids of other tools (`kube-bench:cis-1.10:4.2.1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Severity when it fails.
    pub severity: Severity,
    /// The component (`kubelet`) or file checked.
    pub component: String,
    /// What was found, with where the value came from.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remediation: String,
    /// File the value came from, when it came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Line in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Static description of a built-in check.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinCheck {
    /// Our id.
    pub id: &'static str,
    /// CIS control number.
    pub cis: &'static str,
    /// kube-bench benchmark whose numbering `cis` uses.
    pub benchmark: &'static str,
    /// Title.
    pub title: &'static str,
    /// Severity on failure.
    pub severity: Severity,
    /// How to fix it.
    pub remediation: &'static str,
}

macro_rules! check {
    ($id:literal, $cis:literal, $title:literal, $sev:ident, $fix:literal) => {
        BuiltinCheck {
            id: $id,
            cis: $cis,
            benchmark: "cis-1.10",
            title: $title,
            severity: Severity::$sev,
            remediation: $fix,
        }
    };
    ($id:literal, $bm:literal : $cis:literal, $title:literal, $sev:ident, $fix:literal) => {
        BuiltinCheck {
            id: $id,
            cis: $cis,
            benchmark: $bm,
            title: $title,
            severity: Severity::$sev,
            remediation: $fix,
        }
    };
}

/// Every built-in check.
pub const CHECKS: &[BuiltinCheck] = &[
    check!(
        "KSO-B001",
        "4.2.1",
        "Kubelet anonymous authentication is disabled",
        Critical,
        "Set authentication.anonymous.enabled: false in the kubelet config file (or --anonymous-auth=false)."
    ),
    check!(
        "KSO-B002",
        "4.2.2",
        "Kubelet authorization mode is not AlwaysAllow",
        Critical,
        "Set authorization.mode: Webhook in the kubelet config file (or --authorization-mode=Webhook)."
    ),
    check!(
        "KSO-B003",
        "4.2.3",
        "Kubelet verifies client certificates (client CA file set)",
        High,
        "Set authentication.x509.clientCAFile (or --client-ca-file) to the cluster CA."
    ),
    check!(
        "KSO-B004",
        "4.2.4",
        "Kubelet read-only port is disabled",
        High,
        "Set readOnlyPort: 0 in the kubelet config file (or --read-only-port=0)."
    ),
    check!(
        "KSO-B010",
        "1.2.1",
        "API server anonymous authentication is disabled",
        High,
        "Start kube-apiserver with --anonymous-auth=false (keep RBAC for health endpoints in mind)."
    ),
    check!("KSO-B011", "cis-1.20": "1.2.18", "API server insecure port is disabled", Critical,
        "Start kube-apiserver with --insecure-port=0 (the port was removed in v1.24)."),
    check!(
        "KSO-B012",
        "1.2.6",
        "API server authorization mode is not AlwaysAllow",
        Critical,
        "Set --authorization-mode to Node,RBAC."
    ),
    check!(
        "KSO-B013",
        "1.2.8",
        "API server authorization modes include Node and RBAC",
        High,
        "Set --authorization-mode to include Node and RBAC."
    ),
    check!(
        "KSO-B014",
        "1.2.10",
        "Admission plugin AlwaysAdmit is not enabled",
        High,
        "Remove AlwaysAdmit from --enable-admission-plugins."
    ),
    check!(
        "KSO-B015",
        "1.2.14",
        "Admission plugin NodeRestriction is enabled",
        Medium,
        "Add NodeRestriction to --enable-admission-plugins (with --authorization-mode including Node)."
    ),
    check!(
        "KSO-B016",
        "1.2.16",
        "API server writes an audit log",
        Medium,
        "Set --audit-log-path (and --audit-log-maxage/maxbackup/maxsize)."
    ),
    check!(
        "KSO-B017",
        "3.2.1",
        "API server has an audit policy",
        Medium,
        "Set --audit-policy-file to a policy with at least metadata-level rules."
    ),
    check!(
        "KSO-B018",
        "1.2.27",
        "API server encrypts Secrets at rest (encryption provider config set)",
        High,
        "Set --encryption-provider-config to an EncryptionConfiguration."
    ),
    check!(
        "KSO-B019",
        "1.2.28",
        "Encryption providers are not identity-first",
        High,
        "Put aescbc, aesgcm, secretbox or kms first for secrets in the EncryptionConfiguration."
    ),
    check!(
        "KSO-B020",
        "1.2.15",
        "API server profiling is disabled",
        Low,
        "Start kube-apiserver with --profiling=false."
    ),
    check!(
        "KSO-B021",
        "1.3.2",
        "Controller manager profiling is disabled",
        Low,
        "Start kube-controller-manager with --profiling=false."
    ),
    check!(
        "KSO-B022",
        "1.4.1",
        "Scheduler profiling is disabled",
        Low,
        "Start kube-scheduler with --profiling=false."
    ),
    check!(
        "KSO-B030",
        "2.1",
        "etcd serves clients over TLS (cert and key files set)",
        Critical,
        "Start etcd with --cert-file and --key-file, and https:// client URLs."
    ),
    check!(
        "KSO-B031",
        "2.2",
        "etcd requires client certificates",
        Critical,
        "Start etcd with --client-cert-auth=true and --trusted-ca-file."
    ),
    check!(
        "KSO-B032",
        "2.3",
        "etcd does not use self-signed auto TLS for clients",
        Medium,
        "Remove --auto-tls or set it to false."
    ),
    check!(
        "KSO-B033",
        "2.4",
        "etcd peers use TLS (peer cert and key files set)",
        High,
        "Start etcd with --peer-cert-file and --peer-key-file."
    ),
    check!(
        "KSO-B034",
        "2.5",
        "etcd peers require client certificates",
        High,
        "Start etcd with --peer-client-cert-auth=true."
    ),
    check!("KSO-B040", "1.1.21", "Key files are mode 600 or stricter", High, "chmod 600 the key file."),
    check!(
        "KSO-B041",
        "1.1.20",
        "Certificate files are mode 600 or stricter",
        Low,
        "chmod 600 the certificate file."
    ),
    check!("KSO-B042", "1.1.19", "PKI files are owned by root:root", Medium, "chown root:root the file."),
    check!(
        "KSO-B043",
        "4.1.5",
        "Kubeconfig files are mode 600 or stricter",
        High,
        "chmod 600 the kubeconfig."
    ),
    check!(
        "KSO-B044",
        "4.1.6",
        "Kubeconfig files are owned by root:root",
        Medium,
        "chown root:root the kubeconfig."
    ),
    check!(
        "KSO-B045",
        "4.1.9",
        "Component config files are mode 600 or stricter",
        Medium,
        "chmod 600 the config file."
    ),
    check!(
        "KSO-B046",
        "4.1.10",
        "Component config files are owned by root:root",
        Medium,
        "chown root:root the config file."
    ),
    check!(
        "KSO-B047",
        "1.1.11",
        "etcd data directory is mode 700 or stricter",
        High,
        "chmod 700 the etcd data directory."
    ),
];

/// Looks a check up by our id, its CIS number or a kube-bench alias.
pub fn find_check(id: &str) -> Option<&'static BuiltinCheck> {
    CHECKS.iter().find(|c| c.id.eq_ignore_ascii_case(id) || c.cis == id || alias(c) == id)
}

fn alias(check: &BuiltinCheck) -> String {
    format!("kube-bench:{}:{}", check.benchmark, check.cis)
}

struct Ctx<'a> {
    node: &'a NodeView,
    version: Option<&'a KubeVersion>,
    results: Vec<NodeResult>,
}

impl Ctx<'_> {
    fn push(&mut self, id: &str, component: &str, status: Status, message: String, at: Option<&Setting>) {
        let check = CHECKS.iter().find(|c| c.id == id).expect("known check id");
        let (path, line) = match at.and_then(|s| s.file_line.clone()) {
            Some((p, l)) => (Some(p), Some(l)),
            None => (None, None),
        };
        self.results.push(NodeResult {
            id: check.id.into(),
            title: check.title.into(),
            status,
            cis: check.cis.into(),
            aliases: vec![alias(check)],
            severity: check.severity,
            component: component.into(),
            message,
            remediation: if status == Status::Pass { String::new() } else { check.remediation.into() },
            path,
            line,
        });
    }

    /// PASS when `ok`, FAIL otherwise; the message names the value and its origin.
    fn verdict(&mut self, id: &str, c: &Component, s: &Setting, ok: bool, what: &str) {
        let status = if ok { Status::Pass } else { Status::Fail };
        let message = format!("{} {what} is {:?} ({})", c.kind.name(), s.value, s.origin);
        self.push(id, c.kind.name(), status, message, Some(s));
    }

    fn not_running(&mut self, ids: &[&str], kind: ComponentKind) {
        for id in ids {
            let message = format!("{} is not running on this node", kind.name());
            self.push(id, kind.name(), Status::Info, message, None);
        }
    }
}

fn list_has(value: &str, item: &str) -> bool {
    value.split(',').any(|v| v.trim() == item)
}

fn is_true(value: &str) -> bool {
    value.eq_ignore_ascii_case("true")
}

/// Runs every built-in check on the node.
pub fn run_builtin(node: &NodeView, version: Option<&KubeVersion>) -> Vec<NodeResult> {
    let mut ctx = Ctx { node, version, results: Vec::new() };
    let find = |k| Component::find(node, k);
    match find(ComponentKind::Kubelet) {
        Some(k) => kubelet(&mut ctx, &k),
        None => ctx.not_running(&["KSO-B001", "KSO-B002", "KSO-B003", "KSO-B004"], ComponentKind::Kubelet),
    }
    match find(ComponentKind::ApiServer) {
        Some(a) => apiserver(&mut ctx, &a),
        None => ctx.not_running(
            &[
                "KSO-B010", "KSO-B011", "KSO-B012", "KSO-B013", "KSO-B014", "KSO-B015", "KSO-B016",
                "KSO-B017", "KSO-B018", "KSO-B020",
            ],
            ComponentKind::ApiServer,
        ),
    }
    for (kind, id) in [(ComponentKind::ControllerManager, "KSO-B021"), (ComponentKind::Scheduler, "KSO-B022")]
    {
        match find(kind) {
            Some(c) => {
                let s = c.setting("profiling", &[], None, Some("true")).expect("has a default");
                ctx.verdict(id, &c, &s, !is_true(&s.value), "profiling");
            }
            None => ctx.not_running(&[id], kind),
        }
    }
    match find(ComponentKind::Etcd) {
        Some(e) => etcd(&mut ctx, &e),
        None => ctx.not_running(&["KSO-B030", "KSO-B031", "KSO-B033", "KSO-B034"], ComponentKind::Etcd),
    }
    files(&mut ctx);
    ctx.results
}

fn kubelet(ctx: &mut Ctx<'_>, k: &Component) {
    if let Some(err) = &k.config_error {
        ctx.push("KSO-B001", "kubelet", Status::Warn, format!("kubelet config file unusable: {err}"), None);
    }
    let anon = k
        .setting("anonymous-auth", &["authentication", "anonymous", "enabled"], Some("false"), Some("true"))
        .expect("has a default");
    ctx.verdict("KSO-B001", k, &anon, !is_true(&anon.value), "anonymous auth");
    let authz = k
        .setting("authorization-mode", &["authorization", "mode"], Some("Webhook"), Some("AlwaysAllow"))
        .expect("default");
    ctx.verdict("KSO-B002", k, &authz, !list_has(&authz.value, "AlwaysAllow"), "authorization mode");
    match k.setting("client-ca-file", &["authentication", "x509", "clientCAFile"], None, None) {
        Some(ca) => ctx.verdict("KSO-B003", k, &ca, !ca.value.is_empty(), "client CA file"),
        None => ctx.push("KSO-B003", "kubelet", Status::Fail, "kubelet has no client CA file".into(), None),
    }
    let port = k.setting("read-only-port", &["readOnlyPort"], Some("0"), Some("10255")).expect("default");
    ctx.verdict("KSO-B004", k, &port, port.value.trim() == "0", "read-only port");
}

fn apiserver(ctx: &mut Ctx<'_>, a: &Component) {
    let anon = a.setting("anonymous-auth", &[], None, Some("true")).expect("default");
    ctx.verdict("KSO-B010", a, &anon, !is_true(&anon.value), "anonymous auth");
    match (a.flag("insecure-port"), ctx.version) {
        (Some(s), _) => ctx.verdict("KSO-B011", a, &s, s.value.trim() == "0", "insecure port"),
        (None, Some(v)) if v.at_least(1, 20) => ctx.push(
            "KSO-B011",
            "kube-apiserver",
            Status::Pass,
            format!(
                "--insecure-port not set: Kubernetes {} serves no insecure port by default",
                v.git_version
            ),
            None,
        ),
        (None, Some(v)) => ctx.push(
            "KSO-B011",
            "kube-apiserver",
            Status::Fail,
            format!("--insecure-port not set: Kubernetes {} serves 127.0.0.1:8080 by default", v.git_version),
            None,
        ),
        (None, None) => ctx.push(
            "KSO-B011",
            "kube-apiserver",
            Status::Warn,
            "--insecure-port not set and the version is unknown (default 8080 before v1.20, none since)"
                .into(),
            None,
        ),
    }
    let authz = a.setting("authorization-mode", &[], None, Some("AlwaysAllow")).expect("default");
    ctx.verdict("KSO-B012", a, &authz, !list_has(&authz.value, "AlwaysAllow"), "authorization mode");
    let node_rbac = list_has(&authz.value, "Node") && list_has(&authz.value, "RBAC");
    ctx.verdict("KSO-B013", a, &authz, node_rbac, "authorization mode");
    let plugins = a
        .flag("enable-admission-plugins")
        .or_else(|| a.flag("admission-control"))
        .unwrap_or(Setting { value: String::new(), origin: "default plugins".into(), file_line: None });
    ctx.verdict("KSO-B014", a, &plugins, !list_has(&plugins.value, "AlwaysAdmit"), "admission plugin list");
    ctx.verdict(
        "KSO-B015",
        a,
        &plugins,
        list_has(&plugins.value, "NodeRestriction"),
        "admission plugin list",
    );
    set_flag(ctx, a, "KSO-B016", "audit-log-path");
    match a.flag("audit-policy-file") {
        Some(s) => {
            let problem = match ctx.node.read(&s.value) {
                Err(e) => Some(format!("cannot be read: {e}")),
                Ok(text) if !text.contains("rules") => Some("has no rules".to_string()),
                Ok(_) => None,
            };
            match problem {
                None => ctx.verdict("KSO-B017", a, &s, true, "audit policy file"),
                Some(p) => ctx.push(
                    "KSO-B017",
                    "kube-apiserver",
                    Status::Fail,
                    format!("audit policy {} {p}", s.value),
                    None,
                ),
            }
        }
        None => {
            ctx.push("KSO-B017", "kube-apiserver", Status::Fail, "--audit-policy-file not set".into(), None)
        }
    }
    match a.flag("encryption-provider-config") {
        Some(s) => {
            ctx.verdict("KSO-B018", a, &s, true, "encryption provider config");
            encryption(ctx, &s.value);
        }
        None => ctx.push(
            "KSO-B018",
            "kube-apiserver",
            Status::Fail,
            "--encryption-provider-config not set: Secrets are stored in etcd unencrypted".into(),
            None,
        ),
    }
    let prof = a.setting("profiling", &[], None, Some("true")).expect("default");
    ctx.verdict("KSO-B020", a, &prof, !is_true(&prof.value), "profiling");
}

fn set_flag(ctx: &mut Ctx<'_>, c: &Component, id: &str, flag: &str) {
    match c.flag(flag) {
        Some(s) => ctx.verdict(id, c, &s, !s.value.is_empty(), flag),
        None => ctx.push(id, c.kind.name(), Status::Fail, format!("--{flag} not set"), None),
    }
}

/// The first provider for `secrets` must not be `identity` (which stores plain text).
fn encryption(ctx: &mut Ctx<'_>, path: &str) {
    let host = ctx.node.host_path(path);
    let text = match std::fs::read_to_string(&host) {
        Ok(t) => t,
        Err(e) => {
            return ctx.push(
                "KSO-B019",
                "kube-apiserver",
                Status::Fail,
                format!("{path}: cannot read: {e}"),
                None,
            )
        }
    };
    let root = match crate::controls::parse_yaml(&host, &text) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return ctx.push("KSO-B019", "kube-apiserver", Status::Fail, format!("{path}: empty"), None)
        }
        Err(e) => return ctx.push("KSO-B019", "kube-apiserver", Status::Fail, e.to_string(), None),
    };
    let for_secrets = root.get("resources").map(|r| r.items()).unwrap_or(&[]).iter().find(|r| {
        r.get("resources").is_some_and(|names| names.items().iter().any(|n| n.as_str() == Some("secrets")))
    });
    let first = for_secrets.and_then(|r| r.get("providers")).and_then(|p| p.items().first());
    let setting = |name: &str, line: u32| Setting {
        value: name.to_string(),
        origin: format!("{path}:{line}"),
        file_line: Some((path.to_string(), line)),
    };
    match first.and_then(|p| p.entries().first()) {
        Some(e) => {
            let s = setting(&e.key, e.key_pos.line);
            let ok = e.key != "identity";
            let status = if ok { Status::Pass } else { Status::Fail };
            ctx.push(
                "KSO-B019",
                "kube-apiserver",
                status,
                format!("first provider for secrets is {}", e.key),
                Some(&s),
            );
        }
        None => ctx.push(
            "KSO-B019",
            "kube-apiserver",
            Status::Fail,
            format!("{path} has no provider for secrets"),
            Some(&setting("", root.pos.line)),
        ),
    }
}

fn etcd(ctx: &mut Ctx<'_>, e: &Component) {
    let get = |flag: &str, section: &str, key: &str| e.setting(flag, &[section, key], None, None);
    let both = |a: Option<Setting>, b: Option<Setting>| match (a, b) {
        (Some(a), Some(b)) if !a.value.is_empty() && !b.value.is_empty() => Some(a),
        _ => None,
    };
    let client = both(
        get("cert-file", "client-transport-security", "cert-file"),
        get("key-file", "client-transport-security", "key-file"),
    );
    match client {
        Some(s) => ctx.verdict("KSO-B030", e, &s, true, "client certificate"),
        None => ctx.push(
            "KSO-B030",
            "etcd",
            Status::Fail,
            "etcd serves clients without TLS (--cert-file/--key-file not set)".into(),
            None,
        ),
    }
    let auth = get("client-cert-auth", "client-transport-security", "client-cert-auth").unwrap_or(Setting {
        value: "false".into(),
        origin: "default".into(),
        file_line: None,
    });
    ctx.verdict("KSO-B031", e, &auth, is_true(&auth.value), "client-cert-auth");
    if let Some(s) = get("auto-tls", "client-transport-security", "auto-tls") {
        ctx.verdict("KSO-B032", e, &s, !is_true(&s.value), "auto-tls");
    } else {
        ctx.push("KSO-B032", "etcd", Status::Pass, "etcd auto-tls not set (default false)".into(), None);
    }
    let peer = both(
        get("peer-cert-file", "peer-transport-security", "cert-file"),
        get("peer-key-file", "peer-transport-security", "key-file"),
    );
    match peer {
        Some(s) => ctx.verdict("KSO-B033", e, &s, true, "peer certificate"),
        None => ctx.push(
            "KSO-B033",
            "etcd",
            Status::Fail,
            "etcd peers talk without TLS (--peer-cert-file/--peer-key-file not set)".into(),
            None,
        ),
    }
    let peer_auth = get("peer-client-cert-auth", "peer-transport-security", "client-cert-auth")
        .unwrap_or(Setting { value: "false".into(), origin: "default".into(), file_line: None });
    ctx.verdict("KSO-B034", e, &peer_auth, is_true(&peer_auth.value), "peer-client-cert-auth");
}

/// Which file check applies to a file, by what the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Key,
    Cert,
    Kubeconfig,
    Config,
    DataDir,
}

fn files(ctx: &mut Ctx<'_>) {
    let mut seen = std::collections::BTreeSet::new();
    let mut files: Vec<(String, FileKind, &'static str)> = Vec::new();
    let mut add = |path: Option<String>, kind: FileKind, owner: &'static str| {
        if let Some(p) = path.filter(|p| !p.is_empty()) {
            if seen.insert(p.clone()) {
                files.push((p, kind, owner));
            }
        }
    };
    for kind in ComponentKind::ALL {
        let Some(c) = Component::find(ctx.node, kind) else { continue };
        let f = |name: &str| c.flags.get(name).cloned();
        let name = kind.name();
        for key in [
            "tls-private-key-file",
            "key-file",
            "peer-key-file",
            "kubelet-client-key",
            "service-account-signing-key-file",
            "service-account-private-key-file",
            "cluster-signing-key-file",
            "etcd-keyfile",
        ] {
            add(f(key), FileKind::Key, name);
        }
        for key in [
            "tls-cert-file",
            "cert-file",
            "peer-cert-file",
            "client-ca-file",
            "trusted-ca-file",
            "peer-trusted-ca-file",
            "kubelet-client-certificate",
            "kubelet-certificate-authority",
            "root-ca-file",
            "etcd-cafile",
            "etcd-certfile",
        ] {
            add(f(key), FileKind::Cert, name);
        }
        for key in ["kubeconfig", "authentication-kubeconfig", "authorization-kubeconfig"] {
            add(f(key), FileKind::Kubeconfig, name);
        }
        add(f("config"), FileKind::Config, name);
        add(f("config-file"), FileKind::Config, name);
        add(f("encryption-provider-config"), FileKind::Config, name);
        add(f("audit-policy-file"), FileKind::Config, name);
        add(f("data-dir"), FileKind::DataDir, name);
        if kind == ComponentKind::Kubelet {
            let text = |path: &[&str]| c.setting("", path, None, None).map(|s| s.value);
            add(text(&["tlsPrivateKeyFile"]), FileKind::Key, name);
            add(text(&["tlsCertFile"]), FileKind::Cert, name);
            add(text(&["authentication", "x509", "clientCAFile"]), FileKind::Cert, name);
        }
        if kind == ComponentKind::Proxy {
            add(
                c.setting("", &["clientConnection", "kubeconfig"], None, None).map(|s| s.value),
                FileKind::Kubeconfig,
                name,
            );
        }
    }
    // kubeadm's well-known files, checked when they exist.
    for p in ["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"] {
        if ctx.node.host_path(p).exists() {
            add(Some(p.to_string()), FileKind::Kubeconfig, "kubeadm");
        }
    }
    for m in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
        let p = format!("/etc/kubernetes/manifests/{m}.yaml");
        if ctx.node.host_path(&p).exists() {
            add(Some(p), FileKind::Config, "kubeadm");
        }
    }
    let passwd = ctx.node.read("/etc/passwd").unwrap_or_default();
    for (path, kind, component) in files {
        let meta = match std::fs::metadata(ctx.node.host_path(&path)) {
            Ok(m) => m,
            Err(e) => {
                let id = perm_check(kind);
                ctx.push(id, component, Status::Warn, format!("{path}: cannot stat: {e}"), None);
                continue;
            }
        };
        let mode = meta.mode() & 0o7777;
        let most = if kind == FileKind::DataDir { 0o700 } else { 0o600 };
        let status = if mode & !most == 0 { Status::Pass } else { Status::Fail };
        let at = Setting { value: String::new(), origin: String::new(), file_line: Some((path.clone(), 0)) };
        let message = format!("{path} has mode {mode:o} (at most {most:o} expected)");
        ctx.push(perm_check(kind), component, status, message, Some(&at));
        if let Some(owner_id) = owner_check(kind) {
            let root_owned = meta.uid() == 0 && meta.gid() == 0;
            let status = if root_owned { Status::Pass } else { Status::Fail };
            let user = user_name(&passwd, meta.uid());
            let message = format!(
                "{path} is owned by {user} (uid {}, gid {}), root:root expected",
                meta.uid(),
                meta.gid()
            );
            ctx.push(owner_id, component, status, message, Some(&at));
        }
    }
    // Path-only results have no line.
    for r in &mut ctx.results {
        if r.line == Some(0) {
            r.line = None;
        }
    }
}

fn perm_check(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Key => "KSO-B040",
        FileKind::Cert => "KSO-B041",
        FileKind::Kubeconfig => "KSO-B043",
        FileKind::Config => "KSO-B045",
        FileKind::DataDir => "KSO-B047",
    }
}

fn owner_check(kind: FileKind) -> Option<&'static str> {
    match kind {
        FileKind::Key | FileKind::Cert => Some("KSO-B042"),
        FileKind::Kubeconfig => Some("KSO-B044"),
        FileKind::Config => Some("KSO-B046"),
        FileKind::DataDir => None,
    }
}

fn user_name(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}
