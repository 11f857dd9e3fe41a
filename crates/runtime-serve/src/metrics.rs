//! The server's counters and their Prometheus text exposition (`GET /metrics`).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use kubesecops_core::exposition::escape_label;

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /k8s-audit`.
    Webhook = 0,
    /// `--follow FILE`.
    Follow = 1,
}

impl Source {
    const ALL: [Source; 2] = [Source::Webhook, Source::Follow];

    /// The `source` label value.
    pub fn label(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Follow => "follow",
        }
    }
}

/// Upper bounds (seconds) of the rule-evaluation histogram buckets.
pub const EVAL_BUCKETS: [f64; 11] = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 1e-1];

/// Counters of one alert output (webhook URL, file, stdout).
#[derive(Debug, Default)]
pub struct OutputCounters {
    /// Alerts handed to the output and delivered.
    pub delivered: AtomicU64,
    /// Alerts dropped because the output's queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Alerts dropped after the last retry failed (or a write error).
    pub dropped_failed: AtomicU64,
    /// Delivery attempts retried.
    pub retries: AtomicU64,
    /// Alerts waiting in the output's queue.
    pub queue_depth: AtomicI64,
}

/// Every metric of the server. Updated with relaxed atomics from the worker, the HTTP
/// handlers and the output threads; read by `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    received: [AtomicU64; 2],
    malformed: [AtomicU64; 2],
    /// Events of batches refused because the queue stayed full (counted by their `auditID`s).
    pub dropped_queue_full: AtomicU64,
    /// Request bodies refused because the queue stayed full.
    pub batches_rejected: AtomicU64,
    batches: [AtomicU64; 2],
    /// Batches waiting for the worker.
    pub queue_depth: AtomicI64,
    /// The queue's capacity, in batches.
    pub queue_capacity: AtomicI64,
    rule_names: Vec<(String, String)>,
    rule_index: HashMap<String, usize>,
    alerts: Vec<AtomicU64>,
    eval_buckets: [AtomicU64; EVAL_BUCKETS.len()],
    eval_count: AtomicU64,
    eval_sum_ns: AtomicU64,
    /// Evidence records written.
    pub evidence_records: AtomicU64,
    /// Evidence commits (fsync of the log and its head).
    pub evidence_commits: AtomicU64,
    /// Total time spent in evidence commits, nanoseconds.
    pub evidence_commit_ns: AtomicU64,
    /// Evidence write or sync failures (the batch is not acknowledged).
    pub evidence_errors: AtomicU64,
    /// Times the followed file was replaced (rotation).
    pub follow_rotations: AtomicU64,
    /// Times the followed file shrank (truncation).
    pub follow_truncations: AtomicU64,
    outputs: Mutex<Vec<(String, std::sync::Arc<OutputCounters>)>>,
}

impl Metrics {
    /// Metrics for a server evaluating rules `(name, priority)`; every rule's alert counter
    /// starts at 0 so that its series exists before the first alert.
    pub fn new(rules: impl IntoIterator<Item = (String, String)>) -> Metrics {
        let rule_names: Vec<(String, String)> = rules.into_iter().collect();
        let rule_index = rule_names.iter().enumerate().map(|(i, (name, _))| (name.clone(), i)).collect();
        let alerts = rule_names.iter().map(|_| AtomicU64::new(0)).collect();
        Metrics {
            received: Default::default(),
            malformed: Default::default(),
            dropped_queue_full: AtomicU64::new(0),
            batches_rejected: AtomicU64::new(0),
            batches: Default::default(),
            queue_depth: AtomicI64::new(0),
            queue_capacity: AtomicI64::new(0),
            rule_names,
            rule_index,
            alerts,
            eval_buckets: Default::default(),
            eval_count: AtomicU64::new(0),
            eval_sum_ns: AtomicU64::new(0),
            evidence_records: AtomicU64::new(0),
            evidence_commits: AtomicU64::new(0),
            evidence_commit_ns: AtomicU64::new(0),
            evidence_errors: AtomicU64::new(0),
            follow_rotations: AtomicU64::new(0),
            follow_truncations: AtomicU64::new(0),
            outputs: Mutex::new(Vec::new()),
        }
    }

