//! `kubesecops runtime serve`: the Kubernetes audit webhook backend.
//!
//! - `POST /k8s-audit`: an `EventList` (what the API server's audit webhook sends), a single
//!   `Event`, or JSON lines of them. The response is sent once every event of the body is
//!   evaluated, its alerts' evidence is on disk (with `--evidence`) and the alerts are handed
//!   to the outputs: `200` with counts, `503` when the evaluator's queue stays full (the
//!   API server retries), `500` when evidence could not be made durable.
//! - `GET /metrics`: Prometheus text format ([`metrics`]); `GET /healthz`: `ok`.
//! - `--follow FILE`: the same evaluation over an audit log file, like `tail -F`.
//!
//! One evaluator thread owns the rules, the evidence log and the outputs ([`pipeline`]);
//! HTTP handlers and the follower feed it through a bounded queue.

pub mod follow;
pub mod metrics;
pub mod outputs;
pub mod pipeline;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kubesecops_runtime::{time, Alert};

pub use server::{serve, Running};

/// Everything `runtime serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// TLS certificate chain and private key (PEM); plain HTTP without them.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Audit log file to follow.
    pub follow: Option<PathBuf>,
    /// Where following starts in an existing file.
    pub follow_start: follow::StartAt,
    /// Evidence directory.
    pub evidence: Option<PathBuf>,
    /// Print alerts on standard output.
    pub stdout: bool,
    /// Append alerts to this file.
    pub alert_file: Option<PathBuf>,
    /// POST each alert to these URLs.
    pub webhooks: Vec<String>,
    /// Webhook delivery policy.
    pub webhook_policy: outputs::WebhookPolicy,
    /// Capacity of the evaluator queue, in batches.
    pub queue_batches: usize,
    /// How long a webhook request waits for room in the queue before it is refused.
    pub queue_wait: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

impl ServeConfig {
    /// A configuration listening on `listen` with defaults for everything else.
    pub fn new(listen: SocketAddr) -> ServeConfig {
        ServeConfig {
            listen,
            tls: None,
            follow: None,
            follow_start: follow::StartAt::End,
            evidence: None,
            stdout: true,
            alert_file: None,
            webhooks: Vec::new(),
            webhook_policy: outputs::WebhookPolicy::default(),
            queue_batches: 256,
            queue_wait: Duration::from_secs(10),
            max_body_bytes: 64 << 20,
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A TLS file is missing or invalid.
    #[error("{path}: {message}")]
    Tls {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An output could not be opened.
    #[error("{0}")]
    Output(std::io::Error),
    /// The evidence directory could not be opened.
    #[error("evidence: {0}")]
    Evidence(#[from] kubesecops_forensics::ForensicsError),
    /// The async runtime could not start.
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
}

/// One alert as printed: the fields of Falco's JSON output that apply to audit events.
#[derive(serde::Serialize)]
struct AlertLine<'a> {
    rule: &'a str,
    priority: &'a str,
    time: String,
    output: &'a str,
    source: &'a str,
    tags: &'a [String],
    #[serde(rename = "auditID")]
    audit_id: Option<&'a str>,
}

/// One alert as a JSON line (without newline), the format `runtime replay` prints: `rule`,
/// `priority`, `time`, `output`, `source`, `tags`, `auditID`.
pub fn alert_json(alert: &Alert) -> String {
    let line = AlertLine {
        rule: &alert.rule.name,
        priority: alert.rule.priority.as_str(),
        time: time::format_rfc3339_nanos(alert.time_ns),
        output: &alert.output,
        source: &alert.rule.source,
        tags: &alert.rule.tags,
        audit_id: alert.audit_id.as_deref(),
    };
    // Serializing strings and a list of strings cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Runs the server until SIGINT or SIGTERM, on a runtime of its own; `ready` is called with
/// the bound address once it accepts requests. Returns the shutdown summary lines.
pub fn run_until_signal(
    config: ServeConfig,
    rules: kubesecops_runtime::Ruleset,
    ready: impl FnOnce(SocketAddr),
) -> Result<Vec<String>, ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let running = serve(config, rules).await?;
        ready(running.local_addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(ServeError::Runtime)?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(running.stop().await)
    })
}
