//! `--metrics-file` and `--metrics-push`: a run's outcome as Prometheus metrics, for
//! node_exporter's textfile collector or a Pushgateway. Written after the report; a failure
//! to deliver them is an error (exit 2), never silent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Args;
use kubesecops_core::{Report, ReportError, SCHEMA_VERSION};
use kubesecops_report::metrics::{is_label_name, render, Run};

use crate::Status;

/// Flags of every finding-producing command.
#[derive(Debug, Clone, Default, Args)]
pub struct MetricsArgs {
    /// Also write the run's metrics in Prometheus' text format to FILE, replaced atomically
    /// (for node_exporter's textfile collector).
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Also push the run's metrics to a Prometheus Pushgateway (`http://HOST:9091`), into the
    /// group job=kubesecops, command=COMMAND and the `--metrics-label`s.
    #[arg(long, value_name = "URL")]
    pub metrics_push: Option<String>,
    /// A label for every metric and the Pushgateway group, `NAME=VALUE` (repeatable).
    #[arg(long = "metrics-label", value_name = "NAME=VALUE")]
    pub metrics_labels: Vec<String>,
}

/// Times a run and publishes its metrics when it ends.
pub struct Metrics {
    args: MetricsArgs,
    labels: Vec<(String, String)>,
    started: Instant,
}

impl MetricsArgs {
    /// Checks the labels and starts the clock; `None` when no metrics output was asked for.
    pub fn start(&self) -> Result<Option<Metrics>> {
        let mut labels = Vec::new();
        for label in &self.metrics_labels {
            let Some((name, value)) = label.split_once('=') else {
                bail!("--metrics-label {label}: expected NAME=VALUE");
            };
            if !is_label_name(name) || ["command", "job", "instance"].contains(&name) {
                bail!(
                    "--metrics-label {label}: `{name}` is not a label name of its own (letters, digits, \
                     `_`; not starting with a digit or `__`; not command, job or instance)"
                );
            }
            labels.push((name.to_string(), value.to_string()));
        }
        if self.metrics_file.is_none() && self.metrics_push.is_none() {
            if !labels.is_empty() {
                bail!("--metrics-label needs --metrics-file or --metrics-push");
            }
            return Ok(None);
        }
        Ok(Some(Metrics { args: self.clone(), labels, started: Instant::now() }))
    }
}

/// Whether this process already published (or tried to publish) a run's metrics.
static PUBLISHED: AtomicBool = AtomicBool::new(false);

impl Metrics {
    /// Writes and pushes the metrics of `report`, which ends with `status`.
    pub fn publish(&self, command: &str, report: &Report, status: Status) -> Result<()> {
        PUBLISHED.store(true, Ordering::SeqCst);
        let run = Run {
            command,
            labels: &self.labels,
            exit_code: status.code(),
            duration: self.started.elapsed(),
            finished: SystemTime::now(),
        };
        let mut text = Vec::new();
        render(report, &run, &mut text)?;
        if let Some(path) = &self.args.metrics_file {
            write_atomically(path, &text)?;
        }
        if let Some(url) = &self.args.metrics_push {
            push(url, command, &self.labels, text)?;
        }
        Ok(())
    }
}

/// Publishes the metrics of a `command` that failed with `error` before publishing its own
/// (an unreadable key, settings or kubeconfig; a cluster that cannot be reached): exit code 2,
/// the error as the one input error, and no finding series, so that the failure shows on
/// dashboards instead of leaving the previous run's figures in place. Does nothing when the
/// command had published, or asked for no metrics. A failure to publish is printed, as the
/// command's own error is what the exit reports.
pub fn publish_failure(command: &str, args: &MetricsArgs, started: Instant, error: &anyhow::Error) {
    if PUBLISHED.load(Ordering::SeqCst) {
        return;
    }
    let Ok(Some(mut metrics)) = args.start() else { return };
    metrics.started = started;
    let report = Report {
        schema_version: SCHEMA_VERSION,
        findings: None,
        sections: Default::default(),
        errors: vec![ReportError::at(command, None, format!("{error:#}"))],
    };
    if let Err(err) = metrics.publish(command, &report, Status::InputErrors) {
        eprintln!("kubesecops: error: the failed run's metrics: {err:#}");
    }
}

/// Writes `bytes` beside `path` and renames it into place, so a collector never reads half a
/// file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name =
        path.file_name().with_context(|| format!("--metrics-file {}: not a file name", path.display()))?;
    let mut temporary = path.to_path_buf();
    temporary.set_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let context = || format!("--metrics-file {}: cannot write", path.display());
    let mut file = std::fs::File::create(&temporary).with_context(context)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(context)?;
    std::fs::rename(&temporary, path).with_context(context)
}

/// The Pushgateway path of a group: every value base64url-encoded (`NAME@base64/VALUE`), so
/// slashes need no special case; an empty value is `=`, as the Pushgateway asks.
fn group_path(command: &str, labels: &[(String, String)]) -> String {
    let encode = |value: &str| match value {
        "" => "=".to_string(),
        _ => base64::engine::general_purpose::URL_SAFE.encode(value),
    };
    let mut path = format!("/metrics/job@base64/{}/command@base64/{}", encode("kubesecops"), encode(command));
    for (name, value) in labels {
        path.push_str(&format!("/{name}@base64/{}", encode(value)));
    }
    path
}

/// PUT replaces the group's metrics: series of an earlier run that are gone now (a rule that
/// no longer fires) disappear instead of lingering.
fn push(url: &str, command: &str, labels: &[(String, String)], body: Vec<u8>) -> Result<()> {
    let target = format!("{}{}", url.trim_end_matches('/'), group_path(command, labels));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .put(&target)
        .header("Content-Type", "text/plain; version=0.0.4")
        .send(&body[..])
        .with_context(|| format!("--metrics-push {url}: cannot reach the Pushgateway"))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let text = response.body_mut().read_to_string().unwrap_or_default();
        bail!("--metrics-push {url}: the Pushgateway answered HTTP {status}: {}", text.trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_before_the_run() {
        let args = |labels: &[&str], file: bool| MetricsArgs {
            metrics_file: file.then(|| PathBuf::from("m.prom")),
            metrics_push: None,
            metrics_labels: labels.iter().map(|l| l.to_string()).collect(),
        };
        assert!(args(&[], false).start().unwrap().is_none());
        assert!(args(&["repo=a/b", "branch="], true).start().unwrap().is_some());
        for bad in ["repo", "9x=1", "job=x", "__x=1", "a-b=1"] {
            assert!(args(&[bad], true).start().is_err(), "{bad}");
        }
        assert!(args(&["repo=x"], false).start().is_err());
    }

    #[test]
    fn group_paths_encode_every_value() {
        let labels = [("repo".to_string(), "org/app".to_string()), ("branch".to_string(), String::new())];
        assert_eq!(
            group_path("scan", &labels),
            "/metrics/job@base64/a3ViZXNlY29wcw==/command@base64/c2Nhbg==/repo@base64/b3JnL2FwcA==/branch@base64/="
        );
    }

    #[test]
    fn the_metrics_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubesecops.prom");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