    /// Registers an output under `name` and returns its counters.
    pub fn output(&self, name: &str) -> std::sync::Arc<OutputCounters> {
        let counters = std::sync::Arc::new(OutputCounters::default());
        self.outputs.lock().unwrap_or_else(|e| e.into_inner()).push((name.to_string(), counters.clone()));
        counters
    }

    /// Counts received events.
    pub fn add_received(&self, source: Source, n: u64) {
        self.received[source as usize].fetch_add(n, Relaxed);
    }

    /// Counts malformed events or documents.
    pub fn add_malformed(&self, source: Source, n: u64) {
        self.malformed[source as usize].fetch_add(n, Relaxed);
    }

    /// Counts a processed batch.
    pub fn add_batch(&self, source: Source) {
        self.batches[source as usize].fetch_add(1, Relaxed);
    }

    /// Events received so far from `source`.
    pub fn received(&self, source: Source) -> u64 {
        self.received[source as usize].load(Relaxed)
    }

    /// Malformed events so far from `source`.
    pub fn malformed(&self, source: Source) -> u64 {
        self.malformed[source as usize].load(Relaxed)
    }

    /// Counts an alert of the rule `name`.
    pub fn add_alert(&self, name: &str) {
        if let Some(&i) = self.rule_index.get(name) {
            self.alerts[i].fetch_add(1, Relaxed);
        }
    }

    /// Alerts so far, all rules.
    pub fn alerts_total(&self) -> u64 {
        self.alerts.iter().map(|a| a.load(Relaxed)).sum()
    }

    /// Records the evaluation time of one event.
    pub fn observe_eval(&self, nanos: u64) {
        let seconds = nanos as f64 / 1e9;
        if let Some(i) = EVAL_BUCKETS.iter().position(|&b| seconds <= b) {
            self.eval_buckets[i].fetch_add(1, Relaxed);
        }
        self.eval_count.fetch_add(1, Relaxed);
        self.eval_sum_ns.fetch_add(nanos, Relaxed);
    }

