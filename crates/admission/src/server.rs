//! The HTTPS server: `POST /validate`, `GET /healthz`, `/readyz`, `/metrics`; policy reload on
//! SIGHUP and on file changes; certificate reload on file changes.
//!
//! Each decision runs on tokio's blocking pool under the config's deadline, so a slow policy
//! never stalls the connection handling; a panic in a decision becomes an evaluation error
//! answered as `on_error` says, never a crash.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::decision::{Decision, Policies};
use crate::error::ServeError;
use crate::metrics::Metrics;
use crate::review::{AdmissionReview, ReviewReply};
use crate::tls::{file_stamp, FileStamp, ReloadingCert};

/// Largest request body accepted. An object is at most about 3 MiB in etcd and a review
/// carries `object` and `oldObject`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 << 20;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain.
    pub tls_cert: PathBuf,
    /// PEM private key.
    pub tls_key: PathBuf,
    /// The config file; the default config without one.
    pub config: Option<PathBuf>,
    /// How often the config, policy and certificate files are checked for changes.
    pub reload_interval: Duration,
    /// Largest request body accepted (larger: HTTP 413).
    pub max_body_bytes: usize,
}

impl ServeOptions {
    /// Options with the default reload interval (5 s) and body limit.
    pub fn new(listen: SocketAddr, tls_cert: PathBuf, tls_key: PathBuf, config: Option<PathBuf>) -> Self {
        ServeOptions {
            listen,
            tls_cert,
            tls_key,
            config,
            reload_interval: Duration::from_secs(5),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The outcome of the last policy (re)load, shown by `/readyz`.
#[derive(Debug, Clone)]
struct ReloadStatus {
    error: Option<String>,
}

/// What every request handler shares.
struct Shared {
    policies: RwLock<Arc<Policies>>,
    metrics: Metrics,
    reload: Mutex<ReloadStatus>,
    config_path: Option<PathBuf>,
}

impl Shared {
    fn policies(&self) -> Arc<Policies> {
        self.policies.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Loads the policies again; on failure the previous ones stay in use.
    fn reload(&self, why: &str) {
        let loaded = Policies::load(self.config_path.as_deref());
        match loaded {
            Ok(policies) => {
                log(&format!("policies reloaded ({why}): {}", policies.summary()));
                *self.policies.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policies);
                self.metrics.observe_reload(true);
                self.reload.lock().unwrap_or_else(|p| p.into_inner()).error = None;
            }
            Err(err) => {
                log(&format!("policy reload ({why}) failed, keeping the previous policies: {err}"));
                self.metrics.observe_reload(false);
                self.reload.lock().unwrap_or_else(|p| p.into_inner()).error = Some(err.to_string());
            }
        }
    }
}

/// One log line on stderr.
fn log(message: &str) {
    eprintln!("kubesecops serve: {message}");
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    /// SIGHUP, registered at bind time so that a signal sent once `bind` returned is caught.
    #[cfg(unix)]
    hangups: Option<tokio::signal::unix::Signal>,
    acceptor: TlsAcceptor,
    cert: Arc<ReloadingCert>,
    shared: Arc<Shared>,
    options: ServeOptions,
}

impl Server {
    /// Loads the config, policies and certificate, and binds the address. Every error here
    /// names its file.
    pub async fn bind(options: ServeOptions) -> Result<Server, ServeError> {
        let config_path = options.config.clone();
        let policies = tokio::task::spawn_blocking(move || Policies::load(config_path.as_deref()))
            .await
            .map_err(|e| ServeError::Tls(format!("loading policies panicked: {e}")))??;
        log(&format!("policies loaded: {}", policies.summary()));
        let cert = ReloadingCert::load(&options.tls_cert, &options.tls_key).map_err(ServeError::Tls)?;
        let tls_config = cert.server_config().map_err(ServeError::Tls)?;
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServeError::Io { context: format!("binding {}", options.listen), source })?;
        let shared = Arc::new(Shared {
            policies: RwLock::new(Arc::new(policies)),
            metrics: Metrics::new(),
            reload: Mutex::new(ReloadStatus { error: None }),
            config_path: options.config.clone(),
        });
        #[cfg(unix)]
        let hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(signal),
            Err(err) => {
                log(&format!("cannot listen for SIGHUP ({err}); policies reload on file changes only"));
                None
            }
        };
        Ok(Server {
            listener,
            #[cfg(unix)]
            hangups,
            acceptor: TlsAcceptor::from(Arc::new(tls_config)),
            cert,
            shared,
            options,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes. Also reloads the policies on SIGHUP and whenever
    /// the config or a policy file changes, and the certificate when its files change.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        #[cfg(unix)]
        let Server { listener, hangups, acceptor, cert, shared, options } = self;
        #[cfg(not(unix))]
        let Server { listener, acceptor, cert, shared, options } = self;
        let app = router(shared.clone(), options.max_body_bytes);
        let watcher = tokio::spawn(watch_files(shared.clone(), cert, options.reload_interval));
        #[cfg(unix)]
        let hangup = tokio::spawn(reload_on_hangup(shared.clone(), hangups));
        #[cfg(not(unix))]
        let hangup = tokio::spawn(async {});
        log(&format!("listening on https://{}", listener.local_addr().map_or(options.listen, |a| a)));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, _peer) = match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    log(&format!("accept failed: {err}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                // A client that never finishes its handshake must not hold a task forever.
                let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => stream,
                    _ => return,
                };
                let service = TowerToHyperService::new(app);
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
        watcher.abort();
        hangup.abort();
        log("shutting down");
        Ok(())
    }
}

/// Binds and serves until `shutdown` completes.
pub async fn serve(options: ServeOptions, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    Server::bind(options).await?.run(shutdown).await
}

fn router(shared: Arc<Shared>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(shared)
}

async fn validate(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let start = Instant::now();
    let review = match AdmissionReview::parse(&body) {
        Ok(review) => review,
        Err(err) => {
            shared.metrics.observe_request("bad_request", start.elapsed());
            return (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response();
        }
    };
    let AdmissionReview { api_version, request, .. } = review;
    let Some(request) = request else {
        return (StatusCode::BAD_REQUEST, "malformed AdmissionReview: no request\n").into_response();
    };
    let uid = request.uid.clone();
    let policies = shared.policies();
    let deadline = policies.deadline();
    let on_error = policies.on_error();
    let task = tokio::task::spawn_blocking(move || policies.decide(&request));
    let decision = match tokio::time::timeout(deadline, task).await {
        Ok(Ok(decision)) => decision,
        Ok(Err(join_error)) => {
            Decision::failed(format!("the evaluation failed unexpectedly: {join_error}"), on_error)
        }
        Err(_) => Decision::failed(
            format!("the evaluation exceeded its deadline of {} ms", deadline.as_millis()),
            on_error,
        ),
    };
    let response = decision.response(&uid);
    for violation in &decision.violations {
        shared.metrics.observe_violation(&violation.rule, violation.mode.as_str());
    }
    let result = decision.result();
    shared.metrics.observe_request(result, start.elapsed());
    log_decision(&decision, &uid, result);
    let reply = ReviewReply { api_version: &api_version, kind: "AdmissionReview", response: &response };
    match serde_json::to_vec(&reply) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode the response: {err}\n"))
            .into_response(),
    }
}

/// Logs what a user or an auditor needs: denials, warnings, dry-run findings and errors.
fn log_decision(decision: &Decision, uid: &str, result: &str) {
    if decision.violations.is_empty() && decision.errors.is_empty() {
        return;
    }
    let violations: Vec<String> = decision
        .violations
        .iter()
        .map(|v| format!("[{} {}] {}", v.rule, v.mode.as_str(), v.message))
        .collect();
    let mut line = format!("{result} {} (uid {uid}): {}", decision.object, violations.join("; "));
    if !decision.errors.is_empty() {
        line.push_str(&format!("; errors: {}", decision.errors.join("; ")));
    }
    log(&line);
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    // Ready as long as policies are loaded (always, once started): a failed reload keeps the
    // previous policies serving, and turning the pod unready would make the API server fail
    // every request under failurePolicy Fail. The failure is reported here and in metrics.
    let summary = shared.policies().summary();
    let error = shared.reload.lock().unwrap_or_else(|p| p.into_inner()).error.clone();
    match error {
        None => format!("ok: {summary}\n").into_response(),
        Some(error) => {
            format!("ok: {summary}\nlast policy reload failed (previous policies in use): {error}\n")
                .into_response()
        }
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], shared.metrics.render()).into_response()
}

#[cfg(unix)]
async fn reload_on_hangup(shared: Arc<Shared>, hangups: Option<tokio::signal::unix::Signal>) {
    let Some(mut hangups) = hangups else { return };
    while hangups.recv().await.is_some() {
        let shared = shared.clone();
        let _ = tokio::task::spawn_blocking(move || shared.reload("SIGHUP")).await;
    }
}

/// Polls the config, policy and certificate files and reloads what changed.
async fn watch_files(shared: Arc<Shared>, cert: Arc<ReloadingCert>, interval: Duration) {
    let stamps = |shared: &Shared| policy_stamps(shared.config_path.as_deref());
    let mut last = {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || stamps(&shared)).await.unwrap_or_default()
    };
    // A failed certificate reload is reported only when the same error is seen on two
    // polls in a row: a copy caught half-written (a truncated file, a new key beside the old
    // certificate) is an update in progress, not a broken certificate.
    let mut cert_error = CertError::default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let (current, shared_again) = {
            let shared = shared.clone();
            match tokio::task::spawn_blocking(move || (stamps(&shared), shared)).await {
                Ok(pair) => pair,
                Err(_) => continue,
            }
        };
        if current != last {
            last = current;
            let _ = tokio::task::spawn_blocking(move || shared_again.reload("files changed")).await;
        }
        match cert.reload_if_changed() {
            Ok(false) => {}
            Ok(true) => {
                log("TLS certificate reloaded");
                shared.metrics.observe_cert_reload(true);
                cert_error = CertError::default();
            }
            Err(err) => {
                if cert_error.seen(err) {
                    log(&format!(
                        "TLS certificate reload failed, keeping the previous one: {}",
                        cert_error.last
                    ));
                    shared.metrics.observe_cert_reload(false);
                }
            }
        }
    }
}

