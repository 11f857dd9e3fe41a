//! The HTTP(S) server, the evaluator thread and the follower, started and stopped together.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kubesecops_forensics::{EvidenceLog, EvidenceWindow, WindowLimits};
use kubesecops_runtime::Ruleset;
use tokio::sync::{mpsc, oneshot};

use crate::follow::Follower;
use crate::metrics::{Metrics, Source};
use crate::outputs::Outputs;
use crate::pipeline::{Batch, Evaluator, Evidence};
use crate::{ServeConfig, ServeError};

#[derive(Clone)]
struct AppState {
    queue: mpsc::Sender<Batch>,
    metrics: Arc<Metrics>,
    queue_wait: std::time::Duration,
}

/// A started server. [`Running::stop`] shuts it down cleanly.
pub struct Running {
    /// The address it listens on (the port chosen when `:0` was asked).
    pub local_addr: SocketAddr,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    shutdown: Option<oneshot::Sender<()>>,
    queue: mpsc::Sender<Batch>,
    server: tokio::task::JoinHandle<()>,
    evaluator: Option<JoinHandle<()>>,
    follower: Option<(JoinHandle<()>, Arc<AtomicBool>)>,
}

impl Running {
    /// Stops accepting requests, lets the evaluator finish what is queued, flushes outputs
    /// and waits for webhook deliveries; returns summary lines for the operator.
    pub async fn stop(mut self) -> Vec<String> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.server).await;
        let follower = self.follower.take();
        let evaluator = self.evaluator.take();
        let queue = self.queue.clone();
        // Joining threads blocks: do it off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some((thread, stop)) = follower {
                stop.store(true, Relaxed);
                let _ = thread.join();
            }
            // Connections still open keep senders alive: tell the evaluator to end after
            // what is queued.
            let _ = queue.blocking_send(Batch {
                source: Source::Webhook,
                body: Bytes::new(),
                reply: None,
                stop: true,
            });
            if let Some(thread) = evaluator {
                let _ = thread.join();
            }
        })
        .await;
        self.metrics.summary()
    }
}

/// Starts the server: binds, opens the outputs and the evidence log, starts the evaluator
/// and the follower. Must be called inside a Tokio runtime.
pub async fn serve(config: ServeConfig, rules: Ruleset) -> Result<Running, ServeError> {
    let metrics = Arc::new(Metrics::new(
        rules.rules().filter(|r| r.enabled).map(|r| (r.name.clone(), r.priority.as_str().to_string())),
    ));
    metrics.queue_capacity.store(config.queue_batches as i64, Relaxed);
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: config.listen, source })?;
    let local_addr =
        listener.local_addr().map_err(|source| ServeError::Bind { addr: config.listen, source })?;

    let outputs = Outputs::open(
        config.stdout,
        config.alert_file.as_deref(),
        &config.webhooks,
        &config.webhook_policy,
        &metrics,
    )
    .map_err(ServeError::Output)?;
    let evidence = match &config.evidence {
        Some(dir) => {
            let (log, recovery) = EvidenceLog::open(dir)?;
            if let Some(recovery) = recovery {
                eprintln!(
                    "kubesecops: evidence: removed an incomplete last record ({} bytes, never acknowledged) from {}; recorded as record {}",
                    recovery.dropped_bytes,
                    recovery.segment.display(),
                    recovery.record.seq
                );
            }
            Some(Evidence { log, window: EvidenceWindow::new(WindowLimits::default()) })
        }
        None => None,
    };
    let (queue, receiver) = mpsc::channel::<Batch>(config.queue_batches.max(1));
    let evaluator = Evaluator { rules, metrics: metrics.clone(), outputs, evidence };
    let evaluator = std::thread::Builder::new()
        .name("rule-evaluator".into())
        .spawn(move || evaluator.run(receiver))
        .map_err(ServeError::Runtime)?;

    let follower = match &config.follow {
        Some(path) => {
            let follower = Follower::new(
                path,
                config.follow_start,
                std::time::Duration::from_millis(200),
                metrics.clone(),
            );
            let stop = Arc::new(AtomicBool::new(false));
            let queue = queue.clone();
            let thread = {
                let stop = stop.clone();
                std::thread::Builder::new()
                    .name("audit-follow".into())
                    .spawn(move || follower.run(queue, stop))
                    .map_err(ServeError::Runtime)?
            };
            Some((thread, stop))
        }
        None => None,
    };

    let state = AppState { queue: queue.clone(), metrics: metrics.clone(), queue_wait: config.queue_wait };
    let router = Router::new()
        .route("/k8s-audit", post(ingest))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state);
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let server = match tls {
        None => tokio::spawn(async move {
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await;
            if let Err(err) = result {
                eprintln!("kubesecops: error: server: {err}");
            }
        }),
        Some(acceptor) => tokio::spawn(serve_tls(listener, acceptor, router, shutdown_rx)),
    };
    Ok(Running {
        local_addr,
        metrics,
        shutdown: Some(shutdown),
        queue,
        server,
        evaluator: Some(evaluator),
        follower,
    })
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
        .into_response()
}

/// `POST /k8s-audit`: queue the body, wait for the evaluator, answer with what it did.
async fn ingest(State(state): State<AppState>, body: Bytes) -> Response {
    let permit = match tokio::time::timeout(state.queue_wait, state.queue.reserve()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            // Refused: the API server retries the batch; count what it held.
            let events = memchr::memmem::find_iter(&body, b"\"auditID\"").count() as u64;
            state.metrics.dropped_queue_full.fetch_add(events, Relaxed);
            state.metrics.batches_rejected.fetch_add(1, Relaxed);
            return (StatusCode::SERVICE_UNAVAILABLE, "evaluator queue full\n").into_response();
        }
    };
    let (reply, outcome) = oneshot::channel();
    state.metrics.queue_depth.fetch_add(1, Relaxed);
    permit.send(Batch { source: Source::Webhook, body, reply: Some(reply), stop: false });
    let Ok(outcome) = outcome.await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    };
    let status =
        if outcome.evidence_error.is_some() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    let body = serde_json::json!({
        "events": outcome.events,
        "alerts": outcome.alerts,
        "malformed": outcome.malformed,
        "error": outcome.first_error,
        "evidenceError": outcome.evidence_error,
    });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &std::path::Path, message: String| ServeError::Tls { path: path.to_path_buf(), message };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, format!("cannot read the certificate: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("invalid PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(bad(cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, format!("cannot read the private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| bad(key, format!("the key does not fit the certificate: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    eprintln!("kubesecops: warning: accept: {err}");
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