    /// Lines for the operator at shutdown: events, malformed, dropped, alerts, and per output
    /// what was delivered and dropped.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{} event(s) received ({} webhook, {} follow), {} malformed, {} dropped (queue full), {} alert(s)",
            self.received(Source::Webhook) + self.received(Source::Follow),
            self.received(Source::Webhook),
            self.received(Source::Follow),
            self.malformed(Source::Webhook) + self.malformed(Source::Follow),
            self.dropped_queue_full.load(Relaxed),
            self.alerts_total()
        )];
        for (name, c) in self.outputs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            lines.push(format!(
                "{name}: {} delivered, {} dropped (queue full), {} dropped (delivery failed), {} retries",
                c.delivered.load(Relaxed),
                c.dropped_queue_full.load(Relaxed),
                c.dropped_failed.load(Relaxed),
                c.retries.load(Relaxed)
            ));
        }
        lines
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096 + self.rule_names.len() * 160);
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "kubesecops_runtime_events_received_total",
            "counter",
            "Audit events received, by source.",
        );
        for s in Source::ALL {
            let _ = writeln!(
                out,
                "kubesecops_runtime_events_received_total{{source=\"{}\"}} {}",
                s.label(),
                self.received(s)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_events_malformed_total",
            "counter",
            "Documents or events that are not valid audit events, by source (skipped, reported on stderr).",
        );
        for s in Source::ALL {
            let _ = writeln!(
                out,
                "kubesecops_runtime_events_malformed_total{{source=\"{}\"}} {}",
                s.label(),
                self.malformed(s)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_events_dropped_total",
            "counter",
            "Audit events not evaluated because the processing queue stayed full.",
        );
        let _ = writeln!(
            out,
            "kubesecops_runtime_events_dropped_total{{reason=\"queue_full\"}} {}",
            self.dropped_queue_full.load(Relaxed)
        );
        family(&mut out, "kubesecops_runtime_batches_total", "counter", "Batches processed, by source.");
        for s in Source::ALL {
            let _ = writeln!(
                out,
                "kubesecops_runtime_batches_total{{source=\"{}\"}} {}",
                s.label(),
                self.batches[s as usize].load(Relaxed)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_batches_rejected_total",
            "counter",
            "Webhook requests answered 503 because the processing queue stayed full.",
        );
        let _ = writeln!(
            out,
            "kubesecops_runtime_batches_rejected_total {}",
            self.batches_rejected.load(Relaxed)
        );
        family(
            &mut out,
            "kubesecops_runtime_queue_depth",
            "gauge",
            "Batches waiting for the rule evaluator.",
        );
        let _ = writeln!(out, "kubesecops_runtime_queue_depth {}", self.queue_depth.load(Relaxed).max(0));
        family(
            &mut out,
            "kubesecops_runtime_queue_capacity",
            "gauge",
            "Capacity of the evaluator queue, in batches.",
        );
        let _ = writeln!(out, "kubesecops_runtime_queue_capacity {}", self.queue_capacity.load(Relaxed));
        family(&mut out, "kubesecops_runtime_rules_loaded", "gauge", "Enabled k8s_audit rules evaluated.");
        let _ = writeln!(out, "kubesecops_runtime_rules_loaded {}", self.rule_names.len());
        family(
            &mut out,
            "kubesecops_runtime_alerts_total",
            "counter",
            "Alerts raised, by rule and priority.",
        );
        for ((name, priority), count) in self.rule_names.iter().zip(&self.alerts) {
            let _ = writeln!(
                out,
                "kubesecops_runtime_alerts_total{{rule=\"{}\",priority=\"{}\"}} {}",
                escape_label(name),
                escape_label(priority),
                count.load(Relaxed)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_rule_evaluation_seconds",
            "histogram",
            "Time to evaluate every rule on one event.",
        );
        let mut cumulative = 0;
        for (bound, count) in EVAL_BUCKETS.iter().zip(&self.eval_buckets) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(
                out,
                "kubesecops_runtime_rule_evaluation_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.eval_count.load(Relaxed);
        let _ = writeln!(out, "kubesecops_runtime_rule_evaluation_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "kubesecops_runtime_rule_evaluation_seconds_sum {}",
            self.eval_sum_ns.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "kubesecops_runtime_rule_evaluation_seconds_count {count}");

        let outputs = self.outputs.lock().unwrap_or_else(|e| e.into_inner());
        let read = |c: &AtomicU64| c.load(Relaxed);
        family(
            &mut out,
            "kubesecops_runtime_alerts_delivered_total",
            "counter",
            "Alerts written or delivered, by output.",
        );
        for (name, c) in outputs.iter() {
            let _ = writeln!(
                out,
                "kubesecops_runtime_alerts_delivered_total{{output=\"{}\"}} {}",
                escape_label(name),
                read(&c.delivered)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_alert_retries_total",
            "counter",
            "Webhook deliveries retried after an error, by output.",
        );
        for (name, c) in outputs.iter() {
            let _ = writeln!(
                out,
                "kubesecops_runtime_alert_retries_total{{output=\"{}\"}} {}",
                escape_label(name),
                read(&c.retries)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_alert_queue_depth",
            "gauge",
            "Alerts waiting in an output's queue.",
        );
        for (name, c) in outputs.iter() {
            let _ = writeln!(
                out,
                "kubesecops_runtime_alert_queue_depth{{output=\"{}\"}} {}",
                escape_label(name),
                c.queue_depth.load(Relaxed).max(0)
            );
        }
        family(
            &mut out,
            "kubesecops_runtime_alerts_dropped_total",
            "counter",
            "Alerts an output dropped, by output and reason.",
        );
        for (name, c) in outputs.iter() {
            let label = escape_label(name);
            let _ = writeln!(
                out,
                "kubesecops_runtime_alerts_dropped_total{{output=\"{label}\",reason=\"queue_full\"}} {}",
                read(&c.dropped_queue_full)
            );
            let _ = writeln!(
                out,
                "kubesecops_runtime_alerts_dropped_total{{output=\"{label}\",reason=\"delivery_failed\"}} {}",
                read(&c.dropped_failed)
            );
        }
        drop(outputs);
        family(&mut out, "kubesecops_runtime_evidence_records_total", "counter", "Evidence records written.");
        let _ = writeln!(
            out,
            "kubesecops_runtime_evidence_records_total {}",
            self.evidence_records.load(Relaxed)
        );
        family(
            &mut out,
            "kubesecops_runtime_evidence_commit_seconds",
            "summary",
            "Time spent making evidence durable (fsync) before acknowledging.",
        );
        let _ = writeln!(
            out,
            "kubesecops_runtime_evidence_commit_seconds_sum {}\nkubesecops_runtime_evidence_commit_seconds_count {}",
            self.evidence_commit_ns.load(Relaxed) as f64 / 1e9,
            self.evidence_commits.load(Relaxed)
        );
        family(
            &mut out,
            "kubesecops_runtime_evidence_errors_total",
            "counter",
            "Evidence write or sync failures (the batch was not acknowledged).",
        );
        let _ =
            writeln!(out, "kubesecops_runtime_evidence_errors_total {}", self.evidence_errors.load(Relaxed));
        family(
            &mut out,
            "kubesecops_runtime_follow_rotations_total",
            "counter",
            "Rotations of the followed file.",
        );
        let _ = writeln!(
            out,
            "kubesecops_runtime_follow_rotations_total {}",
            self.follow_rotations.load(Relaxed)
        );
        family(
            &mut out,
            "kubesecops_runtime_follow_truncations_total",
            "counter",
            "Truncations of the followed file.",
        );
        let _ = writeln!(
            out,
            "kubesecops_runtime_follow_truncations_total {}",
            self.follow_truncations.load(Relaxed)
        );
        out
    }
}

/// The metric family names `render` exposes (from its `# TYPE` lines), with the sample
/// suffixes of histograms and summaries (`_bucket`, `_sum`, `_count`).
pub fn exposed_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
        names.push(name.to_string());
        match kind {
            "histogram" => names.extend(["_bucket", "_sum", "_count"].map(|s| format!("{name}{s}"))),
            "summary" => names.extend(["_sum", "_count"].map(|s| format!("{name}{s}"))),
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_rules_at_zero_and_escapes_labels() {
        let metrics = Metrics::new([("Say \"hi\"".to_string(), "Warning".to_string())]);
        let out = metrics.output("webhook http://127.0.0.1:1/x");
        out.delivered.fetch_add(2, Relaxed);
        metrics.add_received(Source::Webhook, 3);
        metrics.observe_eval(3_000);
        metrics.observe_eval(2_000_000);
        metrics.add_alert("Say \"hi\"");
        let text = metrics.render();
        assert!(text.contains("kubesecops_runtime_events_received_total{source=\"webhook\"} 3\n"), "{text}");
        assert!(text
            .contains("kubesecops_runtime_alerts_total{rule=\"Say \\\"hi\\\"\",priority=\"Warning\"} 1\n"));
        assert!(
            text.contains("kubesecops_runtime_rule_evaluation_seconds_bucket{le=\"0.000005\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("kubesecops_runtime_rule_evaluation_seconds_bucket{le=\"0.01\"} 2\n"));
        assert!(text.contains("kubesecops_runtime_rule_evaluation_seconds_count 2\n"));
        assert!(text.contains(
            "kubesecops_runtime_alerts_delivered_total{output=\"webhook http://127.0.0.1:1/x\"} 2\n"
        ));
        // Every sample line belongs to a declared family.
        let names = exposed_names(&text);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(names.iter().any(|n| n == name), "{name} undeclared");
        }
    }
}