/// The last certificate reload error and on how many polls in a row it was seen.
#[derive(Default)]
struct CertError {
    last: String,
    polls: u32,
}

impl CertError {
    /// Records a failed poll; true exactly once, on the second poll in a row with this error.
    fn seen(&mut self, err: String) -> bool {
        if self.polls > 0 && self.last == err {
            self.polls = self.polls.saturating_add(1);
        } else {
            self.last = err;
            self.polls = 1;
        }
        self.polls == 2
    }
}

/// Stamps of the config file, of every file under the policy paths it names, and of the
/// policy keys and signatures.
fn policy_stamps(config_path: Option<&Path>) -> Vec<(PathBuf, FileStamp)> {
    let Some(config_path) = config_path else { return Vec::new() };
    let mut stamps = vec![(config_path.to_path_buf(), file_stamp(config_path))];
    let Ok(config) = Config::load(config_path) else { return stamps };
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(rego) = &config.rego {
        roots.extend(rego.policies.iter().chain(&rego.data).map(|p| config.resolve(p)));
    }
    if let Some(gk) = &config.gatekeeper {
        roots.extend(gk.paths.iter().map(|p| config.resolve(p)));
    }
    if !config.policy_keys.is_empty() {
        // A policy named as a file is signed by the file beside it; keys can be rotated too.
        let signatures: Vec<PathBuf> =
            roots.iter().filter(|r| r.is_file()).map(|r| kubesecops_trust::signature_path(r)).collect();
        roots.extend(signatures);
        roots.extend(config.policy_keys.iter().map(|p| config.resolve(p)));
    }
    for root in roots {
        collect_stamps(&root, &mut stamps, 0);
    }
    stamps
}

fn collect_stamps(path: &Path, out: &mut Vec<(PathBuf, FileStamp)>, depth: usize) {
    // Kubernetes mounts ConfigMaps through `..data` symlinks; metadata() follows them.
    match std::fs::read_dir(path) {
        Ok(entries) if depth < 16 => {
            let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            for child in children {
                let hidden = child.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".."));
                if !hidden {
                    collect_stamps(&child, out, depth + 1);
                }
            }
        }
        _ => out.push((path.to_path_buf(), file_stamp(path))),
    }
}

#[cfg(test)]
mod tests {
    use super::CertError;

    #[test]
    fn a_certificate_error_is_reported_once_when_seen_on_two_polls_in_a_row() {
        let mut error = CertError::default();
        // A truncated copy, then the finished one: two different errors, neither persisted.
        assert!(!error.seen("no PEM certificate found".into()));
        assert!(!error.seen("keys do not match".into()));
        assert!(error.seen("keys do not match".into()));
        assert!(!error.seen("keys do not match".into()));
        assert!(!error.seen("no PEM certificate found".into()));
        assert!(error.seen("no PEM certificate found".into()));
    }
}
