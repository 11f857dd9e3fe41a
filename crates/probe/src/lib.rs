//! Network probes of Kubernetes components, the way an attacker on the network sees them
//! (the kube-hunter class of tool): API server, kubelet, etcd, kube-proxy, controller manager,
//! scheduler and dashboard, plus what a compromised pod reaches (`--from-pod`).
//!
//! Only the targets given are touched. Every request has a timeout and the whole run a
//! deadline: probes still running at the deadline are abandoned and the report says so.
//! TLS certificates are NOT verified (see [`http`]).

pub mod base64;
pub mod http;
mod services;
pub mod targets;
pub mod vulns;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use kubesecops_core::Severity;
use serde::Serialize;

pub use services::probe_port;
pub use targets::{parse_ports, parse_targets, Target, TargetError, MAX_HOSTS};

/// Ports probed when neither the target nor `--ports` names one.
pub const DEFAULT_PORTS: &[u16] =
    &[443, 2379, 6443, 8001, 8080, 8443, 10249, 10250, 10255, 10256, 10257, 10259, 30000];

/// A Kubernetes service found listening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// `host:port`.
    pub address: String,
    /// `kube-apiserver`, `kubelet`, `kubelet-readonly`, `etcd`, `kube-proxy`, ...
    pub kind: String,
    /// `https` or `http`.
    pub scheme: String,
    /// What identified it (version, status of a probe).
    pub detail: String,
}

/// Something an attacker can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeFinding {
    /// Our id (`KSO-P010`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// How bad.
    pub severity: Severity,
    /// The URL (or address) that showed it.
    pub target: String,
    /// What was seen.
    pub evidence: String,
    /// kube-hunter's id for the same finding, when it has one.
    #[serde(rename = "kubeHunter", skip_serializing_if = "Option::is_none")]
    pub kube_hunter: Option<String>,
    /// MITRE ATT&CK technique.
    pub mitre: String,
    /// Found by an active probe (one that changes or runs something).
    pub active: bool,
}

/// In-pod context: what a compromised pod has at hand.
#[derive(Debug, Clone, Default)]
pub struct PodContext {
    /// The mounted service-account token.
    pub token: Option<String>,
    /// The pod's namespace.
    pub namespace: Option<String>,
    /// The API server (`host:port`), from `KUBERNETES_SERVICE_HOST`/`_PORT`.
    pub api_server: Option<String>,
    /// Cloud metadata address (`host:port`) to try, when given or reachable.
    pub metadata: Option<String>,
    /// The node's kubelet host.
    pub node: Option<String>,
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Ports when a target names none (default [`DEFAULT_PORTS`]).
    pub ports: Vec<u16>,
    /// Run active probes (kubelet `/run` and `/exec`).
    pub active: bool,
    /// Time limit of one request.
    pub timeout: Duration,
    /// Time limit of the whole run.
    pub deadline: Duration,
    /// In-pod mode.
    pub pod: Option<PodContext>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            ports: DEFAULT_PORTS.to_vec(),
            active: false,
            timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(30),
            pod: None,
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    /// Services found.
    pub services: Vec<Service>,
    /// Findings, most severe first.
    pub findings: Vec<ProbeFinding>,
    /// Probes not finished at the deadline (`host:port`).
    pub unfinished: Vec<String>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// What one port's probe gave.
#[derive(Debug, Clone, Default)]
pub struct PortOutcome {
    /// Services found.
    pub services: Vec<Service>,
    /// Findings.
    pub findings: Vec<ProbeFinding>,
}

/// One unit of work: a host and port, or an in-pod check.
#[derive(Debug, Clone)]
enum Job {
    Port(String, u16),
    Pod(PodContext),
}

/// Probes every target's ports in parallel and returns by the deadline.
pub fn probe(targets: &[Target], options: &ProbeOptions) -> ProbeReport {
    let start = Instant::now();
    let deadline = start + options.deadline;
    let mut jobs = Vec::new();
    for t in targets {
        match t.port {
            Some(p) => jobs.push(Job::Port(t.host.clone(), p)),
            None => jobs.extend(options.ports.iter().map(|p| Job::Port(t.host.clone(), *p))),
        }
    }
    if let Some(pod) = &options.pod {
        jobs.push(Job::Pod(pod.clone()));
    }
    let (tx, rx) = mpsc::channel();
    let mut pending: Vec<String> = Vec::new();
    for (i, job) in jobs.into_iter().enumerate() {
        let tx = tx.clone();
        let client = http::Client::new(options.timeout, deadline);
        let active = options.active;
        pending.push(match &job {
            Job::Port(h, p) => format!("{h}:{p}"),
            Job::Pod(_) => "in-pod checks".to_string(),
        });
        // Detached threads: a probe stuck past the deadline is abandoned, never waited for.
        std::thread::spawn(move || {
            let outcome = match job {
                Job::Port(host, port) => probe_port(&client, &host, port, active),
                Job::Pod(ctx) => services::probe_from_pod(&client, &ctx, active),
            };
            let _ = tx.send((i, outcome));
        });
    }
    drop(tx);
    let mut report = ProbeReport::default();
    let mut done = vec![false; pending.len()];
    // A little grace after the deadline for requests that end exactly at it.
    let hard_stop = deadline + Duration::from_millis(250);
    while done.iter().any(|d| !d) {
        let left = hard_stop.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, outcome)) => {
                done[i] = true;
                report.services.extend(outcome.services);
                report.findings.extend(outcome.findings);
            }
            Err(_) => break,
        }
    }
    report.unfinished = pending.into_iter().zip(done).filter(|(_, d)| !d).map(|(p, _)| p).collect();
    report.services.sort_by(|a, b| (&a.address, &a.kind).cmp(&(&b.address, &b.kind)));
    report.findings.sort_by(|a, b| (b.severity, &a.target, &a.id).cmp(&(a.severity, &b.target, &b.id)));
    report.findings.dedup();
    report.elapsed_ms = start.elapsed().as_millis() as u64;
    report
}

/// Reads the in-pod context from a service-account folder and the environment
/// (`KUBERNETES_SERVICE_HOST`/`_PORT`, `HOST_IP` or `NODE_IP` for the node).
pub fn pod_context_from(
    sa_dir: &std::path::Path,
    metadata: Option<String>,
    node: Option<String>,
) -> PodContext {
    let read = |f: &str| std::fs::read_to_string(sa_dir.join(f)).ok().map(|s| s.trim().to_string());
    let api_server =
        match (std::env::var("KUBERNETES_SERVICE_HOST"), std::env::var("KUBERNETES_SERVICE_PORT")) {
            (Ok(h), Ok(p)) if h.contains(':') => Some(format!("[{h}]:{p}")),
            (Ok(h), Ok(p)) => Some(format!("{h}:{p}")),
            _ => None,
        };
    let node = node.or_else(|| std::env::var("HOST_IP").ok()).or_else(|| std::env::var("NODE_IP").ok());
    PodContext { token: read("token"), namespace: read("namespace"), api_server, metadata, node }
}
