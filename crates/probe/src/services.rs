//! The probes of each service. Each one sends a few read-only requests (writes and command
//! runs only with `active`) and turns the answers into services and findings.

use kubesecops_core::Severity;
use serde_json::Value;

use crate::base64;
use crate::http::{Client, HttpError, Reply};
use crate::vulns::affecting;
use crate::{PodContext, PortOutcome, ProbeFinding, Service};

/// A kubelet read probe: path, our id, title, kube-hunter id, ATT&CK technique, severity.
type KubeletRead = (&'static str, &'static str, &'static str, Option<&'static str>, &'static str, Severity);

/// A metadata probe: path, headers, cloud, kube-hunter id.
type MetadataProbe =
    (&'static str, &'static [(&'static str, &'static str)], &'static str, Option<&'static str>);

fn url(scheme: &str, host: &str, port: u16, path: &str) -> String {
    format!("{scheme}://{host}:{port}{path}")
}

struct Out {
    outcome: PortOutcome,
}

impl Out {
    fn new() -> Out {
        Out { outcome: PortOutcome::default() }
    }

    fn service(&mut self, host: &str, port: u16, kind: &str, scheme: &str, detail: impl Into<String>) {
        self.outcome.services.push(Service {
            address: format!("{host}:{port}"),
            kind: kind.into(),
            scheme: scheme.into(),
            detail: detail.into(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &mut self,
        id: &str,
        title: &str,
        severity: Severity,
        target: &str,
        evidence: impl Into<String>,
        kube_hunter: Option<&str>,
        mitre: &str,
        active: bool,
    ) {
        self.outcome.findings.push(ProbeFinding {
            id: id.into(),
            title: title.into(),
            severity,
            target: target.into(),
            evidence: evidence.into(),
            kube_hunter: kube_hunter.map(str::to_string),
            mitre: mitre.into(),
            active,
        });
    }
}

fn json(reply: &Reply) -> Option<Value> {
    serde_json::from_str(&reply.body).ok()
}

fn ok(r: &Result<Reply, HttpError>) -> Option<&Reply> {
    r.as_ref().ok().filter(|r| r.status == 200)
}

fn snippet(text: &str) -> String {
    let t: String = text.chars().take(120).collect();
    t.replace('\n', " ").trim().to_string()
}

/// Probes one port of one host, by what usually listens there (unknown ports are identified
/// from their `/version` answer).
pub fn probe_port(client: &Client, host: &str, port: u16, active: bool) -> PortOutcome {
    let mut out = Out::new();
    match port {
        2379 | 4001 => etcd(client, host, port, &mut out),
        10250 => kubelet(client, host, port, active, &mut out),
        10255 => kubelet_readonly(client, host, port, &mut out),
        10249 | 10256 => proxy(client, host, port, &mut out),
        10257 => component(client, host, port, "kube-controller-manager", &mut out),
        10259 => component(client, host, port, "kube-scheduler", &mut out),
        30000 => dashboard(client, host, port, &mut out),
        8080 | 8001 => {
            api_server(client, "http", host, port, None, &mut out);
        }
        _ => {
            if !api_server(client, "https", host, port, None, &mut out)
                && !api_server(client, "http", host, port, None, &mut out)
            {
                if port != 443 && port != 6443 {
                    etcd(client, host, port, &mut out);
                }
                if out.outcome.services.is_empty() {
                    dashboard(client, host, port, &mut out);
                }
            }
        }
    }
    out.outcome
}

/// The API server; returns whether one answered.
fn api_server(
    client: &Client,
    scheme: &str,
    host: &str,
    port: u16,
    token: Option<&str>,
    out: &mut Out,
) -> bool {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.as_deref().map(|a| vec![("Authorization", a)]).unwrap_or_default();
    let get = |path: &str| client.get(&url(scheme, host, port, path), &headers);
    let version = get("/version");
    let Ok(reply) = &version else { return false };
    let body = json(reply);
    let git_version =
        body.as_ref().and_then(|b| b.get("gitVersion")).and_then(Value::as_str).map(str::to_string);
    let is_status = body.as_ref().and_then(|b| b.get("kind")).and_then(Value::as_str) == Some("Status");
    if git_version.is_none() && !is_status {
        return false;
    }
    let target = url(scheme, host, port, "/version");
    let who = if token.is_some() { "the pod's service-account token" } else { "anonymous requests" };
    match &git_version {
        Some(v) => {
            out.service(host, port, "kube-apiserver", scheme, format!("version {v}"));
            if token.is_none() {
                out.finding(
                    "KSO-P001",
                    "Kubernetes version disclosed to anonymous requests",
                    Severity::Low,
                    &target,
                    format!("GET /version answered {v}"),
                    Some("KHV002"),
                    "T1613",
                    false,
                );
                for vuln in affecting(v) {
                    out.finding(
                        "KSO-P002",
                        &format!("{}: {}", vuln.cve, vuln.title),
                        vuln.severity,
                        &target,
                        format!("API server version {v} is affected by {}", vuln.cve),
                        vuln.kube_hunter,
                        vuln.mitre,
                        false,
                    );
                }
            }
        }
        None => {
            out.service(host, port, "kube-apiserver", scheme, format!("/version refused ({})", reply.status))
        }
    }
    let resources: &[(&str, &str, Severity, &str)] = &[
        ("/api/v1/namespaces", "namespaces", Severity::High, "T1613"),
        ("/api/v1/pods", "pods in every namespace", Severity::High, "T1613"),
        ("/api/v1/secrets", "Secrets in every namespace", Severity::Critical, "T1552.007"),
    ];
    let mut listed = false;
    for (path, what, severity, mitre) in resources {
        let r = get(path);
        if let Some(reply) = ok(&r) {
            let count = json(reply).and_then(|b| b.get("items").and_then(Value::as_array).map(Vec::len));
            let evidence = format!("GET {path} with {who}: 200, {} items", count.unwrap_or(0));
            let (id, kh) = if token.is_some() { ("KSO-P050", "KHV005") } else { ("KSO-P004", "KHV007") };
            let title =
                format!("{} can list {what}", if token.is_some() { "Pod token" } else { "Anonymous user" });
            out.finding(
                id,
                &title,
                *severity,
                &url(scheme, host, port, path),
                evidence,
                Some(kh),
                mitre,
                false,
            );
            listed = true;
        }
    }
    if scheme == "http" && (git_version.is_some() || listed) {
        out.finding(
            "KSO-P003",
            "Kubernetes API served over plain HTTP (insecure port or kubectl proxy)",
            Severity::Critical,
            &target,
            format!("GET /version over http answered {}", git_version.as_deref().unwrap_or("a Status")),
            Some(if port == 8001 { "KHV049" } else { "KHV006" }),
            "T1190",
            false,
        );
    }
    if token.is_none() {
        let pprof = get("/debug/pprof/");
        if let Some(r) = ok(&pprof).filter(|r| r.body.contains("pprof") || r.body.contains("profile")) {
            out.finding(
                "KSO-P005",
                "API server profiling endpoint /debug/pprof exposed",
                Severity::Medium,
                &url(scheme, host, port, "/debug/pprof/"),
                format!("GET /debug/pprof/ answered 200: {}", snippet(&r.body)),
                None,
                "T1082",
                false,
            );
        }
        let metrics = get("/metrics");
        if let Some(r) = ok(&metrics).filter(|r| r.body.contains("# HELP") || r.body.contains("# TYPE")) {
            out.finding(
                "KSO-P006",
                "API server metrics readable anonymously",
                Severity::Low,
                &url(scheme, host, port, "/metrics"),
                format!("GET /metrics answered 200 ({} bytes)", r.body.len()),
                None,
                "T1613",
                false,
            );
        }
    }
    true
}

fn first_running_container(pods: &Value) -> Option<(String, String, String)> {
    pods.get("items")?.as_array()?.iter().find_map(|p| {
        let running = p.pointer("/status/phase").and_then(Value::as_str) == Some("Running");
        let ns = p.pointer("/metadata/namespace")?.as_str()?;
        let name = p.pointer("/metadata/name")?.as_str()?;
        let container = p.pointer("/spec/containers/0/name")?.as_str()?;
        running.then(|| (ns.to_string(), name.to_string(), container.to_string()))
    })
}

fn kubelet(client: &Client, host: &str, port: u16, active: bool, out: &mut Out) {
    let get = |path: &str| client.get(&url("https", host, port, path), &[]);
    let pods = get("/pods");
    let Ok(reply) = &pods else { return };
    let pod_list = json(reply).filter(|b| b.get("kind").and_then(Value::as_str) == Some("PodList"));
    match (reply.status, &pod_list) {
        (200, Some(list)) => {
            let count = list.get("items").and_then(Value::as_array).map_or(0, Vec::len);
            out.service(host, port, "kubelet", "https", "anonymous requests allowed");
            let target = url("https", host, port, "/pods");
            out.finding(
                "KSO-P010",
                "Kubelet API accepts anonymous requests",
                Severity::Critical,
                &target,
                "GET /pods without credentials answered 200",
                Some("KHV036"),
                "T1609",
                false,
            );
            out.finding(
                "KSO-P011",
                "Kubelet lists the node's pods to anonymous requests",
                Severity::High,
                &target,
                format!("GET /pods: {count} pods"),
                Some("KHV052"),
                "T1613",
                false,
            );
            let checks: &[KubeletRead] = &[
                (
                    "/runningpods/",
                    "KSO-P012",
                    "Kubelet /runningpods exposed",
                    Some("KHV038"),
                    "T1613",
                    Severity::Medium,
                ),
                (
                    "/configz",
                    "KSO-P013",
                    "Kubelet configuration (/configz) exposed",
                    None,
                    "T1082",
                    Severity::Medium,
                ),
                (
                    "/debug/pprof/cmdline",
                    "KSO-P014",
                    "Kubelet command line exposed",
                    Some("KHV046"),
                    "T1082",
                    Severity::Medium,
                ),
                (
                    "/healthz",
                    "KSO-P019",
                    "Kubelet health endpoint answers anonymous requests",
                    Some("KHV043"),
                    "T1613",
                    Severity::Low,
                ),
            ];
            for (path, id, title, kh, mitre, sev) in checks {
                if let Some(r) = ok(&get(path)) {
                    let u = url("https", host, port, path);
                    out.finding(
                        id,
                        title,
                        *sev,
                        &u,
                        format!("GET {path}: 200, {}", snippet(&r.body)),
                        *kh,
                        mitre,
                        false,
                    );
                }
            }
            // Logs often carry tokens and customer data: read one container's, as an
            // attacker would, to show they are open (only the first bytes are kept).
            if let Some(path) = first_container_logs_path(list) {
                if let Some(r) = ok(&get(&path)) {
                    out.finding(
                        "KSO-P020",
                        "Kubelet serves container logs to anonymous requests",
                        Severity::High,
                        &url("https", host, port, &path),
                        format!("GET {path}: 200, {} bytes", r.body.len()),
                        Some("KHV037"),
                        "T1005",
                        false,
                    );
                }
            }
            if active {
                kubelet_active(client, host, port, list, out);
            }
        }
        (401, _) => {
            out.service(host, port, "kubelet", "https", "anonymous requests rejected (401 Unauthorized)")
        }
        (403, _) => {
            out.service(
                host,
                port,
                "kubelet",
                "https",
                "anonymous requests authenticated, then denied (403)",
            );
            out.finding(
                "KSO-P017",
                "Kubelet authenticates anonymous requests (authorization denies them)",
                Severity::Low,
                &url("https", host, port, "/pods"),
                "GET /pods without credentials answered 403, not 401",
                Some("KHV036"),
                "T1613",
                false,
            );
        }
        (status, _) if reply.body.contains("Unauthorized") || status == 404 => {
            out.service(host, port, "kubelet", "https", format!("/pods answered {status}"))
        }
        _ => {}
    }
}

fn kubelet_active(client: &Client, host: &str, port: u16, pods: &Value, out: &mut Out) {
    let Some((ns, pod, container)) = first_running_container(pods) else { return };
    let run_path = format!("/run/{ns}/{pod}/{container}?cmd=id");
    if let Ok(r) = client.post(&url("https", host, port, &run_path), &[], "") {
        if r.status == 200 {
            out.finding(
                "KSO-P015",
                "Kubelet runs commands in containers for anonymous requests (/run)",
                Severity::Critical,
                &url("https", host, port, &format!("/run/{ns}/{pod}/{container}")),
                format!("POST /run/{ns}/{pod}/{container}?cmd=id answered 200: {}", snippet(&r.body)),
                Some("KHV040"),
                "T1609",
                true,
            );
        }
    }
    let exec_path = format!("/exec/{ns}/{pod}/{container}?command=id&input=1&output=1&tty=0");
    if let Ok(r) = client.post(&url("https", host, port, &exec_path), &[], "") {
        // Without a stream upgrade nothing runs; any answer past authorization shows the
        // endpoint is open.
        if !matches!(r.status, 401 | 403 | 404 | 405) {
            out.finding(
                "KSO-P016",
                "Kubelet /exec reachable for anonymous requests",
                Severity::Critical,
                &url("https", host, port, &format!("/exec/{ns}/{pod}/{container}")),
                format!("POST /exec answered {} (authorized): {}", r.status, snippet(&r.body)),
                Some("KHV039"),
                "T1609",
                true,
            );
        }
    }
}

fn kubelet_readonly(client: &Client, host: &str, port: u16, out: &mut Out) {
    let r = client.get(&url("http", host, port, "/pods"), &[]);
    if let Some(reply) = ok(&r) {
        if let Some(list) = json(reply).filter(|b| b.get("kind").and_then(Value::as_str) == Some("PodList")) {
            let count = list.get("items").and_then(Value::as_array).map_or(0, Vec::len);
            out.service(host, port, "kubelet-readonly", "http", "read-only port open");
            out.finding(
                "KSO-P018",
                "Kubelet read-only port lists the node's pods without authentication",
                Severity::High,
                &url("http", host, port, "/pods"),
                format!("GET /pods on the read-only port: {count} pods"),
                Some("KHV052"),
                "T1613",
                false,
            );
        }
    }
}

fn etcd(client: &Client, host: &str, port: u16, out: &mut Out) {
    for scheme in ["http", "https"] {
        let r = client.get(&url(scheme, host, port, "/version"), &[]);
        let Some(reply) = ok(&r) else {
            if scheme == "https" {
                if let Err(HttpError::Failed(e)) = &r {
                    if port == 2379
                        && (e.contains("certificate") || e.contains("alert") || e.contains("handshake"))
                    {
                        out.service(
                            host,
                            port,
                            "etcd?",
                            "https",
                            format!("TLS refused without a client certificate: {e}"),
                        );
                    }
                }
            }
            continue;
        };
        let Some(version) =
            json(reply).and_then(|b| b.get("etcdserver").and_then(Value::as_str).map(str::to_string))
        else {
            continue;
        };
        let target = url(scheme, host, port, "/version");
        out.service(host, port, "etcd", scheme, format!("etcd {version}"));
        if scheme == "http" {
            out.finding(
                "KSO-P021",
                "etcd serves clients over plain HTTP",
                Severity::Critical,
                &target,
                format!("GET /version over http answered etcd {version}"),
                Some("KHV034"),
                "T1552",
                false,
            );
        } else {
            out.finding(
                "KSO-P023",
                "etcd accepts TLS clients without a client certificate",
                Severity::Critical,
                &target,
                format!("GET /version over https without a client certificate answered etcd {version}"),
                None,
                "T1552",
                false,
            );
        }
        out.finding(
            "KSO-P022",
            "etcd version disclosed",
            Severity::Low,
            &target,
            format!("etcd {version}"),
            Some("KHV033"),
            "T1613",
            false,
        );
        etcd_keys(client, scheme, host, port, out);
        return;
    }
}

/// Reads keys through etcd's v3 JSON gateway (`/v3/kv/range`, base64 keys), so no gRPC is
/// needed. Keys only: values are never fetched.
fn etcd_keys(client: &Client, scheme: &str, host: &str, port: u16, out: &mut Out) {
    let range = |key: &[u8], end: &[u8], count_only: bool| -> Option<(u64, Vec<String>)> {
        let body = serde_json::json!({
            "key": base64::encode(key), "range_end": base64::encode(end),
            "keys_only": true, "count_only": count_only, "limit": 20,
        })
        .to_string();
        for prefix in ["/v3", "/v3beta"] {
            let r = client.post(&url(scheme, host, port, &format!("{prefix}/kv/range")), &[], &body);
            let Some(reply) = ok(&r) else { continue };
            let v = json(reply)?;
            let count = match v.get("count") {
                Some(Value::String(s)) => s.parse().unwrap_or(0),
                Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
                _ => 0,
            };
            let keys = v
                .get("kvs")
                .and_then(Value::as_array)
                .map(|kvs| {
                    kvs.iter()
                        .filter_map(|kv| kv.get("key")?.as_str().and_then(base64::decode))
                        .map(|k| String::from_utf8_lossy(&k).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            return Some((count, keys));
        }
        None
    };
    if let Some((count, keys)) = range(b"\0", b"\0", false) {
        let sample = keys.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        out.finding(
            "KSO-P024",
            "etcd keys readable without authentication",
            Severity::Critical,
            &url(scheme, host, port, "/v3/kv/range"),
            format!("{count} keys readable, e.g. {sample}"),
            Some("KHV032"),
            "T1552",
            false,
        );
    }
    if let Some((count, keys)) = range(b"/registry/secrets/", b"/registry/secrets0", false) {
        if count > 0 {
            let sample = keys.first().cloned().unwrap_or_default();
            out.finding(
                "KSO-P025",
                "Kubernetes Secrets readable in etcd (/registry/secrets)",
                Severity::Critical,
                &url(scheme, host, port, "/v3/kv/range"),
                format!("{count} keys under /registry/secrets/, e.g. {sample}"),
                Some("KHV032"),
                "T1552",
                false,
            );
        }
    }
}

fn proxy(client: &Client, host: &str, port: u16, out: &mut Out) {
    let (path, id, title, kh, sev) = if port == 10249 {
        ("/metrics", "KSO-P030", "kube-proxy metrics exposed", None, Severity::Low)
    } else {
        ("/healthz", "KSO-P031", "kube-proxy health endpoint exposed", Some("KHV043"), Severity::Low)
    };
    if let Some(r) = ok(&client.get(&url("http", host, port, path), &[])) {
        let looks = if port == 10249 { r.body.contains("kubeproxy") } else { r.body.contains("lastUpdated") };
        if looks {
            out.service(host, port, "kube-proxy", "http", format!("{path} open"));
            out.finding(
                id,
                title,
                sev,
                &url("http", host, port, path),
                format!("GET {path}: 200"),
                kh,
                "T1613",
                false,
            );
        }
    }
}

/// `/containerLogs/NS/POD/CONTAINER` of the first container in a kubelet pod list.
fn first_container_logs_path(list: &Value) -> Option<String> {
    list.get("items")?.as_array()?.iter().find_map(|pod| {
        let meta = pod.get("metadata")?;
        let namespace = meta.get("namespace")?.as_str()?;
        let name = meta.get("name")?.as_str()?;
        let container = pod.pointer("/spec/containers/0/name")?.as_str()?;
        Some(format!("/containerLogs/{namespace}/{name}/{container}?tailLines=1"))
    })
}

fn component(client: &Client, host: &str, port: u16, name: &str, out: &mut Out) {
    let health = client.get(&url("https", host, port, "/healthz"), &[]);
    let Some(r) = ok(&health) else { return };
    if r.body.trim() != "ok" {
        return;
    }
    out.service(host, port, name, "https", "/healthz open");
    out.finding(
        "KSO-P031",
        &format!("{name} health endpoint reachable"),
        Severity::Low,
        &url("https", host, port, "/healthz"),
        "GET /healthz: ok",
        Some("KHV043"),
        "T1613",
        false,
    );
    if let Some(m) = ok(&client.get(&url("https", host, port, "/metrics"), &[])) {
        out.finding(
            "KSO-P032",
            &format!("{name} metrics readable anonymously"),
            Severity::Medium,
            &url("https", host, port, "/metrics"),
            format!("GET /metrics: 200 ({} bytes)", m.body.len()),
            None,
            "T1613",
            false,
        );
    }
}

fn dashboard(client: &Client, host: &str, port: u16, out: &mut Out) {
    for scheme in ["https", "http"] {
        if let Some(r) = ok(&client.get(&url(scheme, host, port, "/"), &[])) {
            if r.body.contains("Kubernetes Dashboard") || r.body.contains("kubernetes-dashboard") {
                out.service(host, port, "kubernetes-dashboard", scheme, "dashboard UI");
                out.finding(
                    "KSO-P040",
                    "Kubernetes Dashboard exposed",
                    Severity::High,
                    &url(scheme, host, port, "/"),
                    "GET / served the dashboard UI",
                    Some("KHV029"),
                    "T1133",
                    false,
                );
                return;
            }
        }
    }
}

fn split_address(address: &str) -> Option<(String, u16)> {
    let (h, p) = address.rsplit_once(':')?;
    Some((h.to_string(), p.parse().ok()?))
}

/// In-pod checks: the API server with the mounted token, cloud metadata, the node's kubelet.
pub fn probe_from_pod(client: &Client, ctx: &PodContext, active: bool) -> PortOutcome {
    let mut out = Out::new();
    if let (Some(api), Some(token)) = (&ctx.api_server, &ctx.token) {
        if let Some((host, port)) = split_address(api) {
            api_server(client, "https", &host, port, Some(token), &mut out);
            if let Some(ns) = &ctx.namespace {
                let path = format!("/api/v1/namespaces/{ns}/secrets");
                let auth = format!("Bearer {token}");
                if let Some(r) =
                    ok(&client.get(&url("https", &host, port, &path), &[("Authorization", &auth)]))
                {
                    let count = json(r)
                        .and_then(|b| b.get("items").and_then(Value::as_array).map(Vec::len))
                        .unwrap_or(0);
                    out.finding(
                        "KSO-P050",
                        "Pod token can list Secrets of its namespace",
                        Severity::High,
                        &url("https", &host, port, &path),
                        format!("GET {path} with the pod's token: 200, {count} Secrets"),
                        Some("KHV005"),
                        "T1552.007",
                        false,
                    );
                }
            }
        }
    }
    if let Some(addr) = &ctx.metadata {
        let probes: &[MetadataProbe] = &[
            ("/latest/meta-data/", &[], "AWS", Some("KHV053")),
            ("/metadata/instance?api-version=2021-02-01", &[("Metadata", "true")], "Azure", Some("KHV003")),
            ("/computeMetadata/v1/", &[("Metadata-Flavor", "Google")], "GCP", None),
        ];
        for (path, headers, cloud, kh) in probes {
            let u = format!("http://{addr}{path}");
            if let Some(r) = ok(&client.get(&u, headers)) {
                out.service(addr, split_address(addr).map_or(80, |a| a.1), "cloud-metadata", "http", *cloud);
                out.finding(
                    "KSO-P051",
                    &format!("{cloud} instance metadata reachable from the pod"),
                    Severity::High,
                    &u,
                    format!("GET {path}: 200, {}", snippet(&r.body)),
                    *kh,
                    "T1552.005",
                    false,
                );
            }
        }
    }
    if let Some(node) = &ctx.node {
        for port in [10250, 10255] {
            let o = probe_port(client, node, port, active);
            out.outcome.services.extend(o.services);
            out.outcome.findings.extend(o.findings);
        }
    }
    out.outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_logs_path_of_the_first_pod_with_a_container() {
        let list: Value = serde_json::from_str(
            r#"{"items":[{"metadata":{"name":"empty","namespace":"a"},"spec":{"containers":[]}},
                {"metadata":{"name":"web-1","namespace":"shop"},"spec":{"containers":[{"name":"web"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(
            first_container_logs_path(&list).as_deref(),
            Some("/containerLogs/shop/web-1/web?tailLines=1")
        );
        assert_eq!(first_container_logs_path(&serde_json::json!({"items": []})), None);
    }
}
