//! The evaluator: one thread that takes batches (webhook bodies, chunks of the followed file)
//! off a bounded queue, evaluates every event, keeps evidence, emits alerts and answers.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use kubesecops_forensics::{AlertRecord, ContextEvent, EvidenceLog, EvidenceWindow};
use kubesecops_runtime::json::Json;
use kubesecops_runtime::{event, Alert, Ruleset};
use tokio::sync::{mpsc, oneshot};

use crate::alert_json;
use crate::metrics::{Metrics, Source};
use crate::outputs::Outputs;

/// A unit of work for the evaluator.
#[derive(Debug)]
pub struct Batch {
    /// Where it comes from.
    pub source: Source,
    /// Raw bytes: an `EventList`, an `Event`, or JSON lines of them.
    pub body: axum::body::Bytes,
    /// Where to send the outcome (webhook requests wait for it; the follower does not).
    pub reply: Option<oneshot::Sender<BatchOutcome>>,
    /// The last message: the evaluator finishes its outputs and ends.
    pub stop: bool,
}

/// What the evaluator did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events evaluated.
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Documents or events that were not audit events.
    pub malformed: u64,
    /// The first malformed item, described.
    pub first_error: Option<String>,
    /// Set when the evidence could not be made durable: the batch is not acknowledged.
    pub evidence_error: Option<String>,
}

/// Evidence keeping: the log and the window of recent events.
pub struct Evidence {
    /// The hash-chained log.
    pub log: EvidenceLog,
    /// Recent events per user and object.
    pub window: EvidenceWindow,
}

/// The evaluator's state, owned by its thread.
pub struct Evaluator {
    /// The rules.
    pub rules: Ruleset,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Alert outputs.
    pub outputs: Outputs,
    /// Evidence keeping, with `--evidence`.
    pub evidence: Option<Evidence>,
}

/// The user and object keys of an event, for the evidence window.
fn keys(event: &Json<'_>) -> (Option<String>, Option<String>) {
    let user = event.get_path(&["user", "username"]).and_then(Json::as_str).map(|s| s.into_owned());
    let object = event.get("objectRef").map(|r| {
        let part = |k: &str| r.get(k).and_then(Json::as_str).unwrap_or_default().into_owned();
        format!("{}/{}/{}", part("resource"), part("namespace"), part("name"))
    });
    (user, object)
}

impl Evaluator {
    /// Takes batches until every sender is gone.
    pub fn run(mut self, mut queue: mpsc::Receiver<Batch>) {
        while let Some(batch) = queue.blocking_recv() {
            if batch.stop {
                break;
            }
            self.metrics.queue_depth.fetch_sub(1, Relaxed);
            let outcome = self.process(batch.source, &batch.body);
            if let Some(reply) = batch.reply {
                let _ = reply.send(outcome);
            }
        }
        self.outputs.finish();
    }

    /// Evaluates one batch: events in order; evidence committed before any alert leaves.
    pub fn process(&mut self, source: Source, body: &[u8]) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        self.metrics.add_batch(source);
        let text = match std::str::from_utf8(body) {
            Ok(text) => text,
            Err(err) => {
                outcome.malformed = 1;
                outcome.first_error = Some(format!("body is not UTF-8 ({err})"));
                self.metrics.add_malformed(source, 1);
                report_malformed(source, outcome.first_error.as_deref().unwrap_or_default());
                return outcome;
            }
        };
        let mut lines: Vec<String> = Vec::new();
        let mut alerts: Vec<Alert> = Vec::new();
        for doc in event::documents(text) {
            let value = match doc.value {
                Ok(value) => value,
                Err(err) => {
                    self.malformed(
                        source,
                        &mut outcome,
                        format!("line {}: invalid JSON: {}", err.line, err.message),
                    );
                    continue;
                }
            };
            for (index, item) in event::events_in(&value).into_iter().enumerate() {
                let event = match item {
                    Ok(event) => event,
                    Err(err) => {
                        self.malformed(
                            source,
                            &mut outcome,
                            format!("line {} item {}: {err}", doc.line, index + 1),
                        );
                        continue;
                    }
                };
                outcome.events += 1;
                alerts.clear();
                let started = Instant::now();
                self.rules.evaluate_into(&event, &mut alerts);
                self.metrics.observe_eval(started.elapsed().as_nanos() as u64);
                let mut evidence_json: Option<Arc<str>> = None;
                let mut event_keys = None;
                if let Some(evidence) = &mut self.evidence {
                    let (user, object) = keys(event.json());
                    let json: Arc<str> = Arc::from(event.json().to_compact());
                    for alert in &alerts {
                        let context =
                            evidence.window.context(user.as_deref(), object.as_deref(), alert.time_ns);
                        let context: Vec<ContextEvent<'_>> = context
                            .iter()
                            .map(|(why, json)| ContextEvent { matched: why, event_json: json })
                            .collect();
                        let record = AlertRecord {
                            rule: &alert.rule.name,
                            priority: alert.rule.priority.as_str(),
                            time_ns: alert.time_ns,
                            audit_id: alert.audit_id.as_deref(),
                            user: user.as_deref(),
                            object: object.as_deref(),
                            output: &alert.output,
                            event_json: &json,
                            context: &context,
                        };
                        match evidence.log.append(&record) {
                            Ok(_) => {
                                self.metrics.evidence_records.fetch_add(1, Relaxed);
                            }
                            Err(err) => {
                                outcome.evidence_error.get_or_insert_with(|| err.to_string());
                            }
                        }
                    }
                    evidence_json = Some(json);
                    event_keys = Some((user, object));
                }
                if let (Some(evidence), Some(json), Some((user, object))) =
                    (&mut self.evidence, evidence_json, event_keys)
                {
                    evidence.window.observe(user.as_deref(), object.as_deref(), event.time_ns(), json);
                }
                for alert in &alerts {
                    self.metrics.add_alert(&alert.rule.name);
                    lines.push(alert_json(alert));
                }
                outcome.alerts += alerts.len() as u64;
            }
        }
        self.metrics.add_received(source, outcome.events);
        // Evidence first: an alert leaves (and the request is answered) only once its
        // evidence is on disk.
        if let Some(evidence) = &mut self.evidence {
            let started = Instant::now();
            if let Err(err) = evidence.log.commit() {
                outcome.evidence_error.get_or_insert_with(|| err.to_string());
            }
            self.metrics.evidence_commits.fetch_add(1, Relaxed);
            self.metrics.evidence_commit_ns.fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
        }
        if let Some(err) = &outcome.evidence_error {
            self.metrics.evidence_errors.fetch_add(1, Relaxed);
            eprintln!("kubesecops: error: evidence: {err}");
        }
        self.outputs.emit(&lines);
        outcome
    }

    fn malformed(&self, source: Source, outcome: &mut BatchOutcome, message: String) {
        outcome.malformed += 1;
        self.metrics.add_malformed(source, 1);
        report_malformed(source, &message);
        outcome.first_error.get_or_insert(message);
    }
}

/// Reports a malformed item on stderr, at most a few per second so that a flood of bad input
/// cannot flood the log (the counter has the total).
fn report_malformed(source: Source, message: &str) {
    use std::sync::atomic::AtomicU64;
    static WINDOW: AtomicU64 = AtomicU64::new(0);
    static IN_WINDOW: AtomicU64 = AtomicU64::new(0);
    let second =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if WINDOW.swap(second, Relaxed) != second {
        IN_WINDOW.store(0, Relaxed);
    }
    if IN_WINDOW.fetch_add(1, Relaxed) < 5 {
        eprintln!("kubesecops: malformed audit input from {}: {message}", source.label());
    }
}
