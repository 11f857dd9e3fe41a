//! `kubesecops serve`: the validating admission webhook (`/validate`, `/healthz`, `/readyz`,
//! `/metrics`) over HTTPS. The work is in `kubesecops-admission`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use kubesecops_admission::ServeOptions;

use crate::Status;

/// Flags of `kubesecops serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`0.0.0.0:8443`, `127.0.0.1:9443`).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// PEM certificate chain served (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// PEM private key of the certificate (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// The webhook's TOML config (what is enforced and how); without it, built-in rules of
    /// severity HIGH and above and the baseline Pod Security Standard are enforced.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seconds between checks of the config, policy and certificate files for changes.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub reload_interval: u64,
    /// Largest request body accepted, in bytes (larger: HTTP 413).
    #[arg(long, value_name = "BYTES", default_value_t = kubesecops_admission::server::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
}

/// Serves until SIGINT or SIGTERM. Exit 2 when the config, policies or certificate do not load.
pub fn run(args: ServeArgs) -> Result<Status> {
    let mut options = ServeOptions::new(args.listen, args.tls_cert, args.tls_key, args.config);
    options.reload_interval = Duration::from_secs(args.reload_interval.max(1));
    options.max_body_bytes = args.max_body_bytes;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(kubesecops_admission::serve(options, shutdown_signal()));
    match result {
        Ok(()) => Ok(Status::Clean),
        Err(err) => {
            eprintln!("kubesecops serve: {err}");
            Ok(Status::InputErrors)
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what the kubelet sends to stop a pod).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
