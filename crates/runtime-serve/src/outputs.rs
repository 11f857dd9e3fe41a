//! Alert outputs: standard output, a file (JSON lines), HTTP webhooks (one alert per POST,
//! retried with backoff, behind a bounded queue whose overflow is counted).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::metrics::{Metrics, OutputCounters};

/// How a webhook output delivers.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// Alerts waiting per webhook before new ones are dropped.
    pub queue: usize,
    /// Attempts per alert (the first included).
    pub attempts: u32,
    /// Delay before the first retry; doubled at every retry.
    pub initial_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy {
            queue: 10_000,
            attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

struct Webhook {
    label: String,
    sender: Option<SyncSender<String>>,
    counters: Arc<OutputCounters>,
    thread: Option<JoinHandle<()>>,
}

/// Every configured output.
pub struct Outputs {
    stdout: Option<(BufWriter<std::io::Stdout>, Arc<OutputCounters>)>,
    file: Option<(PathBuf, BufWriter<File>, Arc<OutputCounters>)>,
    webhooks: Vec<Webhook>,
}

/// A URL without credentials or query, for labels and messages.
pub fn display_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let rest = match rest.split_once('/') {
        Some((authority, path)) => format!("{}/{path}", authority.rsplit('@').next().unwrap_or(authority)),
        None => rest.rsplit('@').next().unwrap_or(rest).to_string(),
    };
    if scheme.is_empty() {
        rest
    } else {
        format!("{scheme}://{rest}")
    }
}

impl Outputs {
    /// Opens the outputs: `stdout` when true, an append-only `file`, and one delivery thread
    /// per webhook URL.
    pub fn open(
        stdout: bool,
        file: Option<&Path>,
        webhooks: &[String],
        policy: &WebhookPolicy,
        metrics: &Metrics,
    ) -> std::io::Result<Outputs> {
        let stdout = stdout.then(|| (BufWriter::new(std::io::stdout()), metrics.output("stdout")));
        let file = match file {
            Some(path) => {
                let handle = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("{}: cannot open the alert file: {e}", path.display()),
                    )
                })?;
                Some((
                    path.to_path_buf(),
                    BufWriter::new(handle),
                    metrics.output(&format!("file {}", path.display())),
                ))
            }
            None => None,
        };
        let webhooks = webhooks
            .iter()
            .map(|url| {
                let label = format!("webhook {}", display_url(url));
                let counters = metrics.output(&label);
                let (sender, receiver) = mpsc::sync_channel::<String>(policy.queue.max(1));
                let thread = {
                    let counters = counters.clone();
                    let url = url.clone();
                    let policy = policy.clone();
                    let label = label.clone();
                    std::thread::Builder::new()
                        .name("alert-webhook".into())
                        .spawn(move || deliver(&url, &label, &policy, &receiver, &counters))
                        .ok()
                };
                Webhook { label, sender: Some(sender), counters, thread }
            })
            .collect();
        Ok(Outputs { stdout, file, webhooks })
    }

    /// No output at all (tests, benchmarks).
    pub fn none() -> Outputs {
        Outputs { stdout: None, file: None, webhooks: Vec::new() }
    }

    /// Emits alert lines (JSON, without newline) to every output.
    pub fn emit(&mut self, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        if let Some((out, counters)) = &mut self.stdout {
            if write_lines(out, lines).is_ok() {
                counters.delivered.fetch_add(lines.len() as u64, Relaxed);
            } else {
                counters.dropped_failed.fetch_add(lines.len() as u64, Relaxed);
            }
        }
        if let Some((path, out, counters)) = &mut self.file {
            match write_lines(out, lines) {
                Ok(()) => {
                    counters.delivered.fetch_add(lines.len() as u64, Relaxed);
                }
                Err(err) => {
                    counters.dropped_failed.fetch_add(lines.len() as u64, Relaxed);
                    eprintln!("kubesecops: error: {}: cannot write alerts: {err}", path.display());
                }
            }
        }
        for webhook in &self.webhooks {
            let Some(sender) = &webhook.sender else { continue };
            for line in lines {
                match sender.try_send(line.clone()) {
                    Ok(()) => {
                        webhook.counters.queue_depth.fetch_add(1, Relaxed);
                    }
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                        let before = webhook.counters.dropped_queue_full.fetch_add(1, Relaxed);
                        if before.is_power_of_two() || before == 0 {
                            eprintln!(
                                "kubesecops: warning: {}: queue full, {} alert(s) dropped so far",
                                webhook.label,
                                before + 1
                            );
                        }
                    }
                }
            }
        }
    }

    /// Flushes the files and waits for the webhooks to deliver what is queued.
    pub fn finish(&mut self) {
        if let Some((out, _)) = &mut self.stdout {
            let _ = out.flush();
        }
        if let Some((_, out, _)) = &mut self.file {
            let _ = out.flush();
        }
        for webhook in &mut self.webhooks {
            webhook.sender = None;
            if let Some(thread) = webhook.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

fn write_lines(out: &mut impl Write, lines: &[String]) -> std::io::Result<()> {
    for line in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The delivery loop of one webhook: POST each alert; retry transport errors, 429 and 5xx
/// with exponential backoff; count what is finally dropped.
fn deliver(
    url: &str,
    label: &str,
    policy: &WebhookPolicy,
    receiver: &mpsc::Receiver<String>,
    counters: &OutputCounters,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(policy.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    while let Ok(alert) = receiver.recv() {
        counters.queue_depth.fetch_sub(1, Relaxed);
        let mut backoff = policy.initial_backoff;
        let mut attempt = 1;
        loop {
            let result = agent.post(url).header("Content-Type", "application/json").send(alert.as_bytes());
            let (retry, error) = match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match status {
                        200..=299 => (false, None),
                        429 | 500..=599 => (true, Some(format!("HTTP {status}"))),
                        _ => (false, Some(format!("HTTP {status}"))),
                    }
                }
                Err(err) => (true, Some(err.to_string())),
            };
            match error {
                None => {
                    counters.delivered.fetch_add(1, Relaxed);
                    break;
                }
                Some(error) if retry && attempt < policy.attempts => {
                    counters.retries.fetch_add(1, Relaxed);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(policy.max_backoff);
                    attempt += 1;
                    let _ = error;
                }
                Some(error) => {
                    let before = counters.dropped_failed.fetch_add(1, Relaxed);
                    if before.is_power_of_two() || before == 0 {
                        eprintln!(
                            "kubesecops: warning: {label}: alert dropped after {attempt} attempt(s): {error} ({} dropped so far)",
                            before + 1
                        );
                    }
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            display_url("https://user:pw@alerts.example:8443/hook?token=x"),
            "https://alerts.example:8443/hook"
        );
        assert_eq!(display_url("http://127.0.0.1:9/a"), "http://127.0.0.1:9/a");
    }
}
